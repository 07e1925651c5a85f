"""Benchmarks: `deepzoom bench NAME` prints a table and, with --json, one JSON object on its last line
(common keys: ms_median, ms_p95, fps, peak_rss_mb, peer, peer_kind, peer_ms_median, peer_ratio).

peer_kind says what the peer is: "outside" (someone else's implementation: MediaPipe, RNNoise, WebRTC's VAD,
OBS's own filter) or "own-baseline" (a simpler implementation of our own, where no outside peer runs offline)."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

import numpy as np


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1e3


def summary(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    med = float(np.median(a))
    return {"ms_median": round(med, 3), "ms_p95": round(float(np.percentile(a, 95)), 3),
            "fps": round(1000 / med, 1) if med > 0 else 0.0, "n": int(a.size)}


PEER_KINDS = ("outside", "own-baseline")


def peer_fields(ours_ms_median: float, peer_ms: list[float], name: str, kind: str) -> dict[str, object]:
    """Peer keys: the peer's name and kind, its median/p95 and ours / peer (< 1: we are faster)."""
    if kind not in PEER_KINDS:
        raise ValueError(f"peer kind {kind!r} is not one of {PEER_KINDS}")
    if not peer_ms:
        return {}
    p = summary(peer_ms)
    return {"peer": name, "peer_kind": kind, "peer_ms_median": p["ms_median"], "peer_ms_p95": p["ms_p95"],
            "peer_ratio": round(ours_ms_median / p["ms_median"], 3)}
