"""The distilled student of denoise `best` (tools/student_net.py, development only: not shipped, see
docs/audio.md): weights, the OpenVINO model built from them, streaming, and that it denoises real speech in
real noise. Offline, a few seconds."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import student_net as st  # noqa: E402

from obs_deepzoom.engine.audio.denoise import NETS, Denoise  # noqa: E402
from obs_deepzoom.engine.audio.stream import process_signal  # noqa: E402
from obs_deepzoom.evaluate import audio_data  # noqa: E402
from obs_deepzoom.evaluate import audio_metrics as am  # noqa: E402
from obs_deepzoom.settings import DenoiseSettings  # noqa: E402


@pytest.fixture(scope="module")
def mixture():
    """machines at 5 dB around an Italian prompt (real speech, real noise), 16 kHz."""
    return next(m for m in audio_data.denoise_set(12) if m.noise == "machines" and m.snr_db == 5)


def test_weights_load_small_and_finite():
    w = st.load()
    assert st.WEIGHTS.stat().st_size < 1_500_000
    assert all(np.isfinite(v).all() for v in w.values())
    h = w["gru_uh"].shape[1]
    assert w["in_w"].shape[1] == st.BANDS + st.NLOW and w["gru_wi"].shape[0] == 3 * h
    assert w["out_w"].shape[0] == st.BANDS + st.ORDER * st.NDF * 2
    assert 10_000 < st.parameters(w) < 400_000


def _reference(w: dict, x: np.ndarray) -> np.ndarray:
    """The student over a whole 16 kHz signal in numpy, as tools/train_student.py trains it (all frames at
    once, the GRU unrolled here): the output frame t uses the network's step t + 1."""
    frames = len(x) // st.HOP + 1
    pad = np.concatenate([np.zeros(st.WIN - st.HOP, np.float32), x, np.zeros(st.WIN, np.float32)])
    win = st.vorbis_window()
    spec = np.fft.rfft(pad[np.arange(frames)[:, None] * st.HOP + np.arange(st.WIN)] * win, axis=1)
    band, low = st.levels(spec.real ** 2 + spec.imag ** 2)
    mean, m = np.empty_like(band), np.full(st.BANDS, st.MEAN0)
    for t, b in enumerate(band):
        m = b * (1 - st.ALPHA) + m * st.ALPHA
        mean[t] = m
    feats = st.features(band, low, mean)
    hid = w["gru_uh"].shape[1]
    h, outs = np.zeros(hid), []

    def sig(v):
        return 1 / (1 + np.exp(-v))

    for f in feats:
        a = np.maximum(w["in_w"] @ f + w["in_b"], 0)
        gi, gh = w["gru_wi"] @ a + w["gru_bi"], w["gru_uh"] @ h + w["gru_bh"]
        z, r = sig(gi[:hid] + gh[:hid]), sig(gi[hid:2 * hid] + gh[hid:2 * hid])
        c = np.tanh(gi[2 * hid:] + r * gh[2 * hid:])
        h = (1 - z) * c + z * h
        outs.append(w["out_w"] @ np.concatenate([h, a]) + w["out_b"])
    o = np.array(outs)[1:]  # frame t from step t + 1
    gains = st.GAIN_MAX * sig(o[:, :st.BANDS])
    taps = o[:, st.BANDS:].reshape(-1, st.ORDER, st.NDF, 2)
    taps = taps[..., 0] + 1j * taps[..., 1]
    n = frames - 1
    y = gains[:, st.band_of_bin()] * spec[:n]
    past = np.concatenate([np.zeros((st.ORDER - 1 - st.LOOK, st.NDF)), spec[:, :st.NDF]])
    y[:, :st.NDF] += sum(taps[:, k] * past[k:k + n] for k in range(st.ORDER))
    out = np.zeros((n + 1) * st.HOP)
    for t, fr in enumerate(np.fft.irfft(y, st.WIN, axis=1) * win):
        out[t * st.HOP:t * st.HOP + st.WIN] += fr
    return out[st.WIN - st.HOP:][: len(x)]  # frame t starts HOP samples before sample t * HOP


def test_openvino_model_streams_like_the_whole_signal_reference(mixture):
    x = mixture.noisy[:24000]
    w = st.load()
    net = st.Student("CPU", 1)
    assert net.latency == st.WIN - st.HOP + st.LOOK * st.HOP  # 20 ms at 16 kHz
    blocks = [st.HOP * k for k in (1, 3, 7, 2, 30)]
    parts, i = [], 0
    for b in blocks * 100:  # hop multiples of different sizes, as the effect's FIFO hands them
        if i >= len(x) - b:
            break
        parts.append(net(x[i:i + b]))
        i += b
    streamed = np.concatenate(parts)
    ref = _reference(w, x[:i])
    lat = net.latency
    np.testing.assert_allclose(streamed[lat:], ref[: i - lat], atol=2e-4 * np.abs(ref).max())
    net.reset()  # reset repeats the output exactly (all state explicit)
    np.testing.assert_array_equal(net(x[:4800]), st.Student("CPU", 1)(x[:4800]))


def test_effect_block_size_does_not_matter_and_improves_snr(mixture, monkeypatch):
    monkeypatch.setitem(NETS, "student", lambda device, threads: st.Student(device, threads))  # as the tool does
    x = audio_data.to_rate(mixture.noisy, audio_data.RATE, 48000)[None]
    fx = Denoise(DenoiseSettings().model_copy(update={"mode": "student"}), 48000, 1)
    assert fx.latency_ms <= 40
    y = process_signal(fx, x)
    y2 = process_signal(Denoise(DenoiseSettings().model_copy(update={"mode": "student"}), 48000, 1), x, block=480)
    np.testing.assert_allclose(y2, y, atol=2e-5)
    y16 = audio_data.to_rate(y[0], 48000, audio_data.RATE)[: len(mixture.clean)]
    before, after = am.si_sdr(mixture.noisy, mixture.clean), am.si_sdr(y16, mixture.clean)
    assert after > before + 4, (before, after)
