"""`deepzoom bench framing`: auto framing at 1280x720 on the evaluation's moving-face scene (the sample clip
pasted onto a wide background, `evaluate.framing.scene`): the crop + scale alone (the effect given the tracked
faces), the same with face tracking (mesh without the iris model, as the chain runs it), the part of the
crop + scale that is not the resize itself, and the effect's time inside `Chain(["framing"])` (right after
the tracker's inference, whose worker threads still compete with OpenCV's). The peer is our own simplest
baseline (`peer_kind: "own-baseline"`): a fixed centre crop of the same zoom resized the same way, no
composition and no motion."""

from __future__ import annotations

import cv2
import numpy as np

from ..engine.chain import Chain
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


def _resize_only(frame: np.ndarray, win: Window, scratch: dict) -> np.ndarray:
    """Just the resize `render` does for this window (same source box, same output size, a reused buffer)."""
    plan = crop_plan((frame.shape[1], frame.shape[0]), win)
    if plan is None:
        return frame
    (x0, y0, x1, y1), size, _ = plan
    big = scratch.get("big")
    if big is None or big.shape[:2] != (size[1], size[0]):
        big = scratch["big"] = np.empty((size[1], size[0], 3), np.uint8)
    return cv2.resize(frame[y0:y1, x0:x1], size, dst=big, interpolation=cv2.INTER_LINEAR)


def run(rounds: int = 3, seconds: float = 10.0, progress=print) -> dict:
    from ..evaluate.framing import scene

    frames = [f for _, f, _ in scene("eval", seconds)]
    tracker = FaceTracker(iris=False)  # what Chain(["framing"]) builds: the effect needs no iris
    for i, f in enumerate(frames[:10]):  # warm-up (compilation, first detection)
        tracker.process(f, i / FPS)
    effect = AutoFrame(FramingSettings())
    chain = Chain(["framing"])
    track_ms, crop_ms, resize_ms, peer_ms, total_ms, chain_ms, zooms = [], [], [], [], [], [], []
    for r in range(rounds):
        # pass 1: tracking alone; pass 2: the crop + scale, its resize and the peer on the tracked faces, with no
        # inference in between (OpenVINO's worker threads stay busy a while after a request and slow OpenCV's
        # own threads: pass 3 shows that cost as the chain has it)
        tracker.reset()
        effect.reset()
        tracked = []
        for i, f in enumerate(frames):
            ts = r * seconds + i / FPS
            holder: dict = {}
            track_ms.append(timed(lambda f=f, ts=ts, holder=holder: holder.setdefault("faces",
                                                                                      tracker.process(f, ts))))
            tracked.append((ts, holder["faces"]))
        # the windows first (a twin of the effect: same settings, same faces, same windows), then per frame the
        # crop + scale, its resize alone and the peer, in an order that rotates frame by frame (no pass gets the
        # warmer caches or the quieter threads)
        twin, scratch = AutoFrame(FramingSettings()), {}
        windows = [twin.step(faces, (f.shape[1], f.shape[0]), ts) for f, (ts, faces) in zip(frames, tracked)]
        for i, (f, (ts, faces), win) in enumerate(zip(frames, tracked, windows)):
            ctx = FrameContext(i, ts, faces)
            cropped = win.h < f.shape[0] - 1
            jobs = [("crop", lambda f=f, ctx=ctx: effect.process(f, ctx))]
            if cropped:
                jobs += [("resize", lambda f=f, win=win, scratch=scratch: _resize_only(f, win, scratch)),
                         ("peer", lambda f=f, zoom=f.shape[0] / win.h: centre_crop(f, zoom))]
            k = i % len(jobs)
            times = {name: timed(job) for name, job in jobs[k:] + jobs[:k]}
            if cropped:
                crop_ms.append(times["crop"])
                resize_ms.append(times["resize"])
                peer_ms.append(times["peer"])
                zooms.append(f.shape[0] / win.h)
            total_ms.append(track_ms[len(total_ms)] + times["crop"])
        for i, f in enumerate(frames):
            _, ctx = chain.process(f, r * seconds + i / FPS)
            if chain.effects[0].last["window"].h < f.shape[0] - 1:
                chain_ms.append(ctx.timings["framing"])
        progress(f"round {r + 1}/{rounds}: crop + scale {np.median(crop_ms):.3f} ms (its resize "
                 f"{np.median(resize_ms):.3f} ms), with tracking {np.median(total_ms):.2f} ms; centre crop "
                 f"{np.median(peer_ms):.3f} ms; in the chain right after tracking {np.median(chain_ms):.2f} ms")
    crop, total, track = summary(crop_ms), summary(total_ms), summary(track_ms)
    result = {"name": "framing", "size": "1280x720", "frames": len(frames), "rounds": rounds,
              "cropped_frames_pct": round(100 * len(crop_ms) / len(total_ms), 1),
              "zoom_median": round(float(np.median(zooms)), 3), **crop,
              "resize_ms_median": round(float(np.median(resize_ms)), 3),
              "beyond_resize_ms_median": round(float(np.median(crop_ms) - np.median(resize_ms)), 3),
              "tracking_ms_median": track["ms_median"],
              "in_chain_ms_median": round(float(np.median(chain_ms)), 3),
              "in_chain_ms_p95": round(float(np.percentile(chain_ms, 95)), 3),
              "with_tracking_ms_median": total["ms_median"], "with_tracking_ms_p95": total["ms_p95"],
              "with_tracking_fps": total["fps"], "peak_rss_mb": round(peak_rss_mb(), 1)}
    result.update(peer_fields(result["ms_median"], peer_ms, "centre crop of the same zoom + the same resize "
                              "(no tracking, no motion)", "own-baseline"))
    return result
