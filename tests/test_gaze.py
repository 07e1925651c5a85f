"""Eye contact on real frames with real models."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.engine.contract import FrameContext
from obs_deepzoom.engine.face import FaceTracker
from obs_deepzoom.engine.video.gaze import GazeCorrector, correction_deg, eye_frame
from obs_deepzoom.errors import SettingsError
from obs_deepzoom.evaluate.gaze import _iris_pitch, _turn
from obs_deepzoom.settings import ChainSettings, FaceTrackingSettings, GazeSettings, apply_overrides


def track(img):
    return FaceTracker(FaceTrackingSettings(smoothing=False)).process(img, 0.0)


def test_no_face_is_byte_exact_passthrough():
    blank = np.full((360, 640, 3), 128, np.uint8)
    chain = Chain(["gaze"])
    out, ctx = chain.process(blank, 0.0)
    assert ctx.faces == [] and out is blank


def test_looking_at_the_camera_is_left_alone(portrait):
    faces = track(portrait)
    # camera exactly at the screen point: nothing to correct
    c = GazeCorrector(GazeSettings(camera_above_cm=0, smoothing_ms=0))
    assert np.array_equal(c.process(portrait, FrameContext(0, 0.0, faces)), portrait)
    # a tiny correction changes only a few pixels, all inside the eye boxes
    c = GazeCorrector(GazeSettings(camera_above_cm=1, smoothing_ms=0))
    out = c.process(portrait, FrameContext(0, 0.0, faces))
    changed = np.any(out != portrait, axis=2)
    ys, xs = np.nonzero(changed)
    eyes = faces[0].landmarks[[33, 133, 362, 263], :2]
    assert changed.sum() < 0.01 * changed.size
    assert xs.min() > eyes[:, 0].min() - 30 and xs.max() < eyes[:, 0].max() + 30


def test_downward_gaze_is_moved_up_by_the_configured_amount(clip_720p):
    img = clip_720p[0]
    (face,) = track(img)
    down = _turn(img, face, -8.0)  # the same frame looking 8 degrees lower
    (face_down,) = track(down)
    settings = GazeSettings(smoothing_ms=0, camera_above_cm=0.0, target="custom")
    # ask for exactly 8 degrees up: the camera is 8 degrees above the screen point at this distance
    settings.camera_above_cm = float(np.tan(np.radians(8.0)) * face_down.distance_cm)
    assert correction_deg(settings, face_down.distance_cm)[0] == pytest.approx(8.0, abs=0.01)
    settings.target = "camera"
    out = GazeCorrector(settings).process(down, FrameContext(0, 0.0, [face_down]))
    (after,) = track(out)
    assert abs(_iris_pitch(face, after) - _iris_pitch(face, face)) < 2.0  # back where it started
    moved = [(after.iris[e, 0] - face_down.iris[e, 0]) @ eye_frame(face, e).v for e in (0, 1)]
    assert all(m < -1.0 for m in moved), moved  # upwards in the image


def test_blink_and_look_away_switch_it_off(clip_720p, clip_frames):
    corrector = GazeCorrector(GazeSettings(smoothing_ms=0))
    blink = cv2.resize(clip_frames[27], (1280, 720), interpolation=cv2.INTER_CUBIC)  # a real blink
    faces = track(blink)
    assert corrector.process(blink, FrameContext(0, 0.0, faces)) is blink
    assert corrector.last[0]["state"] == "blink"
    img = clip_720p[0]
    (face,) = track(img)
    away = _turn(img, face, 0.0, -25.0)
    assert corrector.process(away, FrameContext(1, 0.0, track(away))) is away
    assert corrector.last[0]["state"] == "looking away"


def test_correction_fades_in_smoothly(clip_720p):
    img = clip_720p[0]
    faces = track(img)
    corrector = GazeCorrector(GazeSettings(smoothing_ms=150))
    weights = []
    for i in range(8):
        corrector.process(img, FrameContext(i, i / 30, faces))
        weights.append(corrector.last[0]["weight"])
    assert weights[0] == 0.0 and weights[-1] == pytest.approx(1.0)
    assert all(b - a <= 0.25 for a, b in zip(weights, weights[1:]))  # ~5 frames at 30 fps, no jump


def test_settings_errors_name_the_field():
    with pytest.raises(SettingsError, match="gaze.strength"):
        apply_overrides(ChainSettings(), ["gaze.strength=3"])
    with pytest.raises(SettingsError, match="gaze.target"):
        apply_overrides(ChainSettings(), ["gaze.target=moon"])
