"""Noise suppression and auto-mute on real speech and real noise, through the same streaming classes OBS uses."""

import numpy as np
import pytest

from obs_deepzoom.engine.audio.denoise import Denoise
from obs_deepzoom.engine.audio.resample import StreamResampler
from obs_deepzoom.engine.audio.stream import process_signal
from obs_deepzoom.evaluate import audio_data
from obs_deepzoom.evaluate import audio_metrics as am
from obs_deepzoom.settings import DenoiseSettings


@pytest.fixture(scope="module")
def mixture():
    """machines at 5 dB around an Italian prompt (real speech, real noise), 16 kHz."""
    return next(m for m in audio_data.denoise_set(12) if m.noise == "machines" and m.snr_db == 5)


def at(x16: np.ndarray, rate: int) -> np.ndarray:
    return audio_data.to_rate(x16, audio_data.RATE, rate)


def test_mixtures_are_deterministic_and_at_their_snr():
    a, b = audio_data.denoise_set(4), audio_data.denoise_set(4)
    assert [m.name for m in a] == [m.name for m in b]
    for m, n in zip(a, b):
        assert np.array_equal(m.noisy, n.noisy)
        (s0, s1), = m.spans
        noise = (m.noisy - m.clean)[s0:s1]
        snr = 10 * np.log10(np.mean(m.clean[s0:s1] ** 2) / np.mean(noise ** 2))
        assert abs(snr - m.snr_db) < 0.01 and np.abs(m.noisy).max() <= 0.7 + 1e-6


@pytest.mark.parametrize("mode", ["best", "light"])
def test_streaming_output_does_not_depend_on_block_size(mixture, mode):
    x = at(mixture.noisy[:32000], 48000)[None]
    offline = process_signal(Denoise(DenoiseSettings(mode=mode), 48000, 1), x, block=x.shape[1])
    for block in (128, 480, 1024, 4096):
        streamed = process_signal(Denoise(DenoiseSettings(mode=mode), 48000, 1), x, block=block)
        np.testing.assert_allclose(streamed, offline, atol=2e-5, err_msg=f"block {block}")


def test_latency_is_fixed_reported_and_within_budget():
    for rate in (16000, 44100, 48000):
        for mode in ("best", "light"):
            fx = Denoise(DenoiseSettings(mode=mode), rate, 2)
            # budget 40 ms at OBS's 48 kHz; other rates add the conversion to the network's rate and back (best:
            # 48 kHz), ~3.3 ms each way with an anti-alias filter of >= 100 dB over 0.45-0.5 of the lower rate
            assert 30 <= fx.latency_ms <= (40 if rate == 48000 else 48), (rate, mode, fx.latency_ms)
            out = fx.process(np.zeros((2, 1000), np.float32))
            assert out.shape == (2, 1000)


@pytest.mark.parametrize("rate", [44100, 48000])
def test_rates_improve_quality_and_keep_alignment(mixture, rate):
    y = process_signal(Denoise(DenoiseSettings(), rate, 1), at(mixture.noisy, rate)[None])[0]
    y16 = audio_data.to_rate(y, rate, audio_data.RATE)[: len(mixture.clean)]
    assert am.si_sdr(y16, mixture.clean) > am.si_sdr(mixture.noisy, mixture.clean) + 3  # misaligned: far less


def test_stereo_mono_mix_and_per_channel(mixture):
    left = at(mixture.noisy[:24000], 48000)
    right = at(mixture.clean[:24000], 48000) * 0.5
    x = np.stack([left, right])
    mixed = process_signal(Denoise(DenoiseSettings(), 48000, 2), x)
    assert mixed.shape == x.shape and np.array_equal(mixed[0], mixed[1])
    mono = process_signal(Denoise(DenoiseSettings(), 48000, 1), x.mean(0, keepdims=True))
    np.testing.assert_allclose(mixed[0], mono[0], atol=1e-6)
    per = process_signal(Denoise(DenoiseSettings(stereo="per_channel"), 48000, 2), x)
    for ch in range(2):
        alone = process_signal(Denoise(DenoiseSettings(), 48000, 1), x[ch:ch + 1])
        np.testing.assert_allclose(per[ch], alone[0], atol=1e-6)


def test_silence_in_silence_out_and_never_nan():
    fx = Denoise(DenoiseSettings(), 48000, 2)
    quiet = np.concatenate([fx.process(np.zeros((2, 1024), np.float32)) for _ in range(20)], axis=1)
    assert np.abs(quiet).max() < 1e-4  # below -80 dBFS
    rng = np.random.default_rng(0)
    nasty = [np.full((2, 1024), np.nan, np.float32), np.full((2, 512), np.inf, np.float32),
             np.sign(rng.standard_normal((2, 2048))).astype(np.float32),  # full-scale square-ish noise
             (rng.standard_normal((2, 1024)) * 10).astype(np.float32),  # far beyond full scale
             np.full((2, 100), 1e-39, np.float32), np.zeros((2, 0), np.float32)]
    for block in nasty * 2:
        out = fx.process(block)
        assert out.shape == block.shape and np.isfinite(out).all()
    speech = at(audio_data.speech("en/demo-thanks")[:16000], 48000)
    out = process_signal(fx, np.stack([speech, speech]))
    assert np.isfinite(out).all() and np.abs(out).max() > 0.05  # recovered after the garbage


def test_quality_regression_guard(mixture):
    y = audio_data.to_rate(process_signal(Denoise(DenoiseSettings(), 48000, 1), at(mixture.noisy, 48000)[None])[0],
                           48000, audio_data.RATE)
    noisy_pesq, pesq = am.pesq_wb(mixture.clean, mixture.noisy), am.pesq_wb(mixture.clean, y)
    gain = am.si_sdr(y, mixture.clean) - am.si_sdr(mixture.noisy, mixture.clean)
    assert pesq >= noisy_pesq + 0.3 and gain >= 4.0, (noisy_pesq, pesq, gain)
    assert am.stoi(mixture.clean, y) >= am.stoi(mixture.clean, mixture.noisy) - 0.01


def test_attenuation_limit_and_mix_keep_ambience(mixture):
    x = at(mixture.noisy[:16000], 48000)[None]  # the first 0.5 s are noise only
    full = process_signal(Denoise(DenoiseSettings(), 48000, 1), x)
    limited = process_signal(Denoise(DenoiseSettings(atten_limit_db=12), 48000, 1), x)
    half = process_signal(Denoise(DenoiseSettings(mix=0.5), 48000, 1), x)
    lead = slice(4800, 24000)

    def rms(v):
        return float(np.sqrt(np.mean(v[0, lead] ** 2)))
    assert rms(full) < rms(limited) < rms(x) and rms(full) < rms(half) < rms(x)
    off = process_signal(Denoise(DenoiseSettings(enabled=False), 48000, 1), x)
    np.testing.assert_allclose(off, x, atol=1e-7)


def test_upsampler_is_clean_and_block_independent():
    t = np.arange(16000) / 16000
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    for rate in (44100, 48000):
        whole = StreamResampler(16000, rate, 191)(x)
        r = StreamResampler(16000, rate, 191)
        parts = np.concatenate([r(x[i:i + 333]) for i in range(0, len(x), 333)])
        np.testing.assert_allclose(parts[: len(whole)], whole[: len(parts)], atol=1e-6)
        ref = np.sin(2 * np.pi * 1000 * (np.arange(len(whole)) / rate - r.delay_s))
        assert np.abs(whole - ref)[400:-400].max() < 0.01


def test_deepfilternet_port_matches_libdf(mixture):
    """Our numpy DSP + OpenVINO graphs, frame by frame, against DeepFilterNet's own libDF (the wheel's native
    library) on the same 48 kHz input: the same signal to within rounding (bf16 inference: 38-52 dB apart on
    real mixtures, f32: > 100 dB)."""
    from obs_deepzoom.engine.audio.dfn import DeepFilterNet
    from obs_deepzoom.evaluate.peers import libdf_signal

    x = at(mixture.noisy[:48000], 48000)
    ref = libdf_signal(x)
    net = DeepFilterNet("CPU")
    ours = net(np.concatenate([x, np.zeros(net.latency + (-len(x)) % net.HOP, np.float32)]))
    ours = ours[net.latency:net.latency + len(x)]
    assert am.si_sdr(ours, ref) > 30 and am.si_sdr(ref, at(mixture.clean[:48000], 48000)) > 5


def test_refinement_stage_streams_as_trained_and_keeps_dfn3_reachable(mixture):
    """`best` = DeepFilterNet3 + our refinement stage (dnpost.py): its band layout is DFN3's ERB rule at
    0-8 kHz, its state is explicit (reset gives the same output again), DFN3 alone stays reachable as the
    'dfn3' mode, and the stage changes DFN3's result only below 8 kHz and only a little where DFN3 is sure."""
    from obs_deepzoom.engine.audio import dnpost
    from obs_deepzoom.engine.audio.dfn import DeepFilterNet, erb_widths

    np.testing.assert_array_equal(dnpost.band_widths(), erb_widths(16000, 320, dnpost.BANDS, 2))
    assert dnpost.WEIGHTS.stat().st_size < 200_000
    x = at(mixture.noisy[:48000], 48000)
    pad = np.zeros(4 * 480, np.float32)
    plain, refined = DeepFilterNet("CPU"), DeepFilterNet("CPU", refine=True)
    a, b = plain(np.concatenate([x, pad])), refined(np.concatenate([x, pad]))
    refined.reset()
    np.testing.assert_array_equal(refined(np.concatenate([x, pad])), b)
    assert not np.allclose(a, b)
    high = np.abs(np.fft.rfft(a - b))[len(a) // 6 + len(a) // 100:]  # above ~8.3 kHz: untouched
    assert high.max() < 1e-3 * np.abs(np.fft.rfft(a)).max()
    y = {m: audio_data.to_rate(process_signal(Denoise(DenoiseSettings().model_copy(update={"mode": m}), 48000, 1),
                                              at(mixture.noisy, 48000)[None])[0], 48000, audio_data.RATE)
         for m in ("best", "dfn3")}
    assert am.si_sdr(y["best"], mixture.clean) > am.si_sdr(y["dfn3"], mixture.clean)
