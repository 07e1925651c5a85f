"""Inference off OBS's threads: the render/graphics callback hands a frame over and waits at most its
budget for the result; a worker thread that falls behind drops frames instead of stalling OBS."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

log = logging.getLogger("obs_deepzoom.obs")


@dataclass
class Result:
    seq: int
    frame: np.ndarray
    ms: float


class FrameWorker:
    """One thread running `process(frame) -> frame` on the newest submitted frame.

    `exchange(frame, budget_ms)` submits a frame and returns its result if it is ready within the budget,
    else the newest older result no more than `max_age` frames old, else None (the caller passes the frame
    through). A failing `process` is logged once and the worker then returns None (passthrough)."""

    def __init__(self, process: Callable[[np.ndarray], np.ndarray], name: str = "deepzoom-worker",
                 max_age: int = 2):
        self.process = process
        self.max_age = max_age
        self._cond = threading.Condition()
        self._pending: tuple[int, np.ndarray] | None = None
        self._result: Result | None = None
        self._seq = 0
        self._stop = False
        self.failed: str | None = None
        self.stats = {"submitted": 0, "processed": 0, "dropped": 0, "late": 0, "passthrough": 0}
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def exchange(self, frame: np.ndarray, budget_ms: float) -> np.ndarray | None:
        with self._cond:
            if self.failed:
                return None
            self._seq += 1
            seq = self._seq
            if self._pending is not None:
                self.stats["dropped"] += 1
            self._pending = (seq, frame)
            self.stats["submitted"] += 1
            self._cond.notify_all()
            deadline = time.monotonic() + budget_ms / 1000
            while (self._result is None or self._result.seq < seq) and not self.failed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            r = self._result
        if r is not None and r.seq == seq:
            return r.frame
        if r is not None and seq - r.seq <= self.max_age:
            self.stats["late"] += 1
            return r.frame
        self.stats["passthrough"] += 1
        return None

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                seq, frame = self._pending
                self._pending = None
            t = time.perf_counter()
            try:
                out = self.process(frame)
            except Exception as exc:  # never let a model error reach OBS; pass frames through
                with self._cond:
                    self.failed = f"{type(exc).__name__}: {exc}"
                    self._cond.notify_all()
                log.error("worker %s failed (%s); frames pass through unchanged", self._thread.name, self.failed)
                return
            with self._cond:
                self._result = Result(seq, out, (time.perf_counter() - t) * 1e3)
                self.stats["processed"] += 1
                self._cond.notify_all()

    def close(self, timeout: float = 2.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(timeout)
