"""What every `deepzoom bench` result must satisfy, beyond having its keys: the figures agree with each other."""

from __future__ import annotations

import math

PEER_KINDS = ("outside", "own-baseline")


def check_bench(res: dict, peer_kind: str | None, ours: str = "ms_median") -> None:
    """`peer_kind` None: the run had no peer. `ours`: the key the peer ratio divides (ours / peer)."""
    assert res["ms_median"] > 0 and res["ms_p95"] >= res["ms_median"], res
    ms = res["ms_median"]  # rounded to 3 decimals, fps from the unrounded median: allow that rounding
    low, high = 1000 / (ms + 5e-4), 1000 / max(ms - 5e-4, 1e-6)
    assert low * (1 - 1e-3) - 0.06 <= res["fps"] <= high * (1 + 1e-3) + 0.06, (res["fps"], ms)
    assert 50 < res["peak_rss_mb"] < 8000, res["peak_rss_mb"]
    for key, value in res.items():
        if key.endswith("_pct"):
            assert 0 <= value <= 100, (key, value)
    if peer_kind is None:
        assert "peer" not in res and "peer_ratio" not in res
        return
    assert res["peer_kind"] == peer_kind and peer_kind in PEER_KINDS
    assert isinstance(res["peer"], str) and res["peer"]
    assert res["peer_ms_median"] > 0
    if "peer_ms_p95" in res:
        assert res["peer_ms_p95"] >= res["peer_ms_median"]
    assert math.isclose(res["peer_ratio"], res[ours] / res["peer_ms_median"], rel_tol=2e-3, abs_tol=1.5e-3), (
        res["peer_ratio"], res[ours], res["peer_ms_median"])
