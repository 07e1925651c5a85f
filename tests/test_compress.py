"""INT8 builds: recording calibration inputs, NNCF quantisation into a separate IR dir, the build record that
marks an int8 IR stale or corrupt, and the runtime choosing (or falling back from) the int8 model."""

from __future__ import annotations

import json
import logging
import shutil
import threading

import numpy as np
import pytest

from obs_deepzoom.engine import runtime
from obs_deepzoom.engine.models import FaceDetector
from obs_deepzoom.media import read_image
from obs_deepzoom.modelstore.build import build_state
from obs_deepzoom.modelstore.manifest import load_manifest
from obs_deepzoom.samples import sample

pytest.importorskip("nncf")  # the compress extra; `python3 install.py test` installs it
MODEL = "face_detection_short"  # small: quantises in a few seconds


@pytest.fixture()
def ir_dir(tmp_path, monkeypatch):
    """A private IR dir holding a copy of the built float IR (the real build dir is never touched)."""
    for src in load_manifest().get(MODEL).xml.parent.iterdir():
        if ".int8." not in src.name and src.is_file():
            shutil.copy(src, tmp_path / src.name)
    monkeypatch.setenv("DEEPZOOM_IR_DIR", str(tmp_path))
    runtime._fallbacks_logged.clear()
    return tmp_path


@pytest.fixture()
def calibration_file(tmp_path):
    """Real detector inputs: the calibration pictures of compress/calibration.py through the detector."""
    from obs_deepzoom.compress import calibration

    pictures = [calibration._file(pf) for pf in calibration.VIDEO_FILES if pf.file in calibration.PICTURES]
    detector = FaceDetector("short", "CPU", precision="f32")
    with runtime.recording(limit=50) as rec:
        for p in pictures:
            img = read_image(p)
            for k in (1.0, 0.5, 0.25):  # a few scales, as faces near and far
                detector.detect(img[: max(1, int(img.shape[0] * k)), : max(1, int(img.shape[1] * k))])
    assert len(rec[MODEL]) == 3 * len(pictures)
    return calibration.save(rec, MODEL, tmp_path / "cal")


def test_every_model_offers_an_int8_build_or_says_why_not():
    for entry in load_manifest().models:
        assert entry.precision in ("f32", "bf16", "int8")
        assert entry.evidence, f"{entry.name}: the manifest must say why its precision was chosen"
        assert entry.int8 is not None or "no int8 build" in entry.evidence, (
            f"{entry.name}: no int8 recipe and the evidence does not say why")


def test_recording_keeps_a_bounded_uniform_sample():
    rec = runtime._Recorder(limit=10)
    for i in range(1000):
        rec.add("m", (np.full(2, i, np.float32),))
    kept = sorted(int(s[0][0]) for s in rec.samples["m"])
    assert len(kept) == 10 and len(set(kept)) == 10
    assert kept[-1] > 500, "a reservoir keeps late inferences too, not only the first ones"


def test_calibration_round_trip_with_varying_shapes(tmp_path):
    from obs_deepzoom.compress.calibration import save
    from obs_deepzoom.modelstore.quantize import load_calibration

    rows = {"m": [(np.ones((1, 4, 5, 1), np.float32), np.zeros(3, np.float32)),
                  (np.ones((1, 6, 7, 1), np.float32), np.ones(3, np.float32))]}
    back = load_calibration(save(rows, "m", tmp_path), 2)
    assert [s[0].shape for s in back] == [(1, 4, 5, 1), (1, 6, 7, 1)]
    assert back[1][1].tolist() == [1, 1, 1]


def test_int8_build_record_and_runtime_choice(ir_dir, calibration_file, caplog):
    from obs_deepzoom.modelstore.quantize import quantize_one

    entry = load_manifest().get(MODEL)
    assert build_state(entry, "int8") == "missing"
    with caplog.at_level(logging.WARNING, logger="obs_deepzoom.runtime"):
        assert runtime.resolve_precision(MODEL, "int8") == "f32"  # not built: f32, said once
    assert "deepzoom models build --precision int8" in caplog.text

    quantize_one(entry, calibration_file)
    assert build_state(entry, "int8") == "ok"
    assert runtime.resolve_precision(MODEL, "int8") == "int8"
    assert runtime.resolve_precision(MODEL, "auto") == entry.precision
    with runtime.default_precision("int8"):
        assert runtime.resolve_precision(MODEL, runtime.scoped("auto")) == "int8"
        assert runtime.scoped("f32") == "f32"  # an explicit choice wins
    assert runtime.scoped("auto") == "auto"  # the scope ended

    # the int8 model really runs in int8 (quantised layers in the compiled graph) and detects the same face
    compiled = runtime.compile_model(MODEL, "CPU", precision="int8")
    ran = {op.get_rt_info()["runtimePrecision"].astype(str) for op in compiled.get_runtime_model().get_ordered_ops()}
    assert ran & {"u8", "i8"}, f"no int8 layer ran: {ran}"
    int8_bin, float_bin = entry.variant_xml("int8").with_suffix(".bin"), entry.xml.with_suffix(".bin")
    assert int8_bin.stat().st_size < 0.7 * float_bin.stat().st_size
    img = read_image(sample("single_face.jpg"))
    (ref,) = FaceDetector("short", "CPU", precision="f32").detect(img)
    (got,) = FaceDetector("short", "CPU", precision="int8").detect(img)
    assert abs(got.score - ref.score) < 0.1
    assert np.abs(np.asarray(got.box) - np.asarray(ref.box)).max() < 0.05 * ref.box[2]  # 5 % of the width

    # a damaged .bin, then a rebuilt float IR, each make the int8 IR unusable, and the runtime falls back
    data = bytearray(int8_bin.read_bytes())
    data[-1] ^= 0xFF
    int8_bin.write_bytes(bytes(data))
    assert build_state(entry, "int8").startswith("corrupt")
    assert runtime.resolve_precision(MODEL, "int8") == "f32"
    quantize_one(entry, calibration_file)
    other_recipe = entry.model_copy(update={"int8": entry.int8.model_copy(update={"preset": "mixed"})})
    assert build_state(other_recipe, "int8").startswith("stale: the manifest's int8 recipe changed")

    # an int8 IR that is intact by its record but does not compile: the effect gets the f32 model
    from obs_deepzoom.downloads import sha256_of

    xml, stamp_path = entry.variant_xml("int8"), entry.variant_stamp("int8")
    xml.write_text("<net name='broken'/>")
    stamp_path.write_text(stamp_path.read_text().replace(json.loads(stamp_path.read_text())["xml_sha256"],
                                                         sha256_of(xml)))
    assert build_state(entry, "int8") == "ok"
    runtime._fallbacks_logged.clear()
    with caplog.at_level(logging.WARNING, logger="obs_deepzoom.runtime"):
        (again,) = FaceDetector("short", "CPU", precision="int8").detect(img)
    assert again.score == pytest.approx(ref.score, abs=1e-4) and "failed to compile" in caplog.text

    stamp = entry.stamp.read_text().replace('"bin_sha256": "', '"bin_sha256": "0')
    entry.stamp.write_text(stamp)  # as if the float IR had been rebuilt (its record no longer matches)
    assert build_state(entry, "int8").startswith("stale")


def test_default_precision_nests_and_survives_errors():
    with runtime.default_precision("int8"):
        with runtime.default_precision("auto"):  # an effect whose setting is 'auto' keeps the outer choice
            assert runtime.scoped("auto") == "int8"
        with pytest.raises(RuntimeError), runtime.default_precision("f32"):
            raise RuntimeError("a model failed to load")
        assert runtime.scoped("auto") == "int8"
    assert runtime.scoped("auto") == "auto"


def test_default_precision_is_per_thread():
    seen = {}
    with runtime.default_precision("int8"):
        t = threading.Thread(target=lambda: seen.update(other=getattr(runtime._scope, "precision", "auto")))
        t.start()
        t.join()
        seen["here"] = runtime._scope.precision
    assert seen == {"other": "auto", "here": "int8"}


def test_effects_pass_their_precision_setting(monkeypatch):
    """Each effect's `precision` setting reaches the models it builds (face, background, restore, denoise,
    automute)."""
    from obs_deepzoom.engine.audio.automute import AutoMute
    from obs_deepzoom.engine.audio.denoise import Denoise
    from obs_deepzoom.engine.chain import Chain
    from obs_deepzoom.settings import AutoMuteSettings, ChainSettings, DenoiseSettings

    asked: list[tuple[str, str]] = []
    real = runtime.resolve_precision
    monkeypatch.setattr(runtime, "resolve_precision", lambda n, p="auto": asked.append((n, p)) or real(n, "f32"))
    s = ChainSettings()
    s.face.precision, s.background.precision = "int8", "bf16"
    Chain(["gaze", "background"], s).process(read_image(sample("single_face.jpg")), 0.0)
    Denoise(DenoiseSettings(mode="best", precision="int8"), rate=48000, channels=1)
    mute = AutoMute(AutoMuteSettings(precision="bf16"), rate=48000, channels=1)
    got = dict(asked)
    assert got["face_detection_short"] == got["face_landmark"] == got["iris_landmark"] == "int8"
    assert got["selfie_segmentation_landscape"] == "bf16"
    assert got["dfn3_enc"] == got["dfn3_erb_dec"] == got["dfn3_df_dec"] == "int8"
    assert got["silero_vad"] == "bf16"

    # `--precision` of bench/eval (an outer scope) reaches effects whose own setting is 'auto'
    asked.clear()
    with runtime.default_precision("int8"):
        denoise = Denoise(DenoiseSettings(mode="best"), rate=48000, channels=1)
        AutoMute(AutoMuteSettings(), rate=48000, channels=1)
    assert dict(asked)["dfn3_enc"] == dict(asked)["silero_vad"] == "int8"

    # a precision changed while running (an OBS property page) rebuilds the models
    asked.clear()
    denoise.update(DenoiseSettings(mode="best", precision="bf16"))
    mute.update(AutoMuteSettings(precision="int8"))
    assert dict(asked)["dfn3_enc"] == "bf16" and dict(asked)["silero_vad"] == "int8"
    assert "face.precision" in _obs_rebuild_keys()  # the OBS worker rebuilds its chain's face tracker

    # the analytics networks: their own setting, and a change while running compiles them again
    from obs_deepzoom.engine.analytics.effect import FaceAnalytics
    from obs_deepzoom.engine.chain import FrameContext
    from obs_deepzoom.engine.face import FaceTracker
    from obs_deepzoom.settings import AnalyticsSettings

    asked.clear()
    effect = FaceAnalytics(AnalyticsSettings(precision="int8"))
    frame = read_image(sample("single_face.jpg"))
    faces = FaceTracker().process(frame, 0.0)
    effect.process(frame, FrameContext(0, 0.0, faces))  # the first frame starts the embedding (asynchronous)
    assert effect.analyzer._pending is not None
    assert {n: dict(asked).get(n) for n in ("sface", "age_v1", "gender_v1", "fer_expression")} == dict.fromkeys(
        ("sface", "age_v1", "gender_v1", "fer_expression"), "int8")
    asked.clear()
    effect.settings = effect.settings.model_copy(update={"precision": "f32"})  # while it runs
    effect.process(frame, FrameContext(1, 0.1, faces))
    assert dict(asked).get("sface") == "f32" and dict(asked).get("age_v1") == "f32"
    effect.process(frame, FrameContext(2, 0.2, faces))
    assert effect.analyzer.runs["embed"] >= 1  # the f32 embedding started after the change ...
    assert effect.live_stats()["people"][0]["id"] == "unknown-1", "... and its answer was collected"


def _obs_rebuild_keys() -> tuple[str, ...]:
    """obs/filters.py's REBUILD_KEYS, read without importing it (it loads libobs)."""
    import ast
    from pathlib import Path

    import obs_deepzoom

    tree = ast.parse((Path(obs_deepzoom.__file__).parent / "obs" / "filters.py").read_text())
    node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "REBUILD_KEYS")
    return ast.literal_eval(node.value)


def test_bench_models_reports_each_precision(ir_dir, calibration_file):
    """`deepzoom bench models` on one model: times at every built precision, sizes, the int8 error on
    held-out inputs (the evaluation media, not the calibration pictures) against its tolerance."""
    from obs_deepzoom.bench import models as bench
    from obs_deepzoom.modelstore.quantize import quantize_one

    quantize_one(load_manifest().get(MODEL), calibration_file)
    row = bench.run([MODEL], rounds=1, per_round=3, accuracy_samples=8, progress=lambda *_: None)["models"][MODEL]
    for p in ("f32", "bf16", "int8"):
        for tag in ("1t", "all"):
            assert row[f"ms_{p}_{tag}"] > 0
    assert row["size_mb_f32"] > 3 * row["size_mb_int8"]  # int8 weights: a quarter of f32, plus the graph
    assert row["size_ratio_vs_shipped"] > 1.4  # the shipped IR keeps MediaPipe's f16 weights: about half
    acc = row["accuracy"]
    assert acc["samples"] == 8 and acc["measure"].startswith("top box error")
    assert 0 < acc["int8_vs_f32"] < 20, "int8 moves the box a little, neither not at all nor wildly"


def test_accuracy_measures_see_a_difference():
    """The measures are zero (or perfect) for identical outputs and react to a known change."""
    from obs_deepzoom.bench.models import measure_of

    rng = np.random.default_rng(0)
    mesh = [rng.uniform(0, 192, (1, 1, 1, 1404)).astype(np.float32)]
    fn = measure_of("face_landmark")[0]
    assert fn(mesh, mesh) == 0
    shifted = [mesh[0] + np.float32(1.0)]  # every point 1 px right, down and deeper
    iod = np.linalg.norm(mesh[0].reshape(468, 3)[33, :2] - mesh[0].reshape(468, 3)[263, :2])
    assert fn(mesh, shifted) == pytest.approx(np.sqrt(2) / iod * 100, rel=1e-4)
    masks = [np.zeros((1, 10, 10, 1), np.float32)]
    masks[0][0, :5] = 1
    half = [masks[0].copy()]
    half[0][0, :, 5:] = 0
    assert measure_of("selfie_segmentation")[0](masks, half) == pytest.approx(0.5)
    sig = [np.ones(100, np.float32)]
    assert measure_of("dtln_1")[0](sig, [sig[0] * 1.1]) == pytest.approx(20.0, abs=1e-3)
    img = [np.full((1, 8, 8, 1), 0.5, np.float32)]
    assert measure_of("fsrcnn_x2")[0](img, [img[0] + np.float32(0.01)]) == pytest.approx(40.0, abs=1e-3)
    assert measure_of("silero_vad")[0]([np.array([[0.9]])], [np.array([[0.6]])]) == pytest.approx(0.3)
    reg = np.zeros((1, 4, 16), np.float32)
    reg[0, 2, :4] = (10, 20, 50, 50)  # the best anchor's box: 50 wide
    cls = np.array([[[0.0], [1.0], [5.0], [2.0]]], np.float32)
    moved = reg.copy()
    moved[0, 2, 0] += 5  # its centre 5 px right: 10 % of its width
    assert measure_of("face_detection_short")[0]([reg, cls], [moved, cls]) == pytest.approx(10.0)
    contours, iris = np.zeros((2, 71, 3), np.float32), np.zeros((2, 5, 3), np.float32)
    contours[:, 8, 0] = 40  # eyes 40 px wide
    moved_iris = iris.copy()
    moved_iris[1, 0, 1] = 2  # one iris centre 2 px down: 5 % of its eye's width
    assert measure_of("iris_landmark")[0]([contours, iris], [contours, moved_iris]) == pytest.approx(5.0)
    e = np.zeros((1, 128), np.float32)
    e[0, 0] = 3.0  # not normalised, as the network gives it
    turned = np.zeros((1, 128), np.float32)
    turned[0, 1] = 0.5  # a quarter turn: unit vectors sqrt(2) apart, whatever the lengths
    assert measure_of("sface")[0]([e], [e * 2]) == pytest.approx(0.0)
    assert measure_of("sface")[0]([e], [turned]) == pytest.approx(np.sqrt(2))
    ages = np.zeros((1, 81), np.float32)
    ages[0, 30], older = 1.0, np.zeros((1, 81), np.float32)
    older[0, 32] = 1.0  # bins 1 year apart from index 1 on
    assert measure_of("age_v1")[0]([ages], [older]) == pytest.approx(2.0)
    assert measure_of("gender_v1")[0]([np.array([[0.7, 0.3]])], [np.array([[0.6, 0.4]])]) == pytest.approx(0.1)
