"""The model pipeline: manifest, built IR, clear errors for missing/corrupt models, runtime fallbacks."""

import logging
import shutil

import numpy as np
import pytest

from obs_deepzoom.engine import runtime
from obs_deepzoom.engine.canonical import load_canonical_face
from obs_deepzoom.errors import ModelError
from obs_deepzoom.modelstore.build import build_state
from obs_deepzoom.modelstore.manifest import load_manifest

FIRST_MODELS = {"face_detection_short", "face_detection_full", "face_landmark", "iris_landmark",
                "selfie_segmentation", "selfie_segmentation_landscape", "silero_vad"}


def test_manifest_lists_the_first_models_with_sources_and_contracts():
    m = load_manifest()
    assert {e.name for e in m.models} >= FIRST_MODELS
    for e in m.models:
        assert "==" in e.source.package and len(e.source.sha256) == 64 and e.licence
        assert e.inputs and e.outputs


def test_every_model_is_built_and_matches_its_record():
    for e in load_manifest().models:
        assert build_state(e) == "ok", e.name
    assert load_canonical_face().shape == (468, 3)


@pytest.fixture
def ir_copy(tmp_path, monkeypatch):
    """A private copy of the built IR dir, so a test can break models without touching the real ones."""
    from obs_deepzoom import paths

    dst = tmp_path / "ir"
    shutil.copytree(paths.ir_dir(), dst)
    monkeypatch.setenv("DEEPZOOM_IR_DIR", str(dst))
    return dst


def test_missing_model_names_the_rebuild_command(ir_copy):
    (ir_copy / "face_landmark.bin").unlink()
    with pytest.raises(ModelError) as err:
        runtime.compile_model("face_landmark", "CPU")
    assert str(err.value).startswith("model 'face_landmark' is not built")
    assert "deepzoom models build face_landmark" in str(err.value)


def test_corrupt_model_is_detected_before_use(ir_copy):
    binf = ir_copy / "iris_landmark.bin"
    data = bytearray(binf.read_bytes())
    data[1000:1010] = b"\xff" * 10
    binf.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="iris_landmark' is corrupt.*deepzoom models build iris_landmark"):
        runtime.compile_model("iris_landmark", "CPU")


def test_missing_canonical_face_names_the_rebuild_command(ir_copy):
    (ir_copy / "canonical_face.npy").unlink()
    with pytest.raises(ModelError, match="deepzoom models build canonical_face"):
        load_canonical_face()


def test_unavailable_device_falls_back_to_cpu_with_one_log_line(caplog):
    if "NPU" in runtime.available_devices():
        pytest.skip("this machine has an NPU")
    with caplog.at_level(logging.WARNING, logger="obs_deepzoom.runtime"):
        assert runtime.resolve_device("NPU") == "CPU"
        assert runtime.resolve_device("NPU") == "CPU"
    assert sum("NPU is not available" in r.message for r in caplog.records) <= 1
    assert runtime.resolve_device("cpu") == "CPU"


def test_compile_cache_is_used():
    runtime.compile_model("face_landmark", "CPU")
    from obs_deepzoom import paths

    assert any(paths.compile_cache_dir().iterdir()), "OpenVINO wrote no compile cache"


def test_vad_separates_real_speech_from_silence():
    from obs_deepzoom.engine.models import SileroVad
    from obs_deepzoom.modelstore.verify import _speech_16k

    vad = SileroVad()
    speech = _speech_16k()
    probs = np.array([vad(speech[i:i + 512]) for i in range(0, len(speech) - 512, 512)])
    assert probs.max() > 0.9 and np.mean(probs > 0.5) > 0.5
    vad.reset()
    assert max(vad(np.zeros(512, np.float32)) for _ in range(20)) < 0.1
    with pytest.raises(ValueError, match="512 samples"):
        vad(np.zeros(100, np.float32))


def test_vad_streams_keep_their_own_state():
    """Two interleaved streams through one request equal two separate VADs (state and context per stream)."""
    from obs_deepzoom.engine.models import SileroVad
    from obs_deepzoom.modelstore.verify import _speech_16k

    speech = _speech_16k()[: 40 * 512]
    shared, a, b = SileroVad(streams=2), SileroVad(), SileroVad()
    for i in range(0, len(speech) - 512, 256):
        chunk = speech[i:i + 512]
        stream = (i // 256) % 2
        assert shared(chunk, stream) == pytest.approx((b if stream else a)(chunk), abs=1e-6)


def test_verify_runs_every_model_on_real_data():
    from obs_deepzoom.modelstore.verify import verify

    rows = verify(progress=lambda *_: None)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]
