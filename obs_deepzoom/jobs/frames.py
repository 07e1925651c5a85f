"""The frame loop every video job runs (a file, a camera, the demo, the avatar) and its timing summary."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.contract import FrameContext
from ..errors import InputError
from ..media import video_writer

# step(index, time, frame) -> (result, context); compose(index, frame, result) -> the frame to write
Step = Callable[[int, float, np.ndarray], tuple[np.ndarray, FrameContext]]
Compose = Callable[[int, np.ndarray, np.ndarray], np.ndarray]


def frame_total(count: int | None, max_frames: int = 0) -> int | None:
    """The frames a run will see: the source's `count` capped at `max_frames` (0: no cap); None when unknown."""
    known = [x for x in (count, max_frames) if x]
    return min(known) if known else None


def ms_stats(ms: Sequence[float], digits: int = 3) -> tuple[float, float]:
    """Median and 95th percentile of per-frame milliseconds, rounded to `digits`."""
    return round(float(np.median(ms)), digits), round(float(np.percentile(ms, 95)), digits)


def timing_summary(timings: list[dict[str, float]], faces_seen: int) -> dict:
    """Frames, frames with a face, and the median and p95 milliseconds of every stage (FrameContext.timings)."""
    stats = {s: ms_stats([t.get(s, 0.0) for t in timings]) for s in sorted({k for t in timings for k in t})}
    return {"frames": len(timings), "frames_with_face": faces_seen,
            "ms_median": {s: median for s, (median, _) in stats.items()},
            "ms_p95": {s: p95 for s, (_, p95) in stats.items()}}


@dataclass
class FrameRun:
    """What a run of the loop measured."""

    frames: int = 0
    timings: list[dict[str, float]] = field(default_factory=list)  # each frame's FrameContext.timings
    step_ms: list[float] = field(default_factory=list)  # each step's wall time
    faces_seen: int = 0  # frames in which a face was tracked

    def summary(self) -> dict:
        return timing_summary(self.timings, self.faces_seen)


def run_frames(frames: Iterable[np.ndarray], fps: float, step: Step, out: Path | None = None, *,
               count: int | None = None, max_frames: int = 0, desc: str = "", encoding=None, audio=None,
               opencv_video: bool = False, compose: Compose | None = None,
               empty: str = "no frames could be read") -> FrameRun:
    """Run `step` over `frames` (frame i at i / fps; at most `max_frames`, 0: all) with a progress bar on stderr,
    writing each result (after `compose`) to the video `out` unless it is None: H.264 at `encoding` with the
    soundtrack `audio`, opened on the first result (an effect may change the size, e.g. restore's upscale), the
    file appearing only when the loop completes. No frame at all raises InputError(`empty`)."""
    from tqdm import tqdm

    run = FrameRun()
    bar = tqdm(total=frame_total(count, max_frames), unit="frame", desc=desc, file=sys.stderr)
    try:
        with contextlib.ExitStack() as stack:
            write = None
            for i, frame in enumerate(frames):
                if max_frames and i >= max_frames:
                    break
                t0 = time.perf_counter()
                result, ctx = step(i, i / fps, frame)
                run.step_ms.append((time.perf_counter() - t0) * 1e3)
                run.timings.append(ctx.timings)
                run.faces_seen += bool(ctx.faces)
                if compose is not None:
                    result = compose(i, frame, result)
                if out is not None:
                    if write is None:
                        size = (result.shape[1], result.shape[0])
                        write = stack.enter_context(video_writer(out, fps, size, encoding, audio, opencv_video))
                    write(result)
                run.frames += 1
                bar.update(1)
    finally:
        bar.close()
    if run.frames == 0:
        raise InputError(empty)
    return run
