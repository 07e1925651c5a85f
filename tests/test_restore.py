"""Face restore (FSRCNN on the tracked face) on real portraits with the real models."""

import cv2
import numpy as np

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.engine.video.restore import face_box
from obs_deepzoom.evaluate.metrics import psnr
from obs_deepzoom.evaluate.restore import degrade, face_boxes
from obs_deepzoom.media import read_image
from obs_deepzoom.modelstore.manifest import load_manifest
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import ChainSettings


def _chain(**options) -> Chain:
    settings = ChainSettings()
    settings.restore = settings.restore.model_copy(update=options)
    return Chain(["restore"], settings)


def test_manifest_has_dynamic_fsrcnn():
    for scale in (2, 4):
        entry = load_manifest().get(f"fsrcnn_x{scale}")
        assert entry.licence == "MIT" and entry.inputs[0].shape == [1, -1, -1, 1]


# mean PSNR gain over bicubic on the face boxes of the validation portraits, JPEG q40, every face the detector
# finds there (8 today, against the 6 of docs/restore.md's table, whose +1.01 dB at x2 counts fewer, larger faces):
# measured +0.953 dB at x2, +0.848 dB at x4; the guard sits a little below each. The held-out figure (+1.88 dB)
# is guarded by tests/quality/test_restore_quality.py.
CLAIMED_GAIN_DB = {2: 0.953, 4: 0.848}
GUARD_MARGIN_DB = 0.04


def test_restore_gains_what_the_docs_claim_on_jpeg_faces():
    from obs_deepzoom.engine.models import FaceDetector
    from obs_deepzoom.evaluate import restore as ev

    res = ev._measure(ev.validation_items(FaceDetector(ev.DETECTOR)), (2, 4), {"": {}}, False,
                      lambda *_: None, None, "")
    assert res["n"] >= 6 and res["faces_restored_pct"] >= 75  # (a small face of the group photo is missed at x4)
    for scale, claimed in CLAIMED_GAIN_DB.items():
        gain = res[f"psnr_gain_vs_bicubic_x{scale}"]
        assert gain > claimed - GUARD_MARGIN_DB, (scale, gain, claimed)
        assert res[f"psnr_gain_vs_lanczos_x{scale}"] > gain  # Lanczos is the lower bar on these faces


def test_upscale_240p_to_720p_and_enhance_keeps_the_size(clip_frames):
    small = cv2.resize(clip_frames[30], (426, 240), interpolation=cv2.INTER_AREA)
    up = _chain(mode="upscale", output_height=720)
    out, ctx = up.process(small, 0.0)
    assert out.shape == (720, 1278, 3) and ctx.faces and up.effects[0].regions
    enhance = _chain(mode="enhance", scale=3)
    out, _ = enhance.process(clip_frames[30], 0.0)
    assert out.shape == clip_frames[30].shape and np.abs(out.astype(int) - clip_frames[30]).max() > 0


def test_no_face_is_a_plain_upscale():
    blank = np.full((120, 160, 3), 128, np.uint8)
    blank[40:80, 60:100] = 30
    out, ctx = _chain(mode="upscale", output_height=360).process(blank, 0.0)
    assert not ctx.faces and out.shape == (360, 480, 3)
    assert np.array_equal(out, cv2.resize(blank, (480, 360), interpolation=cv2.INTER_CUBIC))
    tiny = np.zeros((8, 8, 3), np.uint8)
    assert _chain(mode="enhance").process(tiny, 0.0)[0] is tiny


def test_face_box_stays_inside_the_frame():
    pts = np.array([[-10.0, -5.0, 0], [30.0, 40.0, 0]])
    x0, y0, x1, y1 = face_box(pts, 1.3, (100, 80))
    assert 0 <= x0 < x1 <= 100 and 0 <= y0 < y1 <= 80
    assert face_box(np.array([[0.0, 0.0, 0], [2.0, 2.0, 0]]), 1.0, (10, 10)) is None


def test_small_faces_get_a_larger_region_up_to_the_pixel_budget():
    def side(face: float) -> int:
        pts = np.array([[500.0, 500.0, 0], [500.0 + face, 500.0 + face, 0]])
        x0, _, x1, _ = face_box(pts, 1.3, (2000, 2000), 1.7, 160)
        return x1 - x0

    assert side(60) == 104  # 1.7 x 60 = 102, aligned to 8
    assert side(110) == 160  # grows only as far as the budget
    assert side(200) == 264  # a large face keeps 1.3 x (= the cost it had)
    pts = np.array([[500.0, 500.0, 0], [560.0, 560.0, 0]])
    assert face_box(pts, 1.3, (2000, 2000)) == face_box(pts, 1.3, (2000, 2000), 1.7, 0)  # budget 0: off


def test_phase_channels_follow_the_8x8_grid():
    from obs_deepzoom.engine.video.deblock import phase_channels

    p = phase_channels(16, 24, 0, 0)
    assert p.shape == (4, 16, 24) and np.allclose(p[:, :, :8], p[:, :, 8:16]) and np.allclose(p[:, :8], p[:, 8:])
    assert np.allclose(phase_channels(8, 8, 3, 5), p[:, 5:13, 3:11])  # the grid is counted from the frame origin


def _random_deblock_weights(rng, out_channels: int) -> list[np.ndarray]:
    chans = [5, 4, 4, 4, 4, out_channels]
    weights = []
    for i, (ci, co) in enumerate(zip(chans[:-1], chans[1:])):
        k = 5 if i == 0 else 3
        weights += [rng.normal(size=(k, k, ci, co)).astype(np.float32), np.zeros(co, np.float32)]
    return weights


def test_deblock_model_is_a_residual_on_the_luma():
    import openvino as ov

    from obs_deepzoom.engine.video.deblock import DILATIONS, build_model

    rng = np.random.default_rng(0)
    weights = _random_deblock_weights(rng, 1)
    weights[-2][...] = 0  # last layer zero: the output is the input luma
    assert len(weights) == 2 * len(DILATIONS)
    x = rng.random((1, 5, 20, 28)).astype(np.float32)
    outs = ov.Core().compile_model(build_model(weights), "CPU").create_infer_request().infer([x])
    assert len(outs) == 1 and outs[0].shape == (1, 1, 20, 28) and np.allclose(outs[0][0, 0], x[0, 0], atol=1e-6)


def test_deblock_model_high_resolution_head_is_depth_to_space():
    """With 1 + 16 outputs, channels 1..16 become the 4x residual: channel 1 + 4i + j at sub-pixel (i, j)."""
    import openvino as ov

    from obs_deepzoom.engine.video.deblock import RESIDUAL_SCALE, build_model

    rng = np.random.default_rng(1)
    weights = _random_deblock_weights(rng, 17)
    weights[-2][...] = 0
    weights[-1][:] = np.arange(17) / RESIDUAL_SCALE  # constant channels: channel c is c everywhere
    x = rng.random((1, 5, 6, 7)).astype(np.float32)
    lr, hr = ov.Core().compile_model(build_model(weights), "CPU").create_infer_request().infer([x]).values()
    assert np.allclose(lr[0, 0], x[0, 0], atol=1e-5) and hr.shape == (1, 1, 24, 28)
    assert np.allclose(hr[0, 0, :4, :4], 1 + np.arange(16).reshape(4, 4))


def test_blockiness_finds_the_jpeg_grid_and_leaves_clean_pictures():
    """A clean picture scores below the threshold (deblocking off); at JPEG q40 it scores above full strength,
    and the 8x8 grid's phase is found in a crop that does not start on it."""
    from obs_deepzoom.engine.video.deblock import amount, blockiness

    hr = read_image(sample("grace_hopper.jpg"))
    h, w = (s // 2 * 2 for s in hr.shape[:2])
    for q, expect in ((None, 0.0), (40, 1.0)):
        luma = cv2.cvtColor(degrade(hr[:h, :w], 2, q), cv2.COLOR_BGR2YCrCb)[..., 0]
        score, phase = blockiness(luma[5:, 3:])  # offset (3, 5) from the grid
        assert amount(score) == expect, (q, score)
        if q:
            assert phase == (5, 3)


def test_deblock_follows_blockiness_clean_unchanged_jpeg_better():
    """Upscale mode on a held-out portrait (not in the training pictures): a clean face comes out exactly as
    with deblock off; a JPEG q40 face comes out closer to the original than without deblocking."""
    from obs_deepzoom.engine.models import FaceDetector

    hr = read_image(sample("grace_hopper.jpg"))
    h, w = (s // 2 * 2 for s in hr.shape[:2])
    hr = hr[:h, :w]
    (x0, y0, x1, y1), *_ = face_boxes(hr, FaceDetector("short"))
    for q in (None, 40):
        lr = degrade(hr, 2, q)
        on, _ = _chain(mode="upscale", output_height=h).process(lr, 0.0)
        off, _ = _chain(mode="upscale", output_height=h, deblock=False).process(lr, 0.0)
        if q is None:
            assert np.array_equal(on, off)
        else:
            crop = (slice(y0, y1), slice(x0, x1))
            assert psnr(on[crop], hr[crop]) - psnr(off[crop], hr[crop]) > 0.1


def test_deblock_setting_changes_only_the_face():
    small = cv2.resize(read_image(sample("grace_hopper.jpg")), (256, 300), interpolation=cv2.INTER_AREA)
    small = degrade(small, 1)
    chain = _chain(mode="upscale", output_height=600)
    on, ctx = chain.process(small, 0.0)
    off, _ = _chain(mode="upscale", output_height=600, deblock=False).process(small, 0.0)
    assert ctx.faces and on.shape == off.shape == (600, 512, 3)
    changed = np.abs(on.astype(int) - off).max(2) > 0
    inside = np.zeros_like(changed)
    for x0, y0, x1, y1 in chain.effects[0].regions:
        inside[y0:y1, x0:x1] = True
    assert changed.any() and not (changed & ~inside).any()


def test_deblock_strength_follows_blockiness_steadily_over_frames():
    """The blockiness score is averaged over frames: a JPEG frame after clean ones is deblocked only partly."""
    from obs_deepzoom.engine.video.restore import FaceRestore
    from obs_deepzoom.settings import RestoreSettings

    hr = read_image(sample("grace_hopper.jpg"))
    clean, blocky = (cv2.cvtColor(degrade(hr, 2, q), cv2.COLOR_BGR2YCrCb)[..., 0] for q in (None, 40))
    effect = FaceRestore(RestoreSettings(deblock_strength=1.0))
    assert effect._blocks(clean)[0] == 0.0
    ramp = [effect._blocks(blocky)[0] for _ in range(40)]
    assert ramp == sorted(ramp) and ramp[0] < 1.0 and any(0 < r < 1 for r in ramp) and ramp[-1] == 1.0
    assert FaceRestore(RestoreSettings(deblock_strength=1.0))._blocks(blocky)[0] == 1.0
    assert FaceRestore(RestoreSettings(deblock=False))._blocks(blocky)[0] == 0.0


def test_auto_model_is_x2_for_clean_2x_faces_and_x4_for_compressed_or_larger():
    """x4 reduced to 2x over-sharpens clean faces (the eval: -0.5 dB against bicubic); 'auto' uses x2 there."""
    hr = read_image(sample("grace_hopper.jpg"))
    h, w = (s // 4 * 4 for s in hr.shape[:2])
    hr = hr[:h, :w]
    for scale, q, expect in ((2, None, {2}), (2, 40, {4}), (4, None, {4})):
        chain = _chain(mode="upscale", output_height=h)
        _, ctx = chain.process(degrade(hr, scale, q), 0.0)
        assert ctx.faces and {k[0] for k in chain.effects[0]._models} == expect, (scale, q)
    chain = _chain(mode="upscale", output_height=h, deblock=False)  # the choice does not need the deblocker on
    chain.process(degrade(hr, 2, 40), 0.0)
    assert {k[0] for k in chain.effects[0]._models} == {4}


def _training_pictures() -> dict:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "tools" / "train_deblock.py"
    spec = importlib.util.spec_from_file_location("train_deblock", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.TRAINING


def test_restore_eval_training_validation_and_test_pictures_are_disjoint():
    """The deblocker's training pictures, the validation portraits (where every option was chosen) and the
    held-out test frames come from three disjoint sets of files."""
    from obs_deepzoom.evaluate import restore as ev
    from obs_deepzoom.samples import SAMPLES

    def source(package, file):
        return package.split("==")[0], file

    training = {source(p, f) for p, _, f in _training_pictures().values()}
    validation = {source(SAMPLES[n].package, SAMPLES[n].file) for n in ev.VALIDATION}
    test = {source(SAMPLES[ev.TEST_CLIP].package, SAMPLES[ev.TEST_CLIP].file)}
    assert len(validation) == len(ev.VALIDATION) == 4 and training and test
    assert not training & validation and not training & test and not validation & test
    assert len(set(ev.TEST_FRAMES)) == len(ev.TEST_FRAMES) >= 6


def test_deblock_strength_is_chosen_on_validation_keys_only():
    """choose_strength reads validation keys; test figures (even better ones) do not move the choice."""
    from obs_deepzoom.evaluate import restore as ev

    val = {f"psnr_gain_vs_bicubic_x2_strength_{v:g}": 1.0 - abs(v - 0.8) for v in ev.STRENGTHS}
    rigged = {**val, **{f"test_psnr_gain_vs_bicubic_x2_strength_{v:g}": 5 * v for v in ev.STRENGTHS}}
    assert ev.choose_strength(val) == ev.choose_strength(rigged) == 0.8
    level = {f"psnr_gain_vs_bicubic_x2_strength_{v:g}": 1.0 for v in ev.STRENGTHS}
    assert ev.choose_strength(level) == min(ev.STRENGTHS)  # ties: the gentler strength
