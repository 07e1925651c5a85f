"""Background effect on real media with the real segmentation models, checked against MediaPipe's own solution."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.engine.video.background import Background
from obs_deepzoom.errors import InputError, SettingsError
from obs_deepzoom.evaluate.metrics import boundary_f, mask_iou
from obs_deepzoom.media import VideoSource
from obs_deepzoom.reference import mediapipe
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import BackgroundSettings, ChainSettings, apply_overrides


@pytest.fixture(scope="module")
def sky() -> np.ndarray:
    """A real frame without a person (the first frame of no_face.mp4: sky)."""
    return next(VideoSource.open_file(sample("no_face.mp4")).frames())


def _alpha(frame: np.ndarray, **options) -> tuple[np.ndarray, np.ndarray]:
    effect = Background(BackgroundSettings(**options))
    out = effect.process(frame, None)
    return out, effect.alpha


def test_mask_matches_mediapipe(clip_frames, portrait):
    mp = mediapipe()
    frames = [clip_frames[0], clip_frames[40], portrait]
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=1) as ref:
        masks = [ref.process(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)).segmentation_mask > 0.5 for f in frames]
    for frame, ref_mask in zip(frames, masks):
        _, alpha = _alpha(frame)
        assert alpha.shape == ref_mask.shape
        assert mask_iou(alpha > 0.5, ref_mask) > 0.95
        assert boundary_f(alpha > 0.5, ref_mask) > 0.95


def test_no_person_leaves_a_blurred_frame(sky):
    out, alpha = _alpha(sky)
    assert alpha.max() < 0.5 and out.shape == sky.shape
    assert np.abs(out.astype(int) - sky).mean() < 5  # a blurred sky: close to the original


def test_tiny_person_is_found(clip_frames, sky):
    """A person cut out with another network's matte (BlazePose), pasted small (86 px tall in 720p) onto a sky:
    the truth is that matte, not our own mask."""
    from obs_deepzoom.evaluate import background as ev

    person = clip_frames[40]
    matte = ev.known_matte(mediapipe(), person)
    canvas, truth, _ = ev.paste(person, matte, cv2.resize(sky, ev.CANVAS), ev.TINY_PX, x_centre=0.4)
    _, alpha = _alpha(canvas)
    assert mask_iou(alpha > 0.5, truth > 0.5) > 0.85


def test_known_matte_reference_is_independent_and_exact(clip_frames, sky):
    """The halo reference: the matte comes from BlazePose (not our selfie model), the composite is exactly
    matte x person + (1 - matte) x background, and the ideal blur is computed from those layers alone."""
    from obs_deepzoom.evaluate import background as ev

    person = clip_frames[0]
    matte = ev.known_matte(mediapipe(), person)
    _, ours = _alpha(person)
    assert 0.8 < mask_iou(matte > 0.5, ours > 0.5) < 0.995  # a different network: close, not the same mask
    bg = ev.shelves()
    comp, alpha, layer = ev.paste(person, matte, bg, 720)
    exact = alpha[..., None] * layer + (1 - alpha[..., None]) * bg
    assert np.abs(comp - exact).max() <= 0.5 + 1e-3
    ideal = ev.ideal_blur(alpha, layer, bg, 12.0)
    far = alpha == 0
    blurred = cv2.GaussianBlur(bg.astype(np.float32), (0, 0), 12.0, borderType=cv2.BORDER_REFLECT)
    assert np.allclose(ideal[far], blurred[far]) and np.allclose(ideal[alpha == 1], layer[alpha == 1])


def test_replacement_of_another_size_and_aspect(tmp_path, portrait):
    tall = np.zeros((900, 300, 3), np.uint8)
    tall[:, :, 2] = np.linspace(0, 255, 900, dtype=np.uint8)[:, None]  # red ramp, top to bottom
    path = tmp_path / "tall.png"
    cv2.imwrite(str(path), tall)
    out, alpha = _alpha(portrait, mode="replace", image=str(path))
    assert out.shape == portrait.shape
    bg = alpha < 0.01
    assert np.abs(out[bg].astype(int) - [0, 0, 0])[:, :2].max() <= 2  # only red: from the backdrop
    top, bottom = out[:20][bg[:20]][:, 2].mean(), out[-20:][bg[-20:]][:, 2].mean()
    assert bottom > top + 20  # covered and centre-cropped, not letterboxed


def test_replacement_video_loops(clip_frames):
    effect = Background(BackgroundSettings(mode="replace", image=str(sample("no_face.mp4"))))
    for f in clip_frames[:3]:
        assert effect.process(f, None).shape == f.shape


@pytest.mark.parametrize("image, words", [
    ("/nonexistent/beach.jpg", ["background.image", "/nonexistent/beach.jpg", "no such file"]),
    ("{tmp}/notes.txt", ["background.image", "notes.txt", "unsupported file type"]),
    ("{tmp}/broken.png", ["background.image", "broken.png", "not a readable image"]),
    ("", ["background.image", "needs a picture or video"]),
])
def test_bad_replacement_is_one_clear_error(tmp_path, image, words):
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    settings = apply_overrides(ChainSettings(), ["background.mode=replace", f"background.image={image}"
                                                 .format(tmp=tmp_path)])
    with pytest.raises(InputError) as err:
        Chain(["background"], settings)
    message = str(err.value)
    assert "\n" not in message
    for w in words:
        assert w in message


def test_live_change_to_a_bad_path_falls_back_to_blur(portrait, caplog):
    effect = Background(BackgroundSettings())
    effect.settings = BackgroundSettings(mode="replace", image="/nonexistent/x.png")
    out = effect.process(portrait, None)
    assert out.shape == portrait.shape and "blurring instead" in caplog.text


@pytest.mark.parametrize("item, words", [
    ("background.blur=0", ["background.blur", "greater than or equal to 1"]),
    ("background.mode=sparkles", ["background.mode"]),
    ("background.color=[0,0,300]", ["color"]),
    ("background.every=0", ["background.every"]),
])
def test_invalid_settings_name_the_field(item, words):
    with pytest.raises(SettingsError) as err:
        apply_overrides(ChainSettings(), [item])
    for w in words:
        assert w in str(err.value)


def test_color_and_key_modes(portrait):
    out, alpha = _alpha(portrait, mode="color", color=(255, 0, 0))
    assert (alpha == 0).mean() > 0.3 and (out[alpha == 0] == [255, 0, 0]).all()
    out, alpha = _alpha(portrait, mode="foreground", color=(0, 255, 0))
    mixed = (alpha > 0.05) & (alpha < 0.95)
    assert mixed.mean() < 0.002  # a hard edge for the chroma key
    assert (out[alpha == 0] == [0, 255, 0]).all()


def test_mask_every_n_frames_and_static_skip(clip_720p):
    every = Background(BackgroundSettings(every=3))
    still = Background(BackgroundSettings(static_skip=5.0))
    for f in clip_720p[:12]:
        every.process(f, None)
        still.process(clip_720p[0], None)
    assert every.mask_runs == 4 and still.mask_runs == 1


def test_disabled_passes_the_frame_through(portrait):
    assert Background(BackgroundSettings(enabled=False)).process(portrait, None) is portrait


def test_edge_only_compositing_equals_the_dense_formula(clip_720p):
    """Alpha is evaluated at full size only on edge pixels; everywhere it must equal clip(a * grey + b)."""
    from obs_deepzoom.engine.video.background import reduce

    effect = Background(BackgroundSettings())
    for frame in clip_720p[::20]:
        out = effect.process(frame, None)
        work = reduce(frame)
        p = cv2.resize(effect.prob, work.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        ab, _, _ = effect.linear_model(work, p)
        full = cv2.resize(ab, frame.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        grey = frame.astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)
        dense = np.clip(full[..., 0] * grey + full[..., 1], 0, 255) / 255
        assert np.abs(effect.alpha - dense).max() < 0.01
        assert out.shape == frame.shape


@pytest.mark.parametrize("mode", ["flat", "posterize"])
def test_data_saver_keeps_the_person_and_holds_the_background_still(clip_frames, mode):
    """Data saver: the person's pixels are the camera's; the background is simplified (flat: one colour;
    posterize: few brightness levels) and does not change between two frames of a still scene with fresh
    sensor noise (a still background costs the meeting app's encoder nothing)."""
    effect = Background(BackgroundSettings(mode=mode, levels=4))
    frame = clip_frames[10]
    rng = np.random.default_rng(0)
    noisy = [np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8) for _ in range(3)]
    outs, alphas = [], []
    for f in noisy:
        outs.append(effect.process(f, None))
        alphas.append(effect.alpha)
    person, room = alphas[-1] == 1, (alphas[-1] == 0) & (alphas[-2] == 0)
    assert person.mean() > 0.15 and room.mean() > 0.3
    assert np.array_equal(outs[-1][person], noisy[-1][person])
    assert np.abs(outs[-1][room].astype(int) - outs[-2][room].astype(int)).max() <= 1
    grey = cv2.cvtColor(outs[-1], cv2.COLOR_BGR2GRAY)[room]
    if mode == "flat":
        assert np.ptp(outs[-1][room].reshape(-1, 3), axis=0).max() == 0
    else:  # 4 brightness levels, smeared only where the work-size levels are scaled up to the frame
        levels = np.array([0, 85, 170, 255])
        near = np.abs(grey[:, None].astype(int) - levels).min(1) <= 4  # colour kept: white clips a little
        assert near.mean() > 0.7, near.mean()  # a smooth blur would have about 4 x 9 / 256 = 14 %


def test_data_saver_preset_is_valid():
    from obs_deepzoom.presets import load

    p = load("data-saver")
    assert p.video == ["background"] and p.settings.background.mode == "posterize"
