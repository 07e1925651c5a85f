"""`deepzoom denoise` / `automute` / `devices` as a user runs them: outputs, one-line errors, no partial files."""

import json

import numpy as np
import pytest
import soundfile as sf
from test_cli import deepzoom, one_line_error

from obs_deepzoom.evaluate import audio_data
from obs_deepzoom.evaluate import audio_metrics as am


@pytest.fixture(scope="module")
def noisy_stereo_44k(tmp_path_factory):
    mx = next(m for m in audio_data.denoise_set(12) if m.noise == "music" and m.snr_db == 5)
    x = audio_data.to_rate(mx.noisy, audio_data.RATE, 44100)
    path = tmp_path_factory.mktemp("audio") / "noisy.wav"
    sf.write(str(path), np.stack([x, 0.8 * x], axis=1), 44100, subtype="PCM_16")
    return path, mx


def test_denoise_file_keeps_rate_channels_length_and_alignment(noisy_stereo_44k, tmp_path):
    src, mx = noisy_stereo_44k
    out = tmp_path / "clean.flac"
    r = deepzoom("denoise", src, "-o", out, "--mode", "light", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["mode"] == "light" and 30 <= summary["latency_ms"] <= 40
    y, rate = sf.read(str(out), dtype="float32", always_2d=True)
    info = sf.info(str(src))
    assert rate == 44100 and y.shape == (info.frames, 2)
    y16 = audio_data.to_rate(y[:, 0], 44100, audio_data.RATE)[: len(mx.clean)]
    assert am.si_sdr(y16, mx.clean) > am.si_sdr(mx.noisy, mx.clean) + 0.5  # misaligned by 36-40 ms: < -10 dB
    assert not list(tmp_path.glob(".*partial*"))


def test_automute_file_with_override(tmp_path):
    mx = audio_data.automute_set(noises=("machines",), talks=1, gap_s=1.5)[0]
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(src), mx.noisy, audio_data.RATE)
    r = deepzoom("automute", src, "-o", out, "--set", "automute.hangover_ms=200")
    assert r.returncode == 0, r.stderr
    y, _ = sf.read(str(out), dtype="float32")
    assert len(y) == len(mx.noisy)
    assert np.abs(y[: audio_data.RATE]).max() < 1e-3  # the noise-only lead is muted
    a, b = mx.spans[0]
    assert np.sqrt(np.mean(y[a:b] ** 2)) > 0.8 * np.sqrt(np.mean(mx.noisy[a:b] ** 2))


@pytest.mark.parametrize(
    "make, args, words",
    [
        (lambda p: p.write_text("hello"), [], ["not a readable audio file"]),
        (lambda p: sf.write(str(p), np.zeros((0, 1), np.float32), 16000), [], ["empty"]),
        (lambda p: sf.write(str(p), np.zeros(22050, np.float32), 22050), [], ["22050 Hz is not supported"]),
        (lambda p: sf.write(str(p), np.zeros((1600, 3), np.float32), 16000), [], ["3 channels"]),
        (lambda p: sf.write(str(p), np.zeros(1600, np.float32), 16000), ["--set", "denoise.mix=2"], ["denoise.mix"]),
        (lambda p: sf.write(str(p), np.zeros(1600, np.float32), 16000), ["--mode", "medium"], None),
    ],
)
def test_bad_audio_input_gives_one_clear_line_and_no_output(tmp_path, make, args, words):
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    make(src)
    r = deepzoom("denoise", src, "-o", out, *args)
    if words is None:  # argparse refuses the choice itself
        assert r.returncode == 2 and "invalid choice" in r.stderr
    else:
        one_line_error(r, *words)
    assert not out.exists() and not list(tmp_path.glob(".*partial*"))


def test_other_file_errors(tmp_path):
    one_line_error(deepzoom("denoise", tmp_path / "missing.wav", "-o", tmp_path / "o.wav"), "no such file")
    (tmp_path / "a.mp3").write_bytes(b"x")
    one_line_error(deepzoom("denoise", tmp_path / "a.mp3", "-o", tmp_path / "o.wav"), "unsupported audio file type")
    sf.write(str(tmp_path / "in.wav"), np.zeros(1600, np.float32), 16000)
    one_line_error(deepzoom("automute", tmp_path / "in.wav", "-o", tmp_path / "nodir" / "o.wav"),
                   "output directory does not exist")


def test_clipping_is_a_warning_not_an_error(tmp_path):
    src, out = tmp_path / "in.wav", tmp_path / "out.wav"
    x = np.clip(np.sin(np.arange(16000) / 5) * 3, -1, 1).astype(np.float32)
    sf.write(str(src), x, 16000)
    r = deepzoom("denoise", src, "-o", out)
    assert r.returncode == 0 and "warning:" in r.stderr and "clipped" in r.stderr
    assert out.exists()


def test_live_and_devices_without_pyaudio_say_what_to_install():
    try:
        import pyaudio  # noqa: F401
        pytest.skip("PyAudio is installed here")
    except ImportError:
        pass
    one_line_error(deepzoom("devices"), "PyAudio", "portaudio19-dev")
    one_line_error(deepzoom("denoise", "--live"), "PyAudio")
