"""The worker side of one native audio filter (no libobs here, so tests drive it with the shim alone).

OBS's audio thread (the shim's dz_filter_audio) appends each block to an input ring and writes back the
output `queue` samples later: the samples this worker processed where they are ready, else the input
delayed by the processor's own delay, so the timing never changes and OBS's thread never waits. The worker
builds and swaps processors itself (a new mode compiles a network here, not on the audio thread)."""

from __future__ import annotations

import ctypes
import logging
from collections import deque
from collections.abc import Callable

import numpy as np

from ..errors import DeepZoomError
from .native import AUDIO_STATS

log = logging.getLogger("obs_deepzoom.obs")


def _floats(ptr, n: int) -> np.ndarray:
    return np.ctypeslib.as_array(ptr, (n,))


class AudioStream:
    RING_S = 2.0  # holds four times the longest queue (500 ms)
    MAX_SPANS = 64
    MAX_CUTS = 20000  # about 7 minutes of OBS's 1024-sample blocks at 48 kHz

    def __init__(self, native, name: str, channels: int, rate: int, make: Callable[[object], object]):
        self.native, self.name, self.channels, self.rate, self.make = native, name, channels, rate, make
        self.queue = round(0.064 * rate)
        self.cap = int(self.RING_S * rate)
        self.processor = None
        # [start, end) stretches of the stream the current processor saw without a gap (a restart skips ahead
        # and keeps its state; a new processor starts afresh): what a replay needs to reproduce its output
        self.spans: list[list[int]] = []
        # where each processing call ended (the newest MAX_CUTS): a replay cut the same way repeats the float
        # arithmetic exactly (a network in bf16 can turn a last-bit difference of its input into a visible one)
        self.cuts: deque[int] = deque(maxlen=self.MAX_CUTS)
        self.handle = native.dz_audio_new(channels, self.cap, self.queue)
        if not self.handle:
            raise DeepZoomError(f"could not set up audio rings for {channels} channels")
        self.rings = [(_floats(native.dz_audio_ring(self.handle, 0, c), self.cap),
                       _floats(native.dz_audio_ring(self.handle, 1, c), self.cap)) for c in range(channels)]
        self.done = native.dz_audio_written(self.handle)

    def latency_ms(self) -> float:
        model = self.processor.latency_ms if self.processor is not None else 0.0
        return 1000 * self.queue / self.rate + model

    def set_queue(self, ms: float) -> None:
        """The queue's fixed latency: how late the worker may be before audio passes through unprocessed."""
        queue = round(ms * self.rate / 1000)
        if queue != self.queue:
            self.queue = queue
            self.native.dz_audio_set_latency(self.handle, queue)

    def configure(self, settings) -> None:
        """New settings: update the processor in place, or build it; restart where the delay changed."""
        if self.processor is not None:
            before = self.processor.latency_ms
            self.processor.update(settings)
            if self.processor.latency_ms != before:
                self._restart()
            return
        self.processor = self.make(settings)
        self.spans.clear()
        self._restart()
        log.info("%s: %s ch at %d Hz, latency %.1f ms (queue %.1f + model %.1f)", self.name, self.channels, self.rate,
                 self.latency_ms(), 1000 * self.queue / self.rate, self.processor.latency_ms)

    def _restart(self) -> None:
        """Process from the newest sample on; the shim is told the processor's delay."""
        self.done = self.native.dz_audio_written(self.handle)
        self.spans = [*self.spans[-self.MAX_SPANS + 1:], [self.done, self.done]]
        self.native.dz_audio_restart(self.handle, self.done, round(self.processor.latency_ms * self.rate / 1000))

    def step(self, timeout_ms: int) -> bool:
        """Wait for audio, process what came; False once the filter is closed. Processing errors propagate
        (the caller drops the processor: audio then passes through, delayed as before)."""
        r = self.native.dz_audio_wait(self.handle, self.done, timeout_ms)
        if r < 0:
            return False
        written = self.native.dz_audio_written(self.handle)
        if self.processor is None:
            self.done = written
        elif written - self.done > self.cap // 2:  # fell far behind (the GIL was held elsewhere): skip ahead
            self._restart()
        elif written > self.done:
            self._process(self.done, written)
        return True

    def _process(self, start: int, end: int) -> None:
        n, pos = end - start, start % self.cap
        idx = (pos + np.arange(n)) % self.cap if pos + n > self.cap else slice(pos, pos + n)
        block = np.stack([ring_in[idx] for ring_in, _ in self.rings])
        if self.native.dz_audio_written(self.handle) - start > self.cap - self.queue:
            self._restart()  # the audio thread overwrote what was being read
            return
        out = self.processor.process(block)
        for c, (_, ring_out) in enumerate(self.rings):
            ring_out[idx] = out[c]
        self.native.dz_audio_commit(self.handle, end)
        self.done = self.spans[-1][1] = end
        self.cuts.append(end)

    def stats(self) -> dict:
        raw = (ctypes.c_uint64 * len(AUDIO_STATS))()
        self.native.dz_audio_stats(self.handle, raw, len(AUDIO_STATS))
        out = dict(zip(AUDIO_STATS, raw))
        out["p99_us"] = self.native.dz_audio_time_quantile(self.handle, 0.99)
        out["latency_ms"] = round(self.latency_ms(), 2)
        return out

    def close(self) -> None:
        self.native.dz_audio_close(self.handle)

    def free(self) -> None:
        self.native.dz_audio_free(self.handle)
        self.handle = None
