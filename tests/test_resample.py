"""The streaming resampler (engine/audio/resample.py): spurs, block-size independence, constant delay."""

import numpy as np
import pytest
from scipy.signal.windows import kaiser

from obs_deepzoom.engine.audio.resample import StreamResampler

RATES = (16000, 44100, 48000)
PAIRS = [(a, b) for a in RATES for b in RATES if a != b]
ANALYSIS = 1 << 14  # samples analysed, at the end of the output
TONES = (0.05, 0.123, 0.25, 0.33, 0.4, 0.45)  # fractions of min(rate_in, rate_out)


def tone(rate: int, f: float, seconds: float) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * f * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def stream(r: StreamResampler, x: np.ndarray, sizes) -> np.ndarray:
    out, i = [], 0
    for n in sizes:
        out.append(r(x[i:i + n]))
        i += n
    return np.concatenate(out)


def worst_spur_db(y: np.ndarray, rate: int, f: float) -> float:
    """Strongest component outside the tone's main lobe, dB relative to the tone. Kaiser window with beta 20
    (side lobes ~-190 dB: a 4-term Blackman-Harris's -92 dB would hide spurs near the -90 dB limit) over the
    last 16384 samples, zero-padded 4x against scalloping; main lobe taken as +-8 bins."""
    n = ANALYSIS
    seg = y[len(y) - n:].astype(np.float64)
    spec = np.abs(np.fft.rfft(seg * kaiser(n, 20.0), 4 * n))
    freqs = np.fft.rfftfreq(4 * n, 1 / rate)
    lobe = np.abs(freqs - f) <= 8 * rate / n
    return float(20 * np.log10(spec[~lobe].max() / spec[lobe].max()))


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_tones_leave_no_spur_above_minus_90_db(rate_in, rate_out):
    low = min(rate_in, rate_out)
    worst = []
    for frac in TONES:
        r = StreamResampler(rate_in, rate_out)
        x = tone(rate_in, frac * low, 1.5)
        y = stream(r, x, [rate_in // 100] * 150)  # 10 ms blocks; the analysis skips the first >= 0.47 s
        assert len(y) >= ANALYSIS + rate_out * 0.45
        worst.append(worst_spur_db(y, rate_out, frac * low))
    assert max(worst) <= -90, dict(zip(TONES, np.round(worst, 1)))


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_output_does_not_depend_on_block_sizes(rate_in, rate_out):
    rng = np.random.default_rng(rate_in + rate_out)
    x = (rng.standard_normal(rate_in // 2) * 0.3).astype(np.float32)
    whole = StreamResampler(rate_in, rate_out)(x)
    sizes = list(rng.integers(0, 1500, 400))
    sizes[:4] = [1, 0, 2, 1]
    parts = stream(StreamResampler(rate_in, rate_out), x, sizes)
    n = min(len(whole), len(parts))
    assert n > 0.9 * len(whole)
    np.testing.assert_allclose(parts[:n], whole[:n], rtol=0, atol=1e-6)
    ones = stream(StreamResampler(rate_in, rate_out), x[:3000], [1] * 3000)  # sample by sample too
    np.testing.assert_allclose(ones, whole[: len(ones)], rtol=0, atol=1e-6)


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
@pytest.mark.parametrize("advance", [0, 7, 37])
def test_delay_is_constant_and_as_reported(rate_in, rate_out, advance):
    """Output k is the input at k / rate_out - delay_s (a 0.4 * min(rates) tone's phase pins the delay to
    within a nanosecond), and it comes out with the input sample floor((k M + advance) / L): the number of
    outputs after N inputs is a fixed function of N, whatever the blocks, so nothing is held back."""
    r = StreamResampler(rate_in, rate_out, advance=advance)
    up, down = r.up, r.down
    assert up * rate_in == down * rate_out and r.rate_f == rate_in * up
    assert r.delay_s > 0 and abs(r.delay_s * r.rate_f - round(r.delay_s * r.rate_f)) < 1e-6  # on the grid
    rng = np.random.default_rng(advance)
    f = 0.4 * min(rate_in, rate_out)
    x = tone(rate_in, f, 0.3)
    got, n_in = [], 0
    for n in rng.integers(1, 700, 10_000):
        got.append(r(x[n_in:n_in + n]))
        n_in += len(x[n_in:n_in + n])
        total = sum(map(len, got))
        assert total == max(0, (up * n_in - 1 - advance) // down + 1), n_in
        if n_in == len(x):
            break
    y = np.concatenate(got)
    t = np.arange(len(y)) / rate_out - r.delay_s
    ref = 0.5 * np.sin(2 * np.pi * f * t)
    steady = slice(rate_out // 100, None)  # after the filter has filled
    assert np.abs(y - ref)[steady].max() < 2e-4


def test_advance_shortens_the_delay_and_equal_rates_pass_through():
    a, b = StreamResampler(16000, 44100), StreamResampler(16000, 44100, advance=80)
    assert b.delay_s == pytest.approx(a.delay_s - 80 / a.rate_f)
    x = np.arange(10, dtype=np.float32)
    same = StreamResampler(48000, 48000)
    assert same.delay_s == 0 and np.array_equal(same(x), x)
    assert len(StreamResampler(48000, 16000)(x[:0])) == 0


@pytest.mark.parametrize("taps", [None, 63, 191, 400])
def test_taps_is_a_minimum_length(taps):
    r = StreamResampler(16000, 48000, taps)
    needed = len(StreamResampler(16000, 48000).taps)
    assert len(r.taps) % 2 == 1 and len(r.taps) >= max(needed, taps or 0)
