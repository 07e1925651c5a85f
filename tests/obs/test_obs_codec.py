"""The keypoint codec in the real headless OBS: the DeepZoom Keypoint Receiver source shows a stream sent from
outside (this process, as `deepzoom codec send` does), and the DeepZoom Keypoint Sender filter on a clip talks to
that receiver inside the same OBS (two OBS instances talk the same way)."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from obs_deepzoom.engine.codec.encoder import KeypointEncoder
from obs_deepzoom.engine.codec.transport import KeypointSender
from obs_deepzoom.media import VideoSource
from obs_deepzoom.obs.kinds import SOURCE_KINDS, VIDEO_KINDS
from obs_deepzoom.remote.client import ObsError
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import CodecSettings

from .test_obs_filters import remove_ours, shot

RECEIVER = SOURCE_KINDS["receiver"][0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_receiver(client, name: str, port: int) -> None:
    scene = client.request("GetCurrentProgramScene", {})["currentProgramSceneName"]
    client.request("CreateInput", {"sceneName": scene, "inputName": name, "inputKind": RECEIVER,
                                   "inputSettings": {"receiver.port": port}})


def picture(client, name: str) -> np.ndarray | None:
    try:
        return shot(client, name)
    except Exception:  # noqa: BLE001 - no frame yet: OBS refuses a screenshot of an empty async source
        return None


def test_receiver_source_shows_a_stream_sent_from_outside(obs_env, client):
    port = free_port()
    add_receiver(client, "Keypoint", port)
    deadline = time.monotonic() + 20
    while f"receiver listening on UDP port {port}" not in obs_env.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    frames = list(VideoSource.open_file(sample("single_face.mp4")).frames())
    sender = KeypointSender(KeypointEncoder((640, 360), 30.0, CodecSettings.live()), ("127.0.0.1", port))
    shots, i, deadline = [], 0, time.monotonic() + 30
    try:
        while len(shots) < 6 and time.monotonic() < deadline:  # the clip, looped, in real time
            sender.send(frames[i % len(frames)])
            time.sleep(1 / 30)
            i += 1
            if i % 15 == 0:
                img = picture(client, "Keypoint")
                if img is not None:
                    shots.append(img)
    finally:
        sender.close()
    log = obs_env.log_text()
    assert f"registered source {RECEIVER}" in log and f"receiver listening on UDP port {port}" in log
    assert shots, "the receiver never showed a picture"
    last = shots[-1]
    assert last.shape[:2] == (360, 640) and last.std() > 20, last.shape
    assert float(np.abs(last.astype(int) - frames[0].astype(int)).mean()) < 25  # the speaker, not noise
    assert any(np.any(a != b) for a, b in zip(shots, shots[1:])), "the picture never moved"
    status = client.request("GetInputSettings", {"inputName": "Keypoint"})["inputSettings"]
    assert status["receiver.port"] == port
    # the property page is built as the Properties dialog builds it (obs_source_properties); the port is not a
    # list, so obs-websocket answers with an error, after our page was made (a failure to build it is logged)
    with pytest.raises(ObsError):
        client.request("GetInputPropertiesListPropertyItems",
                       {"inputName": "Keypoint", "propertyName": "receiver.port"})
    assert obs_env.proc.poll() is None and "receiver properties failed" not in obs_env.log_text()
    # a port change as a person makes it: the source moves to the new port (its own thread rebinds)
    moved = free_port()
    client.request("SetInputSettings", {"inputName": "Keypoint", "inputSettings": {"receiver.port": moved}})
    deadline = time.monotonic() + 10
    while f"receiver listening on UDP port {moved}" not in obs_env.log_text() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert f"receiver listening on UDP port {moved}" in obs_env.log_text()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # the old port is free again
        probe.bind(("0.0.0.0", port))
    client.request("RemoveInput", {"inputName": "Keypoint"})
    time.sleep(0.5)
    assert obs_env.proc.poll() is None and "Traceback" not in obs_env.log_text()


def test_sender_filter_talks_to_a_receiver_in_obs(obs_env, client):
    port = free_port()
    add_receiver(client, "Keypoint In", port)
    remove_ours(client, "Clip")
    client.request("CreateSourceFilter", {"sourceName": "Clip", "filterName": "Keypoint Out",
                                          "filterKind": VIDEO_KINDS["send"][0],
                                          "filterSettings": {"send.to": f"127.0.0.1:{port}"}})
    try:
        deadline, img = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            img = picture(client, "Keypoint In")
            if img is not None and img.std() > 20:
                break
            time.sleep(0.5)
        assert img is not None and img.std() > 20, "nothing arrived from the sender filter"
        later = [picture(client, "Keypoint In") for _ in range(4) if time.sleep(0.5) is None]
        assert any(x is not None and np.any(x != img) for x in later), "the received picture never moved"
        clip = shot(client, "Clip")
        assert clip.shape == img.shape  # the sender filter leaves its source's picture as it was
        # a bad address: nothing is sent and the log says why; the filter keeps working
        client.request("SetSourceFilterSettings", {"sourceName": "Clip", "filterName": "Keypoint Out",
                                                   "filterSettings": {"send.to": "no port here"}})
        deadline = time.monotonic() + 10
        while "expected HOST:PORT" not in obs_env.log_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "'no port here': expected HOST:PORT" in obs_env.log_text()
        assert obs_env.proc.poll() is None
    finally:
        remove_ours(client, "Clip")
        client.request("RemoveInput", {"inputName": "Keypoint In"})
    time.sleep(0.5)
    assert obs_env.proc.poll() is None and "Traceback" not in obs_env.log_text()


def test_send_reads_an_obs_source_over_websocket(obs_env, client, clip_frames):
    """`deepzoom codec send --obs-source NAME`: a running OBS's source, read over obs-websocket, goes out as a
    keypoint stream; a source that does not exist is a one-line error."""
    import json
    import os
    import subprocess
    import sys

    from obs_deepzoom.engine.codec.transport import KeypointReceiver

    from .conftest import PASSWORD

    env = dict(os.environ, DEEPZOOM_OBS_PASSWORD=PASSWORD)

    def send(source: str, to: str, frames: int):
        return subprocess.Popen([sys.executable, "-m", "obs_deepzoom.cli", "codec", "send", "--obs-source", source,
                                 "--to", to, "--port", str(obs_env.port), "--max-frames", str(frames), "--fps", "15",
                                 "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    remove_ours(client, "Clip")
    rx = KeypointReceiver(0, "127.0.0.1")
    proc = send("Clip", f"127.0.0.1:{rx.port}", 45)
    got, deadline = [], time.monotonic() + 90
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            got += rx.receive(timeout=0.2)
        got += rx.receive(timeout=0.5)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        rx.close()
    assert proc.returncode == 0, err[-2000:]
    r = json.loads(out.strip().splitlines()[-1])
    assert r["frames"] == 45 and r["keyframes"] >= 1 and r["obs_source"] == "Clip" and 0 < r["fps"] <= 15, r
    assert len(got) >= 40, f"{len(got)} of 45 frames arrived on localhost"
    assert got[-1].shape == clip_frames[0].shape
    assert min(float(np.abs(got[-1].astype(int) - f.astype(int)).mean()) for f in clip_frames) < 25  # the speaker
    bad = send("No Such Source", "127.0.0.1:9", 5)
    out, err = bad.communicate(timeout=60)
    assert bad.returncode != 0 and "no source named 'No Such Source'" in err and "Traceback" not in err, err
