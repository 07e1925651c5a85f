"""Photo avatar: portrait checks, calibration, motion transfer, warp, mouth, eyes, voice-driven mode."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from obs_deepzoom.audio_io import read_audio
from obs_deepzoom.engine.avatar.motion import FaceDriver, Motion
from obs_deepzoom.engine.avatar.portrait import Portrait
from obs_deepzoom.engine.avatar.rig import soft_clamp
from obs_deepzoom.engine.avatar.speech import SpeechDriver, mouth_basis
from obs_deepzoom.engine.avatar.topology import LIP_CENTRE, LOWER_LID, UPPER_LID, euler, from_euler
from obs_deepzoom.engine.avatar.warp import MeshWarp
from obs_deepzoom.engine.contract import FrameContext
from obs_deepzoom.engine.face import FaceTracker
from obs_deepzoom.engine.video.avatar import PhotoAvatar
from obs_deepzoom.errors import InputError, SettingsError
from obs_deepzoom.evaluate.metrics import psnr
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import AvatarSettings, ChainSettings, FaceTrackingSettings, apply_overrides

SIZE = (640, 360)


@pytest.fixture(scope="module")
def grace() -> Portrait:
    return Portrait(sample("grace_hopper.jpg"))


def _avatar(grace, **kw) -> PhotoAvatar:
    return PhotoAvatar(AvatarSettings(source=str(sample("grace_hopper.jpg")), **kw), portrait=grace)


def _blank() -> np.ndarray:
    return np.zeros((SIZE[1], SIZE[0], 3), np.uint8)


# ---- bad portraits --------------------------------------------------------------------------------------
def test_portrait_without_face(tmp_path, clip_frames):
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.full((400, 400, 3), 180, np.uint8))
    with pytest.raises(InputError, match="no face found"):
        Portrait(path)


def test_portrait_with_several_faces():
    with pytest.raises(InputError, match=r"\d+ faces found; use a photo with one face"):
        Portrait(sample("multi_face.jpg"))


def test_portrait_with_tiny_face(tmp_path, portrait):
    path = tmp_path / "tiny.png"
    cv2.imwrite(str(path), cv2.resize(portrait, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA))
    with pytest.raises(InputError, match="too small"):
        Portrait(path)


def test_portrait_not_an_image(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a picture")
    with pytest.raises(InputError, match="not a readable image"):
        Portrait(path)
    with pytest.raises(InputError, match="choose a portrait"):
        Portrait("")


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError, match="avatar.expression"):
        apply_overrides(ChainSettings(), ["avatar.expression=5"])
    with pytest.raises(SettingsError, match="avatar.background"):
        apply_overrides(ChainSettings(), ["avatar.background=stars"])


# ---- calibration and motion ------------------------------------------------------------------------------
def test_calibration_reference_is_neutral_and_recalibrate_moves_it(clip_frames):
    tracker, driver = FaceTracker(FaceTrackingSettings(smoothing=False)), FaceDriver()
    faces = [tracker.process(f, i / 30)[0] for i, f in enumerate(clip_frames[:50])]
    first = driver.motion(faces[0])
    assert np.allclose(first.rotation, np.eye(3), atol=1e-6)
    assert np.abs(first.expression).max() < 1e-6 and np.allclose(first.eye_open, 1)
    later = driver.motion(faces[45])  # the driver smiles by then
    assert np.abs(later.expression).max() > 0.05
    driver.recalibrate()
    again = driver.motion(faces[45])
    assert np.abs(again.expression).max() < 1e-6 and np.allclose(again.rotation, np.eye(3), atol=1e-6)


def test_self_reenactment_follows_the_driver(tmp_path, clip_frames):
    path = tmp_path / "frame0.png"
    cv2.imwrite(str(path), clip_frames[0])
    tracker = FaceTracker()
    avatar = PhotoAvatar(AvatarSettings(source=str(path)))
    for i, f in enumerate(clip_frames[:41]):
        faces = tracker.process(f, i / 30)
        out = avatar.process(f, FrameContext(i, i / 30, faces))
    x, y, w, h = (int(v) for v in faces[0].box)
    real, crop = clip_frames[40][y:y + h, x:x + w], (slice(y, y + h), slice(x, x + w))
    assert psnr(out[crop], real) > psnr(clip_frames[0][crop], real) + 2


def test_fast_warp_matches_the_naive_warp(grace):
    layout = grace.layout(SIZE)
    warp = MeshWarp(np.vstack([layout.landmarks[:, :2], [[0, 0], [639, 0], [0, 359], [639, 359]]]), SIZE, 2)
    target = warp.source.copy()
    yy = target[:468, 1]
    target[:468, 0] += 3 * np.sin(yy / 40)  # a smooth sideways wave over the face
    fast = warp.render(layout.image[:, :, :3].copy(), target)
    slow = warp.render_naive(layout.image[:, :, :3].copy(), target)
    lo, hi = layout.landmarks[:, :2].min(0).astype(int), layout.landmarks[:, :2].max(0).astype(int)
    box = (slice(lo[1] + 4, hi[1] - 4), slice(lo[0] + 4, hi[0] - 4))
    assert psnr(fast[box], slow[box]) > 30


# ---- face parts --------------------------------------------------------------------------------------------
def test_blink_closes_the_lids(grace):
    avatar = _avatar(grace)
    avatar.process(_blank(), FrameContext(0, 0.0))  # builds the renderer
    rig = avatar.renderer.rig
    targets, _ = rig.targets(Motion(eye_open=np.zeros(2)))
    for e in (0, 1):
        assert np.abs(targets[UPPER_LID[e]] - targets[LOWER_LID[e]]).max() < 0.5
    opened, _ = rig.targets(Motion())
    assert np.abs(opened[UPPER_LID[0]] - opened[LOWER_LID[0]]).max() > 3


def test_open_mouth_is_painted(grace):
    shut, opened = _avatar(grace), _avatar(grace)
    plain = _avatar(grace, mouth=False)
    for a in (shut, opened, plain):
        a.process(_blank(), FrameContext(0, 0.0))
    jaw, _ = mouth_basis(shut.renderer.neutral)
    wide = Motion(expression=jaw * 0.25)
    closed_img = shut.renderer.render(Motion())
    open_img, plain_img = opened.renderer.render(wide), plain.renderer.render(wide)
    t = opened.renderer.targets
    gap = np.linalg.norm(t[LIP_CENTRE[0]] - t[LIP_CENTRE[1]])
    assert gap > 8  # pixels at 640x360
    centre = ((t[LIP_CENTRE[0]] + t[LIP_CENTRE[1]]) / 2).astype(int)
    x, y = centre
    patch = (slice(y - 2, y + 3), slice(x - 10, x + 10))
    assert not np.array_equal(open_img[patch], plain_img[patch])  # synthesis drew over the stretched lips
    assert np.array_equal(closed_img, shut.renderer.still)  # no motion: the portrait as it is


def test_large_yaw_eases_into_the_limit_without_tearing(grace):
    avatar = _avatar(grace)
    avatar.process(_blank(), FrameContext(0, 0.0))
    r = avatar.renderer
    out = r.render(Motion(rotation=from_euler(np.radians([60, 0, 0]))))
    assert np.isfinite(out.astype(np.float32)).all() and out.shape == (SIZE[1], SIZE[0], 3)
    limit = np.radians([25, 20, 30])
    small, big, huge = (soft_clamp(np.radians([a, 0, 0]), limit)[0] for a in (5, 60, 90))
    assert np.degrees(small) == pytest.approx(5, abs=0.1)  # small turns pass unchanged
    assert np.degrees(big) < 25 and np.degrees(huge - big) < 1.5  # large ones ease into the limit
    assert np.degrees(euler(from_euler(np.radians([60, 0, 0]))))[0] == pytest.approx(60)


# ---- voice-driven mode ---------------------------------------------------------------------------------------
def test_voice_moves_the_mouth_and_silence_closes_it(grace):
    speech = read_audio(sample("speech_librivox.wav"))
    mono = speech.samples.mean(0)
    avatar = _avatar(grace)
    gaps, t, fed = [], 0.0, 0
    step = speech.rate // 30
    for i in range(75):  # 2.5 s of real speech
        avatar.feed_audio(mono[fed:fed + step], speech.rate)
        fed += step
        avatar.process(_blank(), FrameContext(i, t))
        tg = avatar.renderer.targets
        gaps.append(np.linalg.norm(tg[LIP_CENTRE[0]] - tg[LIP_CENTRE[1]]))
        t += 1 / 30
    assert avatar.mode == "voice"
    rest = np.linalg.norm(avatar.renderer.rig.points[LIP_CENTRE[0], :2] - avatar.renderer.rig.points[LIP_CENTRE[1], :2])
    talking = np.array(gaps[30:])
    assert talking.max() > rest + 6 and talking.std() > 1  # opens, and moves with the syllables
    for i in range(20):  # silence
        avatar.feed_audio(np.zeros(step, np.float32), speech.rate)
        avatar.process(_blank(), FrameContext(100 + i, t))
        t += 1 / 30
    tg = avatar.renderer.targets
    assert np.linalg.norm(tg[LIP_CENTRE[0]] - tg[LIP_CENTRE[1]]) < rest + 1


def test_speech_driver_blinks_and_stays_closed_in_silence():
    d = SpeechDriver(16000)
    neutral = np.zeros((468, 3))
    neutral[:, 1] = np.linspace(-1, 1, 468)
    opens = []
    for i in range(300):  # 10 s without audio
        m = d.motion(i / 30, neutral)
        opens.append(m.eye_open[0])
        assert d.open == 0
    assert min(opens) < 0.2 and np.mean(np.array(opens) > 0.95) > 0.8  # blinks, mostly open


def test_empty_source_passes_frames_through(clip_frames):
    avatar = PhotoAvatar(AvatarSettings())
    frame = clip_frames[0]
    assert avatar.process(frame, FrameContext(0, 0.0)) is frame


def test_colour_match_moves_the_portrait_towards_the_driver(grace, clip_frames):
    from obs_deepzoom.engine.avatar.colour import face_stats

    tracker = FaceTracker()
    avatar = _avatar(grace, color_match=1.0)
    frame = clip_frames[0]
    out = avatar.process(frame, FrameContext(0, 0.0, tracker.process(frame, 0.0)))
    layout = avatar.renderer.layout
    before = face_stats(layout.image, layout.landmarks)[0]
    after = face_stats(out, layout.landmarks)[0]
    driver = face_stats(frame, tracker.tracks[0].landmarks)[0]
    assert np.abs(after - driver).sum() < 0.3 * np.abs(before - driver).sum()
    avatar.settings = AvatarSettings(source=avatar.settings.source, color_match=0.0)
    plain = avatar.process(frame, FrameContext(1, 1 / 30, tracker.process(frame, 1 / 30)))
    assert np.abs(face_stats(plain, layout.landmarks)[0] - before).sum() < 3
