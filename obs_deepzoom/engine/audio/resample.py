"""Streaming sample-rate conversion for model inputs (e.g. 48 kHz -> 16 kHz): windowed-sinc low-pass then
fractional (linear) interpolation, with state carried across blocks of any size."""

from __future__ import annotations

import numpy as np


def lowpass_taps(cutoff: float, taps: int = 63) -> np.ndarray:
    """Windowed-sinc FIR, cutoff as a fraction of the input rate (0..0.5)."""
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(taps)
    return (h / h.sum()).astype(np.float32)


class StreamResampler:
    def __init__(self, rate_in: int, rate_out: int, taps: int = 63):
        self.rate_in, self.rate_out = rate_in, rate_out
        self.step = rate_in / rate_out
        self.taps = lowpass_taps(0.45 * min(1.0, rate_out / rate_in), taps) if rate_in != rate_out else None
        self._hist = np.zeros((len(self.taps) - 1) if self.taps is not None else 0, np.float32)
        self._buf = np.zeros(0, np.float32)  # filtered samples not yet consumed
        self._pos = 0.0  # next output position within _buf

    @property
    def delay_s(self) -> float:
        return 0.0 if self.taps is None else (len(self.taps) - 1) / 2 / self.rate_in

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float32)
        if self.taps is None:
            return x.copy()
        padded = np.concatenate([self._hist, x])
        filtered = np.convolve(padded, self.taps, mode="valid").astype(np.float32)
        self._hist = padded[len(padded) - len(self._hist):]
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
