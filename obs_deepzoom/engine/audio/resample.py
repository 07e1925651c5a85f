"""Streaming sample-rate conversion between the OBS rate and a model's rate, with state carried across blocks
of any size (the output never depends on how the input was cut into blocks) and a fixed, reported delay.

Exact rational polyphase conversion: with rate_out / rate_in = L / M in lowest terms, the input is (virtually)
zero-stuffed by L to rate_f = rate_in * L, low-pass filtered there by one linear-phase FIR, and every M-th
filtered sample is kept. Only the kept samples are computed, each as a dot product of the last K input
samples with one of the L phases of the filter (K = filter length / L). There is no interpolation between
filtered samples, so the only spurs left are the filter's stopband (>= ATTEN_DB down) and float32 rounding.

Band: flat to 0.45 * min(rate_in, rate_out), >= ATTEN_DB down from 0.5 * min(rate_in, rate_out) on: nothing
above the output's Nyquist folds back when converting down, and the images of the input spectrum (above the
input's Nyquist) are removed when converting up. Filter: equiripple (Lawson's iteratively reweighted least
squares, passband ripple <= PASS_DEV), which needs ~20 % fewer taps, so less delay, than a Kaiser-windowed
sinc. Where rate_f is far above the band (every pair but 16 <-> 48 kHz) it is designed at rate_f / q (a few
hundred taps) and interpolated to rate_f by a short Kaiser-windowed sinc that removes its images.

Timing: the filter is linear-phase with its centre on the rate_f grid, so output sample k is the input
signal at time k / rate_out - delay_s, and it is returned by the call that brings input sample
floor((k * M + advance) / L), never later: the delay is constant whatever the block sizes. (soxr's
streaming resampler was measured for this job and rejected: it holds back 6 to 58 ms of output by
varying amounts, depending on the rate pair.)"""

from __future__ import annotations

import functools
import math

import numpy as np

from ...errors import DeepZoomError

ATTEN_DB = 105.0  # stopband attenuation (measured spurs: see docs/audio.md, Resampling)
PASS = 0.45  # passband edge, fraction of the lower rate
STOP = 0.5  # stopband edge, fraction of the lower rate (the lower rate's Nyquist)
PASS_DEV = 2e-4  # passband ripple of the equiripple design (+-0.0017 dB)
CHUNK = 4096  # outputs computed per batch (bounds the memory of the gathered windows)
FEW_PHASES = 8  # up to this many phases, strided views per phase instead of gathering


def _minimax(n: int, pass_edge: float, stop_edge: float, stop_weight: float, iters: int = 30) -> np.ndarray:
    """Odd-length linear-phase low-pass (edges in rad/sample), minimax error weighted 1 in the passband and
    `stop_weight` in the stopband, by Lawson's algorithm: weighted least squares on a dense grid, each
    point's weight multiplied by its weighted error every round."""
    m = (n - 1) // 2
    step = np.pi / (16 * m)
    w = np.concatenate([np.arange(0, pass_edge, step), [pass_edge], np.arange(stop_edge, np.pi, step), [np.pi]])
    want = (w <= pass_edge).astype(np.float64)
    scale = np.where(w <= pass_edge, 1.0, stop_weight)
    cos2 = np.cos(np.outer(w, np.arange(2 * m + 1)))
    basis = cos2[:, : m + 1]  # amplitude = basis @ c
    j, k = np.indices((m + 1, m + 1))
    weight = np.full(len(w), 1 / len(w))
    for _ in range(iters):
        # normal equations: sum_i weight_i cos(j w_i) cos(k w_i) = (r[|j - k|] + r[j + k]) / 2
        r = weight @ cos2
        c = np.linalg.solve((r[abs(j - k)] + r[j + k]) / 2, (weight * want) @ basis)
        weight *= scale * np.abs(basis @ c - want)
        weight /= weight.sum()
    return np.concatenate([c[:0:-1] / 2, [c[0]], c[1:] / 2])


def _bands_met(h: np.ndarray, pass_edge: float, stop_edge: float, atten_db: float) -> bool:
    spec = np.abs(np.fft.rfft(h, max(1 << 16, 16 * len(h))))
    w = np.linspace(0, np.pi, len(spec))
    return bool(np.abs(spec[w <= pass_edge] - 1).max() <= PASS_DEV
                and spec[w >= stop_edge].max() <= 10 ** (-atten_db / 20))


def _kaiser(n: int, cut: float, atten_db: float) -> np.ndarray:
    """Kaiser-windowed sinc, `cut` in cycles per sample, unit DC gain."""
    t = np.arange(n) - (n - 1) / 2
    h = 2 * cut * np.sinc(2 * cut * t) * np.kaiser(n, 0.1102 * (atten_db - 8.7))
    return h / h.sum()


@functools.lru_cache(maxsize=16)
def _lowpass(rate_f: int, low: int, least: int, atten_db: float) -> np.ndarray:
    """The prototype at rate_f for conversions to or from `low` (both directions share it), at least `least`
    taps long, DC gain 1 +- PASS_DEV."""
    # the equiripple filter is designed at rate_f / q >= 4 * low (or at rate_f itself: 16 <-> 48 kHz), where it
    # is a few hundred taps long, then interpolated to rate_f by a short Kaiser low-pass flat up to STOP * low
    # and >= atten_db + 10 dB down from the first image of the passband (rate_f / q - STOP * low) on
    q = max(1, rate_f // (4 * low))
    if q > 1:
        edge, image = STOP * low / rate_f, 1 / q - STOP * low / rate_f  # cycles per sample at rate_f
        n_g = math.ceil((atten_db + 10 - 7.95) / (2.285 * 2 * math.pi * (image - edge))) + 1
        interp = _kaiser(n_g + 1 - n_g % 2, (edge + image) / 2, atten_db + 10)
    else:
        interp = np.ones(1)
    pass_edge, stop_edge = 2 * math.pi * PASS * low * q / rate_f, 2 * math.pi * STOP * low * q / rate_f
    weight = PASS_DEV / 10 ** (-atten_db / 20)
    # Kaiser's length estimate for equiripple designs, then longer until both bands are met (a few tries)
    db = -10 * math.log10(PASS_DEV * 10 ** (-atten_db / 20))
    n = math.ceil((db - 13) / (14.6 * (stop_edge - pass_edge) / (2 * math.pi))) + 5  # (+4: it runs ~4 short)
    n = max(n, math.ceil((least - len(interp)) / q) + 1)
    n += 1 - n % 2
    while not _bands_met(h := _minimax(n, pass_edge, stop_edge, weight), pass_edge, stop_edge, atten_db):
        n += 2
    stuffed = np.zeros(q * (n - 1) + 1)
    stuffed[::q] = h
    h = np.convolve(stuffed, interp)
    h.flags.writeable = False
    return h


def design(rate_in: int, rate_out: int, taps: int | None = None, atten_db: float = ATTEN_DB):
    """(L, M, prototype filter at rate_in * L with unit DC gain per phase, to within the passband ripple).
    `taps`: minimum filter length in samples of the higher rate (the length needed for `atten_db` over the
    PASS..STOP transition is used when it is longer). The length is odd so that the centre, the group delay,
    falls on a whole sample."""
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    rate_f = rate_in * up
    least = round(taps * rate_f / max(rate_in, rate_out)) if taps else 0
    return up, down, _lowpass(int(rate_f), int(min(rate_in, rate_out)), int(least), float(atten_db)) * up


class StreamResampler:
    """rate_in -> rate_out, any block sizes. `taps`: minimum filter length in samples of the higher rate
    (None: just what the stopband needs). `advance` (in samples of rate_f = rate_in * L, rounded to a whole
    one) makes the output that much earlier, i.e. the delay shorter: use it to make a chain's total delay a
    whole number of output samples. `atten_db`: the stopband (a consumer that only analyses the signal, like a
    voice detector, can take less, and with it less delay)."""

    def __init__(self, rate_in: int, rate_out: int, taps: int | None = None, advance: float = 0.0,
                 atten_db: float = ATTEN_DB):
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        if self.rate_in <= 0 or self.rate_out <= 0:
            raise ValueError(f"rates must be positive, got {rate_in} -> {rate_out}")
        if self.rate_in == self.rate_out:
            self.up = self.down = 1
            self.taps = None
            self.rate_f = self.rate_in
            self.advance = 0
            return
        self.up, self.down, self.taps = design(self.rate_in, self.rate_out, taps, atten_db)
        self.rate_f = self.rate_in * self.up
        self.advance = int(round(advance))
        self._centre = (len(self.taps) - 1) // 2
        k = -(-len(self.taps) // self.up)  # input samples per output (taps per phase)
        padded = np.zeros(k * self.up)
        padded[: len(self.taps)] = self.taps
        # phase p, column j multiplies input sample i - (k - 1 - j) for the output at position i * L + p
        self._phases = np.ascontiguousarray(padded.reshape(k, self.up).T[:, ::-1], dtype=np.float32)
        self._k = k
        # zeros before the first input sample, enough for the first output's window (more if advance < 0)
        lead = k - 1 + max(0, -(-max(0, -self.advance) // self.up))
        self._buf = np.zeros(lead, np.float32)
        self._pos = lead * self.up + self.advance  # next output's position in rate_f samples, from _buf[0]

    @property
    def delay_s(self) -> float:
        """Constant delay of the output against the input: the filter's group delay minus the advance."""
        if self.taps is None:
            return 0.0
        return (self._centre - self.advance) / self.rate_f

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if self.taps is None or not len(x):
            return x.copy()
        buf = np.concatenate([self._buf, x])
        up, down, k, pos = self.up, self.down, self._k, self._pos
        last = up * len(buf) - 1  # the latest position the input received so far covers
        n_out = (last - pos) // down + 1 if last >= pos else 0
        out = np.empty(n_out, np.float32)
        step = buf.strides[0]
        if up <= FEW_PHASES:
            # outputs c, c + up, c + 2 up, ... share a phase and sit `down` input samples apart: one strided
            # view of the input per phase, no gathering
            for c in range(min(up, n_out)):
                p = pos + down * c
                row, n = p // up - (k - 1), (n_out - c + up - 1) // up
                rows = np.ndarray((n, k), np.float32, buf, row * step, (down * step, step))
                out[c::up] = np.einsum("nk,k->n", rows, self._phases[p % up])
        else:
            # row r = buf[r : r + k] (a view); gather each output's row and phase
            windows = np.ndarray((max(0, len(buf) - k + 1), k), np.float32, buf, 0, (step, step))
            for a in range(0, n_out, CHUNK):
                p = pos + down * np.arange(a, min(a + CHUNK, n_out), dtype=np.int64)
                out[a:a + len(p)] = np.einsum("nk,nk->n", windows[p // up - (k - 1)], self._phases[p % up])
        self._pos += down * n_out
        drop = min(self._pos // up - (k - 1), len(buf))
        self._buf = buf[drop:]
        self._pos -= drop * up
        return out


def to_rate(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Offline high-quality rate change (polyphase) for building and scoring data; not the streaming path."""
    if rate_in == rate_out:
        return np.asarray(x, np.float32)
    from math import gcd

    try:
        from scipy.signal import resample_poly
    except ImportError as exc:
        raise DeepZoomError("offline resampling needs scipy (the test extra): pip install -e '.[test]'") from exc

    g = gcd(rate_in, rate_out)
    return resample_poly(x, rate_out // g, rate_in // g, axis=-1).astype(np.float32)
