"""The effect chain over an image, a video file or a camera: `deepzoom process` and the demo."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..media import read_image, write_image
from .frames import frame_total, run_frames, timing_summary


def process_image(chain, path: Path, out: Path) -> dict:
    """One image through `chain` to `out`; an image without a face is an error when the chain tracks faces."""
    result, ctx = chain.process(read_image(path), 0.0)
    if chain.tracker is not None and not ctx.faces:
        raise InputError(f"{path}: no face found (effects: {', '.join(chain.names)})")
    write_image(out, result)
    return timing_summary([ctx.timings], len(ctx.faces) > 0)


def process_video(chain, source, out: Path | None, max_frames: int = 0, side_by_side: Path | None = None,
                  encoding=None, audio=None, opencv_video: bool | None = None) -> dict:
    """`source`'s frames (a VideoSource, or anything with name, fps, frame_count and frames()) through `chain` to
    the video `out` (None: measure only) with the soundtrack `audio`; `side_by_side`: also a PNG of input | output
    at the middle frame. `opencv_video`: the frames are a video decoded by OpenCV (default: what the source says).
    Returns the timing summary."""
    if opencv_video is None:
        opencv_video = getattr(source, "opencv_video", False)
    middle = (frame_total(source.frame_count, max_frames) or 0) // 2
    sbs_frame = None

    def compose(i: int, frame: np.ndarray, result: np.ndarray) -> np.ndarray:
        nonlocal sbs_frame
        if side_by_side is not None and (sbs_frame is None or i == middle):
            import cv2

            sbs_frame = np.hstack([cv2.resize(frame, result.shape[1::-1]), result])
        return result

    run = run_frames(source.frames(), source.fps, lambda i, t, frame: chain.process(frame, t), out,
                     count=source.frame_count, max_frames=max_frames, desc=Path(source.name).name,
                     encoding=encoding, audio=audio, opencv_video=opencv_video, compose=compose,
                     empty=f"{source.name}: no frames could be read")
    if side_by_side is not None and sbs_frame is not None:
        write_image(side_by_side, sbs_frame)
    return run.summary()
