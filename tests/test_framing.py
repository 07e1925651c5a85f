"""Auto framing: the window's motion on synthetic faces (step, still face with noise, loss, groups), the
rendering, the settings, and one run of the real chain on the sample media."""

from __future__ import annotations

import numpy as np
import pytest

from obs_deepzoom.engine.contract import FrameContext
from obs_deepzoom.engine.face import FaceState
from obs_deepzoom.engine.geometry import Roi
from obs_deepzoom.engine.video.framing import AutoFrame, Window, clamp_window, compose, render
from obs_deepzoom.errors import SettingsError
from obs_deepzoom.settings import ChainSettings, FramingSettings, apply_overrides

SIZE = (1280, 720)
_SHAPE = np.random.default_rng(7).uniform(-0.5, 0.5, (468, 3))  # a face's points in a unit box


def make_face(cx: float, cy: float, height: float, yaw: float = 0.0, noise: float = 0.0, rng=None,
              face_id: int = 0) -> FaceState:
    """A FaceState whose mesh fills a box `height` tall (0.8 of it wide) centred on (cx, cy), eyes 0.1 of the
    height above the centre; `noise` px of Gaussian noise on every point (landmark jitter)."""
    lm = _SHAPE * np.array([0.8 * height, height, height]) + np.array([cx, cy, 0.0])
    iris = np.zeros((2, 5, 2))
    iris[0, :, 0], iris[1, :, 0], iris[:, :, 1] = cx - 0.2 * height, cx + 0.2 * height, cy - 0.1 * height
    if noise:
        lm = lm + rng.normal(0, noise, lm.shape)
        iris = iris + rng.normal(0, noise, (2, 1, 2))
    lm = lm.astype(np.float32)
    return FaceState(face_id=face_id, score=0.99, roi=Roi(cx, cy, 1.5 * height), landmarks=lm, landmarks_raw=lm,
                     iris=iris.astype(np.float32), eye_contours=np.zeros((2, 71, 2), np.float32), pitch=0.0,
                     yaw=yaw, roll=0.0, rvec=np.zeros(3), tvec=np.array([0.0, 0.0, 500.0]),
                     eye_aperture=(0.3, 0.3), eye_closed=(False, False), iris_diameter_px=0.05 * height,
                     distance_cm=50.0, frames_tracked=10)


def run(effect: AutoFrame, faces_at, t0: float, t1: float, fps: float = 30.0, size=SIZE) -> list[tuple]:
    """Step the effect from t0 to t1 (exclusive); faces_at(t) -> faces. Returns (t, window, target) per frame."""
    out = []
    n = int(round((t1 - t0) * fps))
    for k in range(n):
        t = t0 + k / fps
        win = effect.step(faces_at(t), size, t)
        out.append((t, win, effect.last["target"]))
    return out


def inside(win: Window, size=SIZE) -> bool:
    x0, y0, w, h = win.box(size[0] / size[1])
    return x0 >= -1e-6 and y0 >= -1e-6 and x0 + w <= size[0] + 1e-6 and y0 + h <= size[1] + 1e-6


@pytest.mark.parametrize("fps", [30.0, 60.0, 24.0])
def test_a_jump_settles_within_the_settle_time_without_overshoot(fps):
    s = FramingSettings(settle_s=0.8)
    effect = AutoFrame(s)
    run(effect, lambda t: [make_face(400, 360, 110)], 0.0, 3.0, fps)
    before = effect.window()
    track = run(effect, lambda t: [make_face(900, 380, 110)], 3.0, 6.0, fps)
    target = track[-1][2]
    assert abs(target.cx - before.cx) > 300  # a real step
    xs = np.array([w.cx for _, w, _ in track])
    ts = np.array([t for t, _, _ in track])
    step = target.cx - before.cx
    # monotonic towards the target, never past it
    assert np.all(np.diff(xs) >= -1e-9) and xs.max() <= target.cx + 1e-9
    # within 2 % of the step once the settle time has passed (the first frame at 3.0 s moves nothing yet)
    settled = ts >= 3.0 + s.settle_s + 1e-9
    assert np.all(np.abs(xs[settled] - target.cx) <= 0.02 * abs(step))
    # and not much earlier: the motion is calm, not a cut
    assert abs(xs[ts <= 3.0 + 0.25 * s.settle_s][-1] - target.cx) > 0.3 * abs(step)


def test_motion_is_frame_rate_independent():
    def at(fps):
        effect = AutoFrame(FramingSettings())
        track = run(effect, lambda t: [make_face(400 if t < 1.0 else 950, 360, 120)], 0.0, 2.0, fps)
        return {round(t, 6): w.cx for t, w, _ in track}

    a, b = at(30.0), at(60.0)
    common = sorted(set(a) & set(b))
    assert len(common) > 50
    assert max(abs(a[t] - b[t]) for t in common) < 1e-6


def test_a_still_face_with_landmark_noise_does_not_move_the_crop_at_all():
    rng = np.random.default_rng(3)
    effect = AutoFrame(FramingSettings())
    frame = rng.integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)

    def noisy(t):
        return [make_face(620, 330, 120, yaw=float(rng.normal(0, 1.5)), noise=0.8, rng=rng)]

    run(effect, noisy, 0.0, 4.0)  # settle
    first = None
    for k in range(150):  # 5 s more
        t = 4.0 + k / 30
        out = effect.process(frame, FrameContext(k, t, noisy(t)))
        if first is None:
            first, win = out.copy(), effect.window()
        assert effect.window() == win
        assert np.array_equal(out, first)
    assert win.h < SIZE[1]  # it is zoomed in, not trivially the full frame


def test_small_moves_stay_inside_the_dead_zone_and_large_ones_leave_it():
    s = FramingSettings()
    effect = AutoFrame(s)
    run(effect, lambda t: [make_face(640, 360, 120)], 0.0, 3.0)
    win = effect.window()
    small = 0.5 * s.dead_zone * win.h * SIZE[0] / SIZE[1]
    run(effect, lambda t: [make_face(640 + small, 360, 120)], 3.0, 5.0)
    assert effect.window() == win
    run(effect, lambda t: [make_face(640 + 4 * small, 360, 120)], 5.0, 8.0)
    assert effect.window().cx > win.cx + 3 * small


def test_a_lost_face_holds_then_returns_to_the_full_frame():
    s = FramingSettings(hold_s=1.0, return_s=2.0)
    effect = AutoFrame(s)
    run(effect, lambda t: [make_face(500, 300, 120)], 0.0, 4.0)
    held = effect.window()
    track = run(effect, lambda t: [], 4.0, 10.0)
    during_hold = [w for t, w, _ in track if t < 4.0 + s.hold_s - 1e-9]
    assert during_hold and all(w == held for w in during_hold)
    after = [(t, w) for t, w, _ in track if t > 4.0 + s.hold_s]
    hs = np.array([w.h for _, w in after])
    assert np.all(np.diff(hs) >= -1e-9)  # a steady zoom-out, no bounce
    # slow: still well inside after a quarter of the return time
    quarter = next(w for t, w in after if t >= 4.0 + s.hold_s + 0.25 * s.return_s)
    assert quarter.h < 0.8 * SIZE[1]
    frame = np.random.default_rng(0).integers(0, 256, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
    out = effect.process(frame, FrameContext(0, 10.5, []))
    assert out is frame  # back on the full frame: the picture untouched


def test_two_faces_are_both_in_the_frame_and_largest_mode_picks_one():
    faces = [make_face(300, 380, 100), make_face(950, 330, 130, face_id=1)]
    for group in ("all", "largest"):
        effect = AutoFrame(FramingSettings(group=group))
        run(effect, lambda t: faces, 0.0, 4.0)
        win = effect.window()
        x0, y0, w, h = win.box(SIZE[0] / SIZE[1])
        seen = [bool((f.landmarks[:, 0].min() >= x0) & (f.landmarks[:, 0].max() <= x0 + w)
                     & (f.landmarks[:, 1].min() >= y0) & (f.landmarks[:, 1].max() <= y0 + h)) for f in faces]
        assert inside(win)
        if group == "all":
            assert seen == [True, True]
        else:  # the larger face, at its share of the height
            assert seen[1] and abs(np.ptp(faces[1].landmarks[:, 1]) / win.h - FramingSettings().face_height) < 0.01


def test_composition_eyes_head_room_and_look_room():
    s = FramingSettings()
    face = make_face(640, 400, 150)
    win = compose([face], SIZE, s)
    assert abs(float(np.ptp(face.landmarks[:, 1])) / win.h - s.face_height) < 1e-6
    x0, y0, w, h = win.box(SIZE[0] / SIZE[1])
    eyes = float(face.iris[:, 0, 1].mean())
    assert abs((eyes - y0) / h - s.eye_line) < 1e-6
    assert (face.landmarks[:, 1].min() - y0) / h >= s.head_room - 1e-6
    right = compose([make_face(640, 400, 150, yaw=40.0)], SIZE, s)
    left = compose([make_face(640, 400, 150, yaw=-40.0)], SIZE, s)
    # turned towards image right: the window moves right, the face sits left of centre
    assert right.cx - win.cx == pytest.approx(s.look_room * win.h * SIZE[0] / SIZE[1], rel=1e-3)
    assert left.cx < win.cx < right.cx


@pytest.mark.parametrize("max_zoom", [1.0, 1.5, 3.0])
def test_max_zoom_is_never_exceeded_and_the_window_stays_inside(max_zoom):
    effect = AutoFrame(FramingSettings(max_zoom=max_zoom, face_height=0.8))
    track = run(effect, lambda t: [make_face(20 + 400 * t, 30, 40)], 0.0, 3.0)  # tiny face at the edge, moving
    for _, win, target in track:
        assert win.h >= SIZE[1] / max_zoom - 1e-6 and target.h >= SIZE[1] / max_zoom - 1e-6
        assert inside(win) and inside(target)
    assert track[-1][1].h == pytest.approx(SIZE[1] / max_zoom, rel=0.02)


@pytest.mark.parametrize("w, h", [(641, 359), (333, 187), (1280, 720), (17, 9)])
def test_output_size_equals_input_size(w, h):
    rng = np.random.default_rng(w)
    frame = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    for _ in range(40):
        zoom = rng.uniform(1.0, 4.0)
        win = clamp_window(rng.uniform(0, w), rng.uniform(0, h), h / zoom, (w, h), 4.0)
        out = render(frame, win)
        assert out.shape == frame.shape and out.dtype == np.uint8 and out.flags.c_contiguous
    effect = AutoFrame(FramingSettings())
    for k in range(30):
        out = effect.process(frame, FrameContext(k, k / 30, [make_face(w * 0.3, h * 0.4, h * 0.15)]))
        assert out.shape == frame.shape


def test_render_samples_the_window_with_sub_pixel_accuracy():
    w, h = 1280, 720
    xs = np.tile(np.arange(w, dtype=np.float64) / 5, (h, 1))  # x / 5 as grey levels (0..255)
    frame = np.repeat(np.clip(np.rint(xs), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    for cx in (640.0, 640.37, 700.81):
        win = Window(cx, 360.0, 400.0)
        x0, _, ww, _ = win.box(w / h)
        out = render(frame, win)
        scale = h / win.h
        j = np.arange(100, 1100, 50)
        expect = (x0 + (j + 0.5) / scale - 0.5) / 5
        assert np.abs(out[360, j, 0].astype(float) - expect).max() <= 1.0


def test_disabled_passes_frames_through():
    effect = AutoFrame(FramingSettings(enabled=False))
    frame = np.zeros((72, 128, 3), np.uint8)
    assert effect.process(frame, FrameContext(0, 0.0, [make_face(30, 30, 10)])) is frame


@pytest.mark.parametrize("item, words", [
    ("framing.max_zoom=9", ["framing.max_zoom", "less than or equal to 4"]),
    ("framing.settle_s=0", ["framing.settle_s", "greater than or equal to 0.1"]),
    ("framing.group=speaker", ["framing.group", "'all' or 'largest'"]),
    ("framing.face_height=2", ["framing.face_height"]),
    ("framing.zoom=2", ["'framing' has no setting 'zoom'"]),
])
def test_invalid_settings_name_the_field(item, words):
    with pytest.raises(SettingsError) as err:
        apply_overrides(ChainSettings(), [item])
    for word in words:
        assert word in str(err.value)


def test_the_real_chain_frames_the_sample_portrait_and_clip():
    import cv2

    from obs_deepzoom.engine.chain import Chain
    from obs_deepzoom.media import VideoSource, read_image
    from obs_deepzoom.samples import DEMO_CLIP, sample

    chain = Chain(["framing"])
    assert chain.tracker is not None and chain.tracker.irises is None  # it needs no iris model
    portrait = read_image(sample("single_face.jpg"))
    # the portrait small (face ~0.22 of the height: the default short-range detector finds it), off-centre
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    small = cv2.resize(portrait, None, fx=0.7, fy=0.7, interpolation=cv2.INTER_AREA)
    canvas[250:250 + small.shape[0], 150:150 + small.shape[1]] = small
    for k in range(45):
        out, ctx = chain.process(canvas, k / 30)
        assert out.shape == canvas.shape
    assert ctx.faces
    effect = chain.effects[0]
    win = effect.window()
    x0, y0, w, h = win.box(1280 / 720)
    lo, hi = ctx.faces[0].landmarks[:, :2].min(0), ctx.faces[0].landmarks[:, :2].max(0)
    assert x0 <= lo[0] and hi[0] <= x0 + w and y0 <= lo[1] and hi[1] <= y0 + h
    assert h < 0.75 * 720 and not np.array_equal(out, canvas)
    # the framed picture: the face is near the wanted share of the height
    face_h = float(hi[1] - lo[1])
    assert abs(face_h / h - FramingSettings().face_height) < 0.05
    clip = Chain(["framing"])
    for k, frame in enumerate(VideoSource.open_file(sample(DEMO_CLIP)).frames()):
        if k >= 20:
            break
        out, _ = clip.process(frame, k / 30)
        assert out.shape == frame.shape and out.dtype == np.uint8


def test_time_going_back_restarts_the_hold_instead_of_stretching_it():
    """A seek or a loop sends timestamps back: the hold and return count from there, as after a first frame."""
    s = FramingSettings(hold_s=1.0, return_s=1.0)
    effect = AutoFrame(s)
    run(effect, lambda t: [make_face(640, 360, 110)], 0.0, 10.0)
    assert effect.window().h < 700
    held = effect.window()
    track = run(effect, lambda t: [], 0.0, 5.0)  # the clock restarts at 0, no face any more
    assert all(w == held for t, w, _ in track if t < 1.0 - 1e-9), "held for hold_s from the jump"
    assert track[-1][1].h == pytest.approx(SIZE[1], abs=1.0), "back on the full frame within the hold + return"


def test_an_empty_frame_passes_through():
    effect = AutoFrame(FramingSettings())
    frame = np.zeros((0, 640, 3), np.uint8)
    assert effect.process(frame, FrameContext(0, 0.0, [make_face(320, 180, 100)])) is frame


def test_the_alpha_plane_is_cut_like_the_picture():
    """What OBS's render path does with a transparent source: the effect's warp applied to the alpha plane."""
    effect = AutoFrame(FramingSettings(face_height=0.6, settle_s=0.1))
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (360, 640, 3), np.uint8)
    alpha = frame[..., 0].copy()
    for i in range(40):
        ctx = FrameContext(i, i / 30, [make_face(200, 180, 80)])
        out = effect.process(frame, ctx)
    assert len(ctx.warps) == 1 and not np.array_equal(out, frame)
    assert np.array_equal(ctx.warps[0](alpha), out[..., 0]), "the same window, the same pixels"


@pytest.mark.parametrize(("chain", "ok"), [(["gaze", "background", "framing"], True), (["framing", "gaze"], False),
                                           (["framing", "landmarks"], False), (["framing", "background"], True)])
def test_effects_that_use_faces_cannot_follow_framing(chain, ok):
    from obs_deepzoom.engine.chain import _check_order
    from obs_deepzoom.engine.effects import VIDEO_EFFECTS
    from obs_deepzoom.errors import DeepZoomError

    effects = [VIDEO_EFFECTS[e](getattr(ChainSettings(), e)) for e in chain]
    if ok:
        _check_order(effects)
    else:
        with pytest.raises(DeepZoomError, match="cannot come after framing"):
            _check_order(effects)


def test_restore_upscale_also_changes_the_geometry():
    from obs_deepzoom.engine.chain import _check_order
    from obs_deepzoom.engine.effects import VIDEO_EFFECTS
    from obs_deepzoom.errors import DeepZoomError

    s = apply_overrides(ChainSettings(), ["restore.mode=upscale"])
    with pytest.raises(DeepZoomError, match="cannot come after restore"):
        _check_order([VIDEO_EFFECTS["restore"](s.restore), VIDEO_EFFECTS["framing"](s.framing)])
    _check_order([VIDEO_EFFECTS["restore"](ChainSettings().restore), VIDEO_EFFECTS["framing"](s.framing)])
