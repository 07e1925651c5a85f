"""Run a streaming audio effect over a whole signal the way OBS feeds it: fixed-size blocks, then the
latency flushed with silence and dropped, so the result is time-aligned with the input."""

from __future__ import annotations

import numpy as np

OBS_BLOCK = 1024  # frames per filter_audio call in OBS


def process_signal(effect, x: np.ndarray, block: int = OBS_BLOCK) -> np.ndarray:
    """x: float32 (channels, n) -> the effect's output (channels, n), latency compensated."""
    x = np.asarray(x, np.float32)
    delay = int(round(effect.latency_ms * effect.rate / 1000))
    padded = np.concatenate([x, np.zeros((x.shape[0], delay), np.float32)], axis=1)
    out = [effect.process(padded[:, i:i + block]) for i in range(0, padded.shape[1], block)]
    return np.concatenate(out, axis=1)[:, delay:delay + x.shape[1]] if out else x[:, :0]
