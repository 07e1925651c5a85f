"""Streaming sample-rate conversion between the OBS rate and a model's rate, with state carried across blocks
of any size (the output never depends on how the input was cut into blocks).

Down (e.g. 48 kHz -> 16 kHz): windowed-sinc low-pass at the input rate, then fractional (linear)
interpolation. Up (e.g. 16 kHz -> 44.1/48 kHz): zero-stuffing by an integer factor L with a windowed-sinc
interpolation filter (so the images above the input band are removed), then linear interpolation from
rate_in * L to the output rate (exact for 16 -> 48 kHz, where that step is 1)."""

from __future__ import annotations

import math

import numpy as np


def lowpass_taps(cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc FIR, cutoff as a fraction of the input rate (0..0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
    return (h / h.sum()).astype(np.float32)


class StreamResampler:
    """`taps` is the filter length at the filtering rate (the input rate, or rate_in * L when upsampling);
    `advance` starts the interpolation that many filtered samples late, i.e. the output earlier: use it to
    make a chain's total delay a whole number of output samples."""

    def __init__(self, rate_in: int, rate_out: int, taps: int = 63, advance: float = 0.0):
        self.rate_in, self.rate_out = rate_in, rate_out
        self.up = max(1, math.ceil(rate_out / rate_in)) if rate_out > rate_in else 1
        self.rate_f = rate_in * self.up  # rate of the filtered signal that is interpolated
        self.step = self.rate_f / rate_out
        if rate_in == rate_out:
            self.taps = None
        else:
            cutoff = 0.45 * min(rate_in, rate_out) / self.rate_f
            self.taps = lowpass_taps(cutoff, taps) * np.float32(self.up)  # gain L makes up for the zeros
        self._hist = np.zeros((len(self.taps) - 1) if self.taps is not None else 0, np.float32)
        self._buf = np.zeros(0, np.float32)  # filtered samples not yet consumed
        self.advance = float(advance) if self.taps is not None else 0.0
        self._pos = self.advance  # next output position within _buf

    @property
    def delay_s(self) -> float:
        """Group delay of the filter (linear phase), minus the advance."""
        if self.taps is None:
            return 0.0
        return ((len(self.taps) - 1) / 2 - self.advance) / self.rate_f

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if self.taps is None or not len(x):  # (np.convolve would swap its arguments for an empty block)
            return x.copy()
        if self.up > 1:
            stuffed = np.zeros(len(x) * self.up, np.float32)
            stuffed[:: self.up] = x
            x = stuffed
        padded = np.concatenate([self._hist, x])
        filtered = np.convolve(padded, self.taps, mode="valid").astype(np.float32)
        self._hist = padded[len(padded) - len(self._hist):]
        if self.step == 1.0 and self._pos == 0.0 and not len(self._buf):
            return filtered
        buf = np.concatenate([self._buf, filtered])
        n_out = int(np.floor((len(buf) - 1 - self._pos) / self.step)) + 1 if len(buf) > self._pos else 0
        pos = self._pos + self.step * np.arange(max(n_out, 0))
        i = pos.astype(np.int64)
        frac = (pos - i).astype(np.float32)
        nxt = np.minimum(i + 1, len(buf) - 1)
        out = buf[i] * (1 - frac) + buf[nxt] * frac
        consumed = int(np.floor(self._pos + self.step * max(n_out, 0)))
        consumed = min(consumed, len(buf) - 1) if len(buf) else 0
        self._pos = self._pos + self.step * max(n_out, 0) - consumed
        self._buf = buf[consumed:]
        return out.astype(np.float32)

