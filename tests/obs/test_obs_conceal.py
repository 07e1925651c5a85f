"""Dropout concealment in the real headless OBS, on an asynchronous source that stops sending frames (a camera
unplugged, or a driver that stalls: here a media source paused and stopped over obs-websocket). Without the filter
OBS keeps showing the last frame, unchanged; with it the last picture is animated until frames come again, and
the picture returns to the source's own."""

from __future__ import annotations

import json
import time

import numpy as np

from obs_deepzoom.remote import commands as rc
from obs_deepzoom.samples import sample

from .conftest import media
from .test_obs_filters import shot

PAUSE, PLAY, STOP, RESTART = (f"OBS_WEBSOCKET_MEDIA_INPUT_ACTION_{a}" for a in ("PAUSE", "PLAY", "STOP", "RESTART"))


def media_action(client, name: str, action: str) -> None:
    client.request("TriggerMediaInputAction", {"inputName": name, "mediaAction": action})


def conceal_stats(obs_env) -> dict:
    """The filter's newest counters from OBS's log (DEEPZOOM_STATS_S=1: one line a second)."""
    lines = [ln for ln in obs_env.log_text().splitlines() if "conceal stats: {" in ln]
    return json.loads(lines[-1].split("conceal stats: ", 1)[1]) if lines else {}


def shots(client, name: str, n: int, every: float = 0.2) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        out.append(shot(client, name))
        time.sleep(every)
    return out


def diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def nearest(img: np.ndarray, frames: list[np.ndarray]) -> float:
    return min(diff(img, f) for f in frames)


def moving(pictures: list[np.ndarray]) -> float:
    """Share of consecutive screenshots that differ."""
    return float(np.mean([diff(a, b) > 0.05 for a, b in zip(pictures, pictures[1:])]))


def returned(client, clip_frames, run: int = 5, within_s: float = 8.0) -> list[np.ndarray]:
    """Screenshots until `run` in a row show the source's own frames (the fade back is over; a slow or loaded
    machine may take longer to resume the media source, or conceal a short real stall on the way); those."""
    seen, pictures, start = [], [], time.monotonic()
    while time.monotonic() - start < within_s:
        img = shot(client, "Camera")
        far = nearest(img, clip_frames)
        seen.append((round(time.monotonic() - start, 2), round(far, 2)))
        pictures = [*pictures, img] if far < 3 else []
        if len(pictures) >= run:
            return pictures
        time.sleep(0.15)
    raise AssertionError(f"the source's own frames did not come back: (s after play, distance) {seen}")


def test_a_camera_that_stops_sending_is_concealed_until_it_comes_back(obs_env, client, clip_frames):
    scene = client.request("GetCurrentProgramScene", {})["currentProgramSceneName"]
    spec = media("Camera", sample("single_face.mp4"))
    client.request("CreateInput", {"sceneName": scene, "inputName": "Camera", "inputKind": spec["id"],
                                   "inputSettings": spec["settings"]})
    try:
        time.sleep(1.0)
        media_action(client, "Camera", PAUSE)  # without the filter: a paused source shows one picture
        time.sleep(0.8)
        plain = shots(client, "Camera", 4)
        assert moving(plain) == 0, "a paused media source repeats its last frame"
        media_action(client, "Camera", PLAY)
        name = rc.add(client, "Camera", "conceal", ["conceal.audio_source=Speech"])
        deadline = time.monotonic() + 60
        while conceal_stats(obs_env).get("applied", 0) < 30 and time.monotonic() < deadline:
            time.sleep(0.5)  # the face tracker compiles, then frames get the effect
        assert conceal_stats(obs_env).get("applied", 0) >= 30, conceal_stats(obs_env)

        media_action(client, "Camera", PAUSE)  # the camera stops sending
        time.sleep(1.0)
        before = conceal_stats(obs_env).get("synthetic", 0)
        concealed = shots(client, "Camera", 10)
        assert moving(concealed) > 0.6, "the concealed picture moves"
        assert max(nearest(img, clip_frames) for img in concealed) < 25, "it shows the speaker"
        time.sleep(1.2)
        assert conceal_stats(obs_env)["synthetic"] > before, "drawn from the worker's pictures"

        media_action(client, "Camera", PLAY)  # frames come again
        back = returned(client, clip_frames)
        assert moving(back) > 0.6
        drawn = conceal_stats(obs_env)["synthetic"]
        time.sleep(1.5)
        # no concealment while frames come (at most a stall's worth on a busy machine, not 1.5 s of it: 45 frames)
        assert conceal_stats(obs_env)["synthetic"] - drawn < 15, (drawn, conceal_stats(obs_env))

        media_action(client, "Camera", STOP)  # stopped: the source clears its picture; OBS must go on
        time.sleep(1.5)
        media_action(client, "Camera", RESTART)
        returned(client, clip_frames, run=3)
        media_action(client, "Camera", PAUSE)  # removed while concealing
        time.sleep(1.0)
        client.request("RemoveSourceFilter", {"sourceName": "Camera", "filterName": name})
        time.sleep(0.5)
        assert obs_env.proc.poll() is None
        frozen = shots(client, "Camera", 3)
        assert moving(frozen) == 0, "without the filter the paused picture stands still again"
    finally:
        client.request("RemoveInput", {"inputName": "Camera"})
    assert obs_env.proc.poll() is None
