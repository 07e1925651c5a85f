"""Our filters inside a real headless OBS, driven over obs-websocket (no mocks)."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_deepzoom.obs.kinds import ALL_KINDS, VIDEO_KINDS
from obs_deepzoom.presets import Preset
from obs_deepzoom.remote import commands as rc
from obs_deepzoom.remote.client import ObsClient, ObsError
from obs_deepzoom.samples import sample

from .conftest import PASSWORD

KIND = VIDEO_KINDS["landmarks"][0]
AVATAR = "grace_hopper.jpg"
QUIET = ["landmarks.text=false", "landmarks.box=false", "landmarks.pose_axes=false"]


def shot(c: ObsClient, source: str) -> np.ndarray:
    data = c.request("GetSourceScreenshot", {"sourceName": source, "imageFormat": "png"})["imageData"]
    return cv2.imdecode(np.frombuffer(base64.b64decode(data.split(",", 1)[1]), np.uint8), cv2.IMREAD_COLOR)


def settle(c: ObsClient, source: str, want, timeout: float = 15.0) -> np.ndarray:
    """Screenshots until `want(img)` holds (the worker needs a few frames to compile and catch up)."""
    deadline = time.monotonic() + timeout
    img = shot(c, source)
    while not want(img) and time.monotonic() < deadline:
        time.sleep(0.3)
        img = shot(c, source)
    return img


def remove_ours(c: ObsClient, source: str) -> None:
    for f in rc.list_filters(c, source):
        if f["deepzoom"]:
            c.request("RemoveSourceFilter", {"sourceName": source, "filterName": f["name"]})


def changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.any(a != b, axis=2)


def test_script_registered_our_filter_kinds_once(obs_env, client):
    log = obs_env.log_text()
    assert log.count(f"registered filter {KIND}") == 1, "registered once although the script loaded twice"
    assert log.count("Loaded python script") >= 2
    defaults = client.request("GetSourceFilterDefaultSettings", {"filterKind": KIND})["defaultFilterSettings"]
    assert defaults["face.max_faces"] == 1 and defaults["landmarks.mesh"] is True
    assert defaults["filter.budget_ms"] == 0.0


def references(c: ObsClient, source: str, n: int = 12) -> list[np.ndarray]:
    """The distinct images OBS itself shows for a source (a media source re-renders slightly differently on
    loop restart), so "unchanged" means byte-equal to one of them."""
    seen: dict[bytes, np.ndarray] = {}
    for _ in range(n):
        img = shot(c, source)
        seen.setdefault(img.tobytes(), img)
        time.sleep(0.05)
    return list(seen.values())


def closest(refs: list[np.ndarray], img: np.ndarray) -> np.ndarray:
    return min(refs, key=lambda r: changed(r, img).sum())


@pytest.mark.parametrize("source", ["Portrait", "Still"])  # readback path, raw-frame (async) path
def test_passthrough_is_byte_exact_and_effect_changes_only_the_face(client, source):
    remove_ours(client, source)
    refs = references(client, source)
    rc.add(client, source, "landmarks", ["landmarks.enabled=false"])
    time.sleep(1.0)
    exact = 0
    for _ in range(8):
        img = shot(client, source)
        n = changed(closest(refs, img), img).sum()
        exact += n == 0
        # a frame OBS re-rendered on a loop restart (a variant not among the references) differs everywhere;
        # anything an effect could draw differs in a part of the picture only
        assert n == 0 or n > 0.3 * img.shape[0] * img.shape[1], "a disabled effect must leave every byte alone"
    assert exact >= 4, "too few byte-exact frames"

    rc.set_settings(client, source, rc.default_filter_name("landmarks"), ["landmarks.enabled=true", *QUIET])
    # an overlay-sized change (a frame OBS re-rendered on a loop restart differs everywhere: wait past it)
    overlay = lambda img: 500 < changed(closest(refs, img), img).sum() < 0.15 * img.shape[0] * img.shape[1]  # noqa: E731
    drawn = settle(client, source, overlay)
    diff = changed(closest(refs, drawn), drawn)
    assert diff.sum() > 500, "the overlay did not appear"
    ys, xs = np.nonzero(diff)
    h, w = drawn.shape[:2]
    # the mesh and irises lie on the face: the middle of the portrait, not its borders
    assert 0.2 * w < xs.mean() < 0.8 * w and 0.15 * h < ys.mean() < 0.75 * h
    assert xs.min() > 0.1 * w and xs.max() < 0.9 * w
    remove_ours(client, source)


def test_eye_contact_filter_changes_only_the_eyes(client):
    source = "Still"
    remove_ours(client, source)
    refs = references(client, source)
    rc.add(client, source, "gaze", ["gaze.smoothing_ms=0", "gaze.camera_above_cm=10"])
    eyes_sized = lambda img: 50 < changed(closest(refs, img), img).sum() < 0.02 * img.shape[0] * img.shape[1]  # noqa: E731
    out = settle(client, source, eyes_sized)  # (past any loop-restart variant, which differs everywhere)
    diff = changed(closest(refs, out), out)
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 50, "eyes not redrawn"
    h, w = out.shape[:2]
    # only two small eye regions in the upper middle of the face
    assert diff.sum() < 0.02 * h * w and ys.max() - ys.min() < 0.2 * h and 0.25 * h < ys.mean() < 0.6 * h
    remove_ours(client, source)


# what an effect visibly changes on the clip: (level of a pixel's change, pixels at the least); restore only
# sharpens the face, eye contact moves only the eyes
EFFECT_SEEN = {"avatar": (40, 50000), "background": (20, 3000), "gaze": (40, 30), "landmarks": (40, 300),
               "restore": (12, 200), "framing": (40, 20000), "analytics": (40, 800), "conceal": (40, 300),
               "send": (40, 300)}
# filters whose picture on a playing clip is the clip's own: the sender always, the dropout concealment while
# frames keep coming (on a still image it sees a frozen camera and animates it)
PASS_ON_CLIP = {"conceal", "send"}
PASS_ON_STILL = {"send"}


def off_clip(img: np.ndarray, frames: list[np.ndarray], level: int) -> int:
    """Pixels of a screenshot further than `level` (any channel) from the nearest frame of the decoded clip."""
    return min(int((np.abs(img.astype(np.int16) - f).max(axis=2) > level).sum()) for f in frames)


@pytest.mark.parametrize("effect", sorted(VIDEO_KINDS))
@pytest.mark.parametrize("source", ["Clip", "Portrait"])  # a media source playing the face clip; an image
def test_every_video_filter_works_on_both_kinds_of_source(obs_env, client, clip_frames, effect, source):
    remove_ours(client, source)
    refs = references(client, source, n=6) if source == "Portrait" else None
    if refs is None:  # how far OBS's own rendering of the clip lies from the nearest decoded frame
        level, least = EFFECT_SEEN[effect]
        plain = []
        for _ in range(6):
            plain.append(off_clip(shot(client, source), clip_frames, level))
            time.sleep(0.1)
        floor = np.median(plain) + least  # (the median: a frame re-rendered on a loop restart differs more)
    settings = {"gaze": ["gaze.smoothing_ms=0"], "restore": ["restore.mode=enhance"],
                "avatar": [f"avatar.source={sample(AVATAR)}"],
                # the faces fill 0.4-0.6 of these pictures: framing zooms in only when asked for a bigger face
                "framing": ["framing.face_height=0.8"]}.get(effect, [])
    if refs is None:  # frames are held long enough for the slowest effect on a busy 2-core CI
        settings = [*settings, "filter.latency_frames=8"]
    rc.add(client, source, effect, settings)
    if refs is not None and effect in PASS_ON_STILL:  # its picture is the source's own
        time.sleep(3.0)
        img = shot(client, source)
        assert changed(closest(refs, img), img).sum() <= 50 and img.shape == refs[0].shape, effect
    elif refs is not None:  # a still image: the effect must change it
        img = settle(client, source, lambda im: changed(closest(refs, im), im).sum() > 50)
        assert changed(closest(refs, img), img).sum() > 50, f"{effect} did nothing on {source}"
        assert img.shape == refs[0].shape, "the source keeps its size"
    elif effect in PASS_ON_CLIP:  # frames keep coming through, as they were
        time.sleep(3.0)
        shots = []
        for _ in range(8):
            shots.append(shot(client, source))
            time.sleep(0.15)
        moving = sum(changed(a, b).mean() > 0.01 for a, b in zip(shots, shots[1:]))
        assert moving >= 5, f"{effect}: the clip stopped moving through the filter ({moving} of 7 pairs changed)"
        off = [off_clip(img, clip_frames, level) for img in shots]
        assert sum(n > floor for n in off) <= 2, (effect, plain, off)
    else:  # a playing clip: frames keep coming through the filter, and the filter changes them
        seen = lambda im: off_clip(im, clip_frames, level) > floor  # noqa: E731
        assert seen(settle(client, source, seen, timeout=30)), f"{effect}: never visible on the clip"
        shots = []
        for _ in range(8):
            shots.append(shot(client, source))
            time.sleep(0.15)
        assert all(img.shape[:2] == (360, 640) for img in shots)
        moving = sum(changed(a, b).mean() > 0.01 for a, b in zip(shots, shots[1:]))
        assert moving >= 5, f"{effect}: the clip stopped moving through the filter ({moving} of 7 pairs changed)"
        # late frames pass through unfiltered on a loaded machine; on a quiet one nearly all show the effect
        off = [off_clip(img, clip_frames, level) for img in shots]
        assert sum(n > floor for n in off) >= 2, (effect, plain, off)
    remove_ours(client, source)
    log = obs_env.log_text()
    assert f"{effect}: processing failed" not in log and f"{effect}: the effect could not start" not in log


@pytest.mark.parametrize("source", ["Portrait", "Still"])  # render path, async path
def test_a_failing_effect_passes_frames_through_and_recovers_when_fixed(obs_env, client, source):
    """A setting the effect cannot use (replace mode with no picture) must not kill the filter: frames pass
    through unchanged, the error is logged once, and fixing the setting brings the effect back."""
    remove_ours(client, source)
    refs = references(client, source, n=6)
    error = "background: the effect could not start: InputError"
    before = obs_env.log_text().count(error)
    name = rc.add(client, source, "background", ["background.mode=replace", "background.image="])
    time.sleep(3.0)
    for _ in range(4):
        img = shot(client, source)
        n = changed(closest(refs, img), img).sum()
        assert n == 0 or n > 0.3 * img.shape[0] * img.shape[1], "a failed effect must pass frames through"
    assert obs_env.log_text().count(error) == before + 1, "logged once, not per frame"
    rc.set_settings(client, source, name, ["background.mode=blur"])
    img = settle(client, source, lambda im: 0.02 < changed(closest(refs, im), im).mean() < 0.95)
    assert 0.02 < changed(closest(refs, img), img).mean() < 0.95, "the effect did not come back"
    remove_ours(client, source)


def test_photo_avatar_shows_the_portrait_moved_by_the_clip(obs_env, client):
    from obs_deepzoom.engine.avatar.portrait import Portrait
    from obs_deepzoom.engine.avatar.render import GeometricRenderer
    from obs_deepzoom.settings import AvatarSettings

    source = "Clip"
    remove_ours(client, source)
    defaults = client.request("GetSourceFilterDefaultSettings",
                              {"filterKind": VIDEO_KINDS["avatar"][0]})["defaultFilterSettings"]
    assert defaults["avatar.source"] == "" and defaults["avatar.background"] == "own"
    rc.add(client, source, "avatar", [f"avatar.source={sample(AVATAR)}"])
    still = GeometricRenderer(Portrait(sample(AVATAR)).layout((640, 360)), AvatarSettings()).still

    def looks_like_portrait(img):  # the portrait; only the face moves
        return np.mean(np.abs(img.astype(int) - still.astype(int))) < 12

    first = settle(client, source, looks_like_portrait, timeout=30)
    assert looks_like_portrait(first), "the avatar did not replace the camera picture"
    time.sleep(1.0)
    later = shot(client, source)
    face = (slice(60, 300), slice(200, 440))
    assert np.mean(np.abs(first[face].astype(int) - later[face].astype(int))) > 0.5, "the avatar does not move"
    remove_ours(client, source)
    log = obs_env.log_text()
    assert "avatar raw frame failed" not in log and "avatar render failed" not in log


def test_photo_avatar_talks_with_an_audio_source_when_no_face_is_seen(obs_env, client):
    from obs_deepzoom.engine.avatar.portrait import Portrait
    from obs_deepzoom.engine.avatar.render import GeometricRenderer
    from obs_deepzoom.settings import AvatarSettings

    source = "Color"  # a plain colour: no face, so the avatar is driven by the voice (or idles)
    remove_ours(client, source)
    layout = Portrait(sample(AVATAR)).layout((320, 240))
    still = GeometricRenderer(layout, AvatarSettings()).still
    x, y = ((layout.landmarks[13, :2] + layout.landmarks[14, :2]) / 2).astype(int)
    mouth = (slice(y - 12, y + 14), slice(x - 20, x + 20))

    def mouth_contrast(n: int = 24) -> float:
        """Highest contrast of the mouth region over ~6 s of screenshots: an open mouth shows a dark cavity
        and teeth (the idle sway moves the face but keeps the lips closed)."""
        out = []
        for _ in range(n):
            grey = cv2.cvtColor(shot(client, source), cv2.COLOR_BGR2GRAY)
            out.append(float(grey[mouth].std()))
            time.sleep(0.25)
        return max(out)

    name = rc.add(client, source, "avatar", [f"avatar.source={sample(AVATAR)}", "avatar.audio_source=Speech"])
    settle(client, source, lambda img: np.mean(np.abs(img.astype(int) - still.astype(int))) < 12, timeout=30)
    talking = mouth_contrast()
    rc.set_settings(client, source, name, ["avatar.audio_source="])
    time.sleep(1.0)
    quiet = mouth_contrast(12)
    assert "avatar: listening to 'Speech'" in obs_env.log_text()
    assert talking > 1.3 * quiet, f"mouth contrast with voice {talking:.1f}, without {quiet:.1f}"
    remove_ours(client, source)


def test_settings_over_websocket_change_the_effect(client):
    source = "Portrait"
    remove_ours(client, source)
    reference = shot(client, source)
    name = rc.add(client, source, "landmarks", QUIET)
    full = settle(client, source, lambda img: changed(reference, img).sum() > 500)
    rc.set_settings(client, source, name, ["mesh=false"])  # bare key = the effect's own section
    n_before = changed(reference, full).sum()
    iris_only = settle(client, source, lambda img: 0 < changed(reference, img).sum() < 0.5 * n_before)
    n_full, n_iris = changed(reference, full).sum(), changed(reference, iris_only).sum()
    assert 0 < n_iris < 0.5 * n_full, (n_full, n_iris)
    rc.set_enabled(client, source, name, False)
    off = settle(client, source, lambda img: changed(reference, img).sum() == 0)
    assert changed(reference, off).sum() == 0
    remove_ours(client, source)


def test_raw_frames_of_a_playing_clip_get_the_overlay(client):
    source = "Clip"
    remove_ours(client, source)
    rc.add(client, source, "landmarks", ["landmarks.color=[255,0,255]", *QUIET])
    def magenta(img):  # through YUV 4:2:0 the dots are only roughly (255, 0, 255)
        b, g, r = (img[..., i].astype(int) for i in range(3))
        return int(((b > 170) & (r > 170) & (g < 110)).sum())

    img = settle(client, source, lambda im: magenta(im) > 200)
    assert magenta(img) > 200, "mesh dots (magenta) missing on the playing clip"
    filters = rc.list_filters(client, source)
    assert filters[0]["settings"]["landmarks.color"] == 0xFFFF00FF  # stored as OBS colour (ABGR)
    remove_ours(client, source)
    img = settle(client, source, lambda im: magenta(im) == 0)
    assert magenta(img) == 0


def test_preset_applies_in_one_batch_and_replaces_the_chain(client, tmp_path, monkeypatch):
    from obs_deepzoom import presets

    source = "Portrait"
    remove_ours(client, source)
    rc.add(client, source, "landmarks", ["landmarks.enabled=false"], name="DeepZoom Face Landmarks")
    preset = Preset(name="quiet", video=["landmarks"])
    preset.settings.landmarks.mesh = False
    steps = rc.apply_preset(client, source, preset)
    assert any("SetSourceFilterSettings" in s for s in steps)
    f = rc.list_filters(client, source)
    assert [x["name"] for x in f] == ["DeepZoom Face Landmarks"]
    assert f[0]["settings"]["landmarks.mesh"] is False and f[0]["settings"]["landmarks.enabled"] is True
    empty = Preset(name="none", video=[])
    rc.apply_preset(client, source, empty)
    assert rc.list_filters(client, source) == []
    default = presets.load("default")
    rc.apply_preset(client, source, default, audio_source="Speech")
    assert [x["kind"] for x in rc.list_filters(client, source)] == [ALL_KINDS[e][0] for e in default.video]
    assert [x["kind"] for x in rc.list_filters(client, "Speech") if x["deepzoom"]] == [
        ALL_KINDS[e][0] for e in default.audio]
    remove_ours(client, source)
    remove_ours(client, "Speech")


def test_a_chain_reads_the_source_back_once(obs_env, client):
    """Eye Contact then Background on an image source: the outer filter takes the inner one's CPU image, so
    the chain reads back (and uploads) once, not once per filter, and frames keep their effect."""
    from obs_deepzoom import presets
    from obs_deepzoom.bench.obs import _counters, _delta

    source = "Portrait"
    remove_ours(client, source)
    default = presets.load("default")
    rc.apply_preset(client, source, Preset(name="video", video=default.video, settings=default.settings))
    deadline = time.monotonic() + 90  # both models compiled and producing (slow on a busy 2-core machine)
    while time.monotonic() < deadline and _counters(obs_env.log_text()).get(default.video[-1], {}).get("done", 0) < 5:
        time.sleep(1.0)
    time.sleep(2.0)
    before = _counters(obs_env.log_text())
    time.sleep(4.0)
    after = _counters(obs_env.log_text())
    inner, outer = (_delta(before, after, e) for e in default.video)
    remove_ours(client, source)
    assert outer["renders"] > 30, outer
    assert outer["readbacks"] == 0 and outer["chained"] > 0, ("the outer filter read back", outer)
    # each filter logs its counters on its own tick, so the two windows can be a frame or two apart: once per
    # frame (not once per filter) is what matters
    assert 0 < inner["readbacks"] <= outer["renders"] * 1.1 + 2, (inner, outer)
    assert outer["applied"] > 0.9 * outer["renders"], ("frames without the effect", outer)


def test_bad_requests_are_refused_before_anything_changes(obs_env, client):
    from obs_deepzoom.errors import SettingsError

    with pytest.raises(ObsError, match="no source named 'Nope'"):
        rc.add(client, "Nope", "landmarks", [])
    with pytest.raises(SettingsError, match="face.max_faces"):
        rc.add(client, "Portrait", "landmarks", ["face.max_faces=99"])
    with pytest.raises(ObsError, match="has no filter named 'Ghost'"):
        rc.set_settings(client, "Portrait", "Ghost", ["mesh=false"])
    assert not [f for f in rc.list_filters(client, "Portrait") if f["deepzoom"]], "nothing half-applied"
    with pytest.raises(ObsError, match="wrong password"):
        ObsClient("127.0.0.1", obs_env.port, "not-the-password").connect()
    with pytest.raises(ObsError, match="requires a password"):
        ObsClient("127.0.0.1", obs_env.port, None).connect()


def record(c: ObsClient, seconds: float, tmp_path) -> np.ndarray:
    """Record the program output for `seconds`; returns its audio as mono 16 kHz float (via ffmpeg)."""
    import subprocess

    def wait_idle():
        for _ in range(50):
            if not c.request("GetRecordStatus")["outputActive"]:
                return
            time.sleep(0.2)

    wait_idle()  # the previous recording may still be finishing
    c.request("StartRecord")
    time.sleep(seconds)
    path = c.request("StopRecord")["outputPath"]
    wait_idle()
    wav = tmp_path / (Path(path).stem + ".wav")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", path, "-ac", "1", "-ar", "16000", str(wav)],
                   check=True)
    import wave

    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def window_rms(x: np.ndarray, n: int = 800) -> np.ndarray:
    return np.sqrt((x[: len(x) // n * n].reshape(-1, n) ** 2).mean(1))


def test_automute_silences_pauses_and_keeps_speech(client, tmp_path):
    source = "Speech"
    remove_ours(client, source)
    client.request("SetInputMute", {"inputName": "Clip", "inputMuted": True})  # only Speech is heard
    plain = window_rms(record(client, 11.5, tmp_path))  # one whole loop of the 11.1 s file
    name = rc.add(client, source, "automute", ["audio_filter.queue_ms=500"])  # a busy 2-core CI
    time.sleep(1.0)
    gated = window_rms(record(client, 11.5, tmp_path))
    # without the filter the pauses still carry room noise; with it they are digital silence
    assert (plain < 1e-4).mean() < 0.05, "the unfiltered recording should have no silent stretches"
    pauses = float((plain < 0.008).mean())  # room-noise-only windows (noise RMS 0.004; speech is far louder)
    silent = float((gated < 1e-4).mean())
    # a whole loop each: most of the pause time becomes digital silence (minus hangover and fades)
    assert pauses > 0.15 and silent > 0.4 * pauses, f"pauses not muted: {silent:.2f} silent of {pauses:.2f} pauses"
    loud = np.percentile(plain, 90)
    assert np.percentile(gated, 90) > 0.7 * loud, "speech must pass at full level"
    rc.set_settings(client, source, name, ["mode=duck", "duck_db=20"])
    time.sleep(1.0)
    ducked = window_rms(record(client, 6.0, tmp_path))
    assert (ducked < 1e-4).mean() < 0.05, "ducking lowers the pauses instead of silencing them"
    remove_ours(client, source)
    client.request("SetInputMute", {"inputName": "Clip", "inputMuted": False})


def test_noise_suppression_lowers_the_room_noise_in_obs(obs_env, client, tmp_path):
    source = "Speech"
    remove_ours(client, source)
    client.request("SetInputMute", {"inputName": "Clip", "inputMuted": True})
    plain = window_rms(record(client, 11.5, tmp_path))
    rc.add(client, source, "denoise", ["audio_filter.queue_ms=500"])  # a busy 2-core CI
    time.sleep(1.0)
    clean = window_rms(record(client, 11.5, tmp_path))
    remove_ours(client, source)
    client.request("SetInputMute", {"inputName": "Clip", "inputMuted": False})
    assert "denoise: 2 ch at 48000 Hz" in obs_env.log_text()
    # the quietest fifth of the windows is room noise between sentences: much lower after suppression
    assert np.percentile(clean, 20) < 0.5 * np.percentile(plain, 20), (np.percentile(clean, 20),
                                                                         np.percentile(plain, 20))
    assert np.percentile(clean, 90) > 0.5 * np.percentile(plain, 90), "speech must stay"


def virtualcam_available() -> bool:
    """OBS on Linux offers its virtual camera only with the v4l2loopback module loaded (docs/obs.md)."""
    return Path("/sys/module/v4l2loopback").exists()


def test_virtual_camera_answers_or_explains(client):
    if virtualcam_available():  # started, reported active, stopped, reported inactive
        assert rc.virtualcam(client, "start")["outputActive"] is True
        assert rc.virtualcam(client, "status")["outputActive"] is True
        assert rc.virtualcam(client, "stop")["outputActive"] is False
        return
    # no v4l2loopback: OBS refuses StartVirtualCam, and we replace its reply with how to get the module
    with pytest.raises(ObsError) as raw:
        client.request("StartVirtualCam")
    assert "not available" in str(raw.value).lower()
    with pytest.raises(ObsError) as ours:
        rc.virtualcam(client, "start")
    assert str(ours.value) == rc.VIRTUALCAM_HELP
    assert "sudo apt-get install v4l2loopback-dkms" in str(ours.value)
    assert "modprobe v4l2loopback exclusive_caps=1" in str(ours.value)
    with pytest.raises(ObsError) as status:  # asking for its state explains the same way
        rc.virtualcam(client, "status")
    assert str(status.value) == rc.VIRTUALCAM_HELP


def deepzoom(obs_env, *args, password=PASSWORD):
    import os
    import subprocess
    import sys

    env = dict(os.environ, DEEPZOOM_OBS_PASSWORD=password)
    return subprocess.run([sys.executable, "-m", "obs_deepzoom.cli", *map(str, args[:1]), "--port",
                           str(obs_env.port), *map(str, args[1:])], capture_output=True, text=True, env=env,
                          timeout=120)


def test_remote_command_line(obs_env, client, tmp_path):
    import json

    r = deepzoom(obs_env, "remote", "status", "--json")
    assert r.returncode == 0, r.stderr
    status = json.loads(r.stdout.strip().splitlines()[-1])
    assert status["obs"].startswith("29.") or status["obs"] >= "30"
    assert PASSWORD not in r.stdout + r.stderr
    r = deepzoom(obs_env, "remote", "add", "Portrait", "landmarks", "--set", "landmarks.text=false")
    assert r.returncode == 0, r.stderr
    r = deepzoom(obs_env, "remote", "set", "Portrait", "DeepZoom Face Landmarks", "mesh=false", "face.max_faces=2")
    assert r.returncode == 0, r.stderr
    r = deepzoom(obs_env, "remote", "filters", "Portrait", "--json")
    (f,) = [x for x in json.loads(r.stdout) if x["deepzoom"]]
    assert f["settings"]["landmarks.mesh"] is False and f["settings"]["face.max_faces"] == 2
    r = deepzoom(obs_env, "remote", "disable", "Portrait", "DeepZoom Face Landmarks")
    assert r.returncode == 0 and "disabled" in r.stdout
    out = tmp_path / "shot.png"
    r = deepzoom(obs_env, "remote", "screenshot", "Portrait", out)
    assert r.returncode == 0 and cv2.imread(str(out)).shape[:2] == (562, 572)
    r = deepzoom(obs_env, "preset", "apply", "default", "--source", "Portrait", "--audio-source", "Speech")
    assert r.returncode == 0 and "applied" in r.stdout, r.stderr
    # each failure: one line, exit code 2, nothing changed
    bad_value = ("remote", "set", "Portrait", "DeepZoom Eye Contact", "gaze.strength=9")  # after the preset
    for args, words in ((bad_value, "gaze.strength"),
                        (("remote", "filters", "Nope"), "no source named 'Nope'"),
                        (("remote", "add", "Portrait", "sparkles"), "unknown effect 'sparkles'"),
                        (("remote", "virtualcam", "start"), "v4l2loopback")):
        r = deepzoom(obs_env, *args)
        if args[-1] == "start" and virtualcam_available():  # the module is there: it starts
            assert r.returncode == 0, r.stderr
            assert deepzoom(obs_env, "remote", "virtualcam", "stop").returncode == 0
            continue
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    r = deepzoom(obs_env, "remote", "status", password="wrong")
    assert r.returncode == 2 and "wrong password" in r.stderr and "wrong" not in r.stdout
    remove_ours_by_cli = deepzoom(obs_env, "remote", "preset", "Portrait", "none-such")
    assert remove_ours_by_cli.returncode == 2 and "no preset 'none-such'" in remove_ours_by_cli.stderr
    remove_ours(client, "Portrait")
    remove_ours(client, "Speech")


def test_filters_survive_removal_and_obs_shuts_down_cleanly(obs_env, client):
    for _ in range(3):  # add/remove churn on both paths
        for source in ("Portrait", "Still"):
            rc.add(client, source, "landmarks", [])
        time.sleep(0.5)
        for source in ("Portrait", "Still"):
            remove_ours(client, source)
    rc.add(client, "Portrait", "landmarks", [])  # still attached at exit: destroyed during shutdown
    client.close()
    assert obs_env.stop(), "OBS did not shut down cleanly: " + obs_env.log_tail()
    log = obs_env.log_text()
    ours = [line for line in log.splitlines() if "[deepzoom]" in line]
    assert "Traceback" not in log and not [line for line in ours if " failed" in line], ours
    assert "==== Shutting down ====" in log
    assert log.count("filter destroyed") >= 7
