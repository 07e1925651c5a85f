"""A small refinement stage of our own after DeepFilterNet3 (weights in dnpost_weights.npz, trained by
tools/train_dnpost.py): per 10 ms hop, real gains for 32 bands of 0-8 kHz that rescale DFN3's enhanced
frame and add back a share of the noisy frame, from log band powers of the noisy frame (the frame being
output and the two newer ones DFN3 already looked at: no added latency) and of DFN3's result, through a
dense layer and a GRU (state held here, explicit).

    out[f] = g_enh[band(f)] * dfn3[f] + g_noisy[band(f)] * noisy[f]     for bins f < 161 (0-8 kHz)
    out[f] = dfn3[f]                                                   above

applied at STRENGTH 0.5: gains halfway between 1 / 0 (DFN3 alone) and the trained ones.

Pure numpy (a few small matrix-vector products per hop, ~0.05 ms)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("dnpost_weights.npz")
BINS = 161  # 0..8 kHz at 50 Hz per bin (960-point frames at 48 kHz)
BANDS = 32
ALPHA = 0.99  # exponential mean of the noisy band levels, per hop
MEAN0 = -70.0  # its start (dB)
GAIN_MAX = 1.5  # g_enh in [0, GAIN_MAX], g_noisy in [0, 1]
FLOOR = 1e-10
# How far the trained gains move DFN3's result (1: all the way; 0: DFN3 alone): chosen on our validation set
# (40 held-out mixtures, never the evaluation's): PESQ-WB / SI-SDR 1.797 / 9.68 dB at 0.3, 1.800 / 10.15 at
# 0.5, 1.793 / 10.46 at 0.7, 1.762 / 10.58 at 1 (DFN3 alone 1.733 / 8.73)
STRENGTH = 0.5


def band_widths() -> np.ndarray:
    """32 bands over bins 0..160, equal steps on the ERB scale, at least 2 bins each
    (= dfn.erb_widths(16000, 320, 32, 2), written out so the training tool needs no OpenVINO)."""
    return np.array([2] * 20 + [3, 6, 7, 7, 8, 8, 10, 12, 12, 14, 16, 18])


def features(db_noisy3: np.ndarray, mean: np.ndarray, db_enh: np.ndarray) -> np.ndarray:
    """Input vector(s) from the noisy band levels (dB) of frames t, t+1, t+2 (axis -2), the running mean of
    the noisy levels at t+2, and the enhanced frame t's band levels. Works on leading batch axes."""
    rel = (db_noisy3 - mean[..., None, :]) / 40
    gain = np.clip((db_enh - db_noisy3[..., 0, :]) / 20, -4, 1)
    level = (db_enh - mean) / 40
    return np.concatenate([rel[..., 0, :], rel[..., 1, :], rel[..., 2, :], gain, level], axis=-1)


@lru_cache(maxsize=2)
def load(path: str = str(WEIGHTS)) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k].astype(np.float32) for k in z.files}


class DnPost:
    """Streaming refinement: call once per hop with the newest noisy frame (for the levels), the noisy frame
    being output and DFN3's enhanced version of it; returns the refined frame (all bins)."""

    def __init__(self, lookahead: int, weights: dict[str, np.ndarray] | None = None):
        """lookahead: hops between the newest noisy frame and the frame being output; the first `lookahead`
        calls (output frames before the stream's start) only fill the level history."""
        self.lookahead = lookahead
        w = weights or load()
        self.w = w
        self.widths = band_widths()
        self.hidden = w["gru_uh"].shape[1]
        self.noisy_max = float(w.get("noisy_max", 1.0))  # the noisy path's ceiling the weights were trained with
        self.strength = STRENGTH
        band = np.repeat(np.arange(BANDS), self.widths)
        self._band_mean = ((band[:, None] == np.arange(BANDS)) / self.widths).astype(np.float32)  # (BINS, BANDS)
        self._x = np.zeros(w["in_w"].shape[1], np.float32)
        self._bin_band = np.stack([band, BANDS + band])
        self._two = np.zeros((2, BINS), np.complex64)
        self._ha = np.zeros(self.hidden + w["in_w"].shape[0], np.float32)
        self.reset()

    def reset(self) -> None:
        self.mean = np.full(BANDS, MEAN0, np.float32)
        self.db = np.full((3, BANDS), MEAN0, np.float32)  # noisy band levels of frames t, t+1, t+2
        self.h = np.zeros(self.hidden, np.float32)
        self.calls = 0

    def __call__(self, newest: np.ndarray, noisy: np.ndarray, enh: np.ndarray) -> np.ndarray:
        w, n = self.w, self.hidden
        two = self._two
        two[0], two[1] = newest[:BINS], enh[:BINS]
        p = two.real ** 2 + two.imag ** 2
        db = 10 * np.log10(p @ self._band_mean + FLOOR)
        self.mean = db[0] * (1 - ALPHA) + self.mean * ALPHA
        self.db[:-1] = self.db[1:]
        self.db[-1] = db[0]
        self.calls += 1
        if self.calls <= self.lookahead:
            return enh
        x = self._x  # = features(self.db, self.mean, db[1]), written in place
        x[:3 * BANDS] = ((self.db - self.mean) * (1 / 40)).ravel()
        x[3 * BANDS:4 * BANDS] = np.minimum(np.maximum((db[1] - self.db[0]) * (1 / 20), -4), 1)
        x[4 * BANDS:] = (db[1] - self.mean) * (1 / 40)
        a = np.maximum(w["in_w"] @ x + w["in_b"], 0)
        # GRU (update gate z, reset gate r, candidate c), PyTorch's convention
        gi = w["gru_wi"] @ a + w["gru_bi"]
        gh = w["gru_uh"] @ self.h + w["gru_bh"]
        zr = 0.5 + 0.5 * np.tanh(0.5 * (gi[:2 * n] + gh[:2 * n]))
        c = np.tanh(gi[2 * n:] + zr[n:] * gh[2 * n:])
        self.h = c + zr[:n] * (self.h - c)
        self._ha[:n], self._ha[n:] = self.h, a
        g = (0.5 + 0.5 * np.tanh(0.5 * (w["out_w"] @ self._ha + w["out_b"])))[self._bin_band]
        ge, gn = GAIN_MAX * g[0], self.noisy_max * g[1]
        if self.strength != 1.0:
            ge, gn = 1 + self.strength * (ge - 1), self.strength * gn
        out = enh.copy()
        out[:BINS] = ge * enh[:BINS] + gn * noisy[:BINS]
        return out
