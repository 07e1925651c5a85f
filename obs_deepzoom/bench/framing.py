"""`deepzoom bench framing`: auto framing at 1280x720 on the evaluation's moving-face scene (the sample clip
pasted onto a wide background, `evaluate.framing.scene`): the crop + scale alone (the effect given the tracked
faces), the same with face tracking (mesh without the iris model, as the chain runs it), and the part of the
crop + scale that is not the resize itself. The peer is our own simplest baseline (`peer_kind:
"own-baseline"`): a fixed centre crop of the same zoom resized the same way, no composition and no motion."""

from __future__ import annotations

import cv2
import numpy as np

from ..engine.contract import FrameContext
from ..engine.face import FaceTracker
from ..engine.video.framing import AutoFrame, Window, crop_plan
from ..settings import FramingSettings
from . import peak_rss_mb, peer_fields, summary, timed

FPS = 30.0


def centre_crop(frame: np.ndarray, zoom: float) -> np.ndarray:
    """The peer: the frame's centre at `zoom`, resized back to the frame's size (bilinear)."""
    h, w = frame.shape[:2]
    ch, cw = int(round(h / zoom)), int(round(w / zoom))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(frame[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)


def _resize_only(frame: np.ndarray, win: Window) -> np.ndarray:
    """Just the resize `render` does for this window (same source box, same output size)."""
    plan = crop_plan((frame.shape[1], frame.shape[0]), win)
    if plan is None:
        return frame
    (x0, y0, x1, y1), size, _ = plan
    return cv2.resize(frame[y0:y1, x0:x1], size, interpolation=cv2.INTER_LINEAR)


def run(rounds: int = 3, seconds: float = 10.0, progress=print) -> dict:
    from ..evaluate.framing import scene

    frames = [f for _, f, _ in scene("eval", seconds)]
    tracker = FaceTracker(iris=False)  # what Chain(["framing"]) builds: the effect needs no iris
    for i, f in enumerate(frames[:10]):  # warm-up (compilation, first detection)
        tracker.process(f, i / FPS)
    effect = AutoFrame(FramingSettings())
    track_ms, crop_ms, resize_ms, peer_ms, total_ms, zooms = [], [], [], [], [], []
    for r in range(rounds):
        tracker.reset()
        effect.reset()
        for i, f in enumerate(frames):
            ts = r * seconds + i / FPS
            holder: dict = {}
            track = timed(lambda f=f, ts=ts, holder=holder: holder.setdefault("faces", tracker.process(f, ts)))
            ctx = FrameContext(i, ts, holder["faces"])
            crop = timed(lambda f=f, ctx=ctx: effect.process(f, ctx))
            win = effect.last["window"]
            zoom = f.shape[0] / win.h
            resize = timed(lambda f=f, win=win: _resize_only(f, win))
            peer = timed(lambda f=f, zoom=zoom: centre_crop(f, zoom))
            if zoom > 1.001:  # frames the effect really crops (at zoom 1 it returns the frame)
                crop_ms.append(crop)
                resize_ms.append(resize)
                peer_ms.append(peer)
                zooms.append(zoom)
            track_ms.append(track)
            total_ms.append(track + crop)
        progress(f"round {r + 1}/{rounds}: crop + scale {np.median(crop_ms):.3f} ms (its resize "
                 f"{np.median(resize_ms):.3f} ms), with tracking {np.median(total_ms):.2f} ms; centre crop "
                 f"{np.median(peer_ms):.3f} ms")
    crop, total, track = summary(crop_ms), summary(total_ms), summary(track_ms)
    overhead = np.array(crop_ms) - np.array(resize_ms)
    result = {"name": "framing", "size": "1280x720", "frames": len(frames), "rounds": rounds,
              "cropped_frames_pct": round(100 * len(crop_ms) / len(total_ms), 1),
              "zoom_median": round(float(np.median(zooms)), 3), **crop,
              "resize_ms_median": round(float(np.median(resize_ms)), 3),
              "beyond_resize_ms_median": round(float(np.median(overhead)), 3),
              "beyond_resize_ms_p95": round(float(np.percentile(overhead, 95)), 3),
              "tracking_ms_median": track["ms_median"],
              "with_tracking_ms_median": total["ms_median"], "with_tracking_ms_p95": total["ms_p95"],
              "with_tracking_fps": total["fps"], "peak_rss_mb": round(peak_rss_mb(), 1)}
    result.update(peer_fields(result["ms_median"], peer_ms, "centre crop of the same zoom + the same resize "
                              "(no tracking, no motion)", "own-baseline"))
    return result
