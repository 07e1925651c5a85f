"""The worker that keeps inference off OBS's threads; no OBS needed."""

import time

import numpy as np

from obs_deepzoom.obs.worker import FrameWorker


def test_fast_work_returns_the_same_frames_result():
    w = FrameWorker(lambda f: f + 1)
    for i in range(5):
        out = w.exchange(np.full(4, i, np.uint8), budget_ms=500)
        assert out is not None and out[0] == i + 1
    w.close()


def test_slow_work_never_blocks_beyond_the_budget_and_degrades():
    def slow(f):
        time.sleep(0.05)
        return f * 2

    w = FrameWorker(slow, max_age=3)
    waits = []
    outs = []
    for i in range(20):
        t = time.perf_counter()
        outs.append(w.exchange(np.full(1, i, np.int32), budget_ms=5))
        waits.append((time.perf_counter() - t) * 1e3)
        time.sleep(0.01)
    w.close()
    assert max(waits) < 30  # budget 5 ms plus scheduling slack, never the 50 ms of the work
    assert w.stats["dropped"] > 0 and w.stats["processed"] < 20
    got = [o for o in outs if o is not None]
    assert got and all(o[0] % 2 == 0 for o in got)  # reused (late) results are real results


def test_failure_means_passthrough_and_is_reported():
    def boom(f):
        raise RuntimeError("model exploded")

    w = FrameWorker(boom)
    assert w.exchange(np.zeros(1), budget_ms=200) is None
    assert "model exploded" in w.failed
    assert w.exchange(np.zeros(1), budget_ms=200) is None
    w.close()
