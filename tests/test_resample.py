"""The streaming resampler (engine/audio/resample.py): spurs, aliases and images, block-size independence,
constant delay."""

import numpy as np
import pytest
from scipy.signal.windows import kaiser

from obs_deepzoom.engine.audio.resample import StreamResampler

RATES = (16000, 44100, 48000)
PAIRS = [(a, b) for a in RATES for b in RATES if a != b]
ANALYSIS = 1 << 14  # samples analysed, at the end of the output
TONES = (0.05, 0.123, 0.25, 0.33, 0.4, 0.45)  # fractions of min(rate_in, rate_out)
# converting down: fractions of the band between the output's Nyquist and the input's (all must vanish)
ABOVE = (0.002, 0.01, 0.03, 0.1, 0.3, 0.6, 0.9, 0.99)
REPORTED = {(48000, 16000): (8200, 8500), (44100, 16000): (8200,), (48000, 44100): (22500,)}  # the review's
EDGE = (0.46, 0.48, 0.49, 0.499)  # fractions of rate_in: the transition band, whose images lie just above it


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


def worst_db_against_input(y: np.ndarray, rate: int, above: float, exclude: float | None = None) -> float:
    """Strongest component above `above` Hz (outside the main lobe at `exclude` Hz, if given), dB relative
    to the input tone's level (amplitude 0.5: a peak of 0.25 * the window's sum), same analysis as above."""
    n = ANALYSIS
    win = kaiser(n, 20.0)
    spec = np.abs(np.fft.rfft(y[len(y) - n:].astype(np.float64) * win, 4 * n))
    freqs = np.fft.rfftfreq(4 * n, 1 / rate)
    keep = freqs > above
    if exclude is not None:
        keep &= np.abs(freqs - exclude) > 8 * rate / n
    return float(20 * np.log10(spec[keep].max() / (0.25 * win.sum())))


def resampled(rate_in: int, rate_out: int, f: float) -> np.ndarray:
    y = stream(StreamResampler(rate_in, rate_out), tone(rate_in, f, 1.5), [rate_in // 100] * 150)
    assert len(y) >= ANALYSIS + rate_out * 0.45
    return y


@pytest.mark.parametrize("rate_in,rate_out", [(a, b) for a, b in PAIRS if a > b])
def test_tones_above_the_output_nyquist_do_not_fold_back(rate_in, rate_out):
    """Converting down, a tone between the output's Nyquist and the input's must be filtered out, not
    aliased into the output: everything left is <= -90 dB against the tone's level."""
    tones = [rate_out / 2 + d * (rate_in - rate_out) / 2 for d in ABOVE] + list(REPORTED.get((rate_in, rate_out), ()))
    worst = {round(f): worst_db_against_input(resampled(rate_in, rate_out, f), rate_out, 0) for f in tones}
    assert max(worst.values()) <= -90, {f: round(db, 1) for f, db in worst.items()}


@pytest.mark.parametrize("rate_in,rate_out", PAIRS)
def test_transition_band_leaves_no_alias_or_image(rate_in, rate_out):
    """Tones in the transition band (0.45..0.5 of the lower rate): converting up, their images above the
    input's Nyquist are <= -90 dB against the tone's level; converting down, so is anything but the tone."""
    low = min(rate_in, rate_out)
    worst = {}
    for frac in EDGE:
        f = frac * low
        y = resampled(rate_in, rate_out, f)
        worst[frac] = (worst_db_against_input(y, rate_out, rate_in / 2) if rate_out > rate_in
                       else worst_db_against_input(y, rate_out, 0, exclude=f))
    assert max(worst.values()) <= -90, {f: round(db, 1) for f, db in worst.items()}


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
    assert np.array_equal(parts[:n], whole[:n])  # bit for bit
    ones = stream(StreamResampler(rate_in, rate_out), x[:3000], [1] * 3000)  # sample by sample too
    assert np.array_equal(ones, whole[: len(ones)])


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
