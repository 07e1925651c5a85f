"""`deepzoom bench analytics`: face analytics per 1280x720 frame, tracking included, with 1 face (the sample
clip) and 4 faces (the clip in a 2x2 mosaic), the networks amortised as they run live: frames arrive at 30 fps,
one network per frame at most, each person's embedding every `embed_every_s`, age and gender every
`attributes_every_s`, the expression every `expression_every_s`; the embedding runs asynchronously and is
collected at the next frame. Also the frames that start a network, the frames after them, and each network
alone. The peer, in the same process: dlib as
users of the face_recognition package run it on every frame (HOG detector, 5-point alignment, ResNet
descriptor; the test-only dlib reference), on the same frames."""

from __future__ import annotations

import time

import cv2
import numpy as np

from ..engine.analytics.analyzer import FaceAnalyzer
from ..engine.face import FaceTracker
from ..settings import AnalyticsSettings, FaceTrackingSettings
from . import peak_rss_mb, peer_fields, summary, timed
from .face import clip_frames

FPS = 30.0


def mosaic(frames: list[np.ndarray]) -> list[np.ndarray]:
    """Each frame as four faces: the 2x2 grid of half-size copies, shifted in time so they move apart."""
    half = [cv2.resize(f, (640, 360), interpolation=cv2.INTER_AREA) for f in frames]
    n = len(half)
    return [np.vstack([np.hstack([half[i], half[(i + n // 4) % n]]),
                       np.hstack([half[(i + n // 2) % n], half[(i + 3 * n // 4) % n]])]) for i in range(n)]


def _pass(frames, faces: int, rounds: int, settings: AnalyticsSettings) -> dict:
    tracker = FaceTracker(FaceTrackingSettings(max_faces=faces))
    analyzer = FaceAnalyzer(settings)
    ms, net_ms, t = [], [], 0.0
    for f in frames[:10]:  # warm-up
        analyzer.process(f, tracker.process(f, t), t)
        t += 1 / FPS
    seen, after_ms, started = [], [], False
    for _ in range(rounds):
        for f in frames:
            t_frame = time.perf_counter()
            before = sum(analyzer.runs.values())
            holder: dict = {}

            def step(f=f, t=t, holder=holder):
                holder["faces"] = tracker.process(f, t)
                analyzer.process(f, holder["faces"], t)

            total = timed(step)
            ms.append(total)
            seen.append(len(holder["faces"]))
            if started:  # the frame after one that started a network collects its answer
                after_ms.append(total)
            started = sum(analyzer.runs.values()) > before
            if started:
                net_ms.append(total)
            t += 1 / FPS
            time.sleep(max(0.0, t_frame + 1 / FPS - time.perf_counter()))  # frames arrive at 30 fps, as live
    out = {k: v for k, v in summary(ms).items() if k != "n"}
    out["with_network_ms_median"] = round(float(np.median(net_ms)), 3) if net_ms else 0.0
    out["after_network_ms_median"] = round(float(np.median(after_ms)), 3) if after_ms else 0.0
    out["network_frames_pct"] = round(100 * len(net_ms) / len(ms), 1)
    out["faces_tracked_median"] = float(np.median(seen))
    return out


def _alone(frames) -> dict:
    """Each network alone on the clip's face (median ms)."""
    from ..engine.analytics.models import AgeEstimator, ExpressionEstimator, FaceEmbedder, GenderEstimator

    tracker = FaceTracker()
    face = next(fs[0] for fs in (tracker.process(f, i / FPS) for i, f in enumerate(frames)) if fs)
    frame = frames[0]
    out = {}
    for name, model in (("embed", FaceEmbedder()), ("age", AgeEstimator()), ("gender", GenderEstimator()),
                        ("expression", ExpressionEstimator())):
        model(frame, face.landmarks)
        out[f"{name}_ms_median"] = round(float(np.median([timed(lambda m=model: m(frame, face.landmarks))
                                                           for _ in range(30)])), 3)
    return out


def run(rounds: int = 3, peer: bool = True, progress=print) -> dict:
    frames = clip_frames()
    settings = AnalyticsSettings()
    one = _pass(frames, 1, rounds, settings)
    progress(f"1 face: {one['ms_median']:.2f} ms per frame (p95 {one['ms_p95']:.2f}), frames with a network "
             f"{one['with_network_ms_median']:.2f} ms ({one['network_frames_pct']} % of frames)")
    four = _pass(mosaic(frames), 4, rounds, settings)
    progress(f"4 faces: {four['ms_median']:.2f} ms per frame (p95 {four['ms_p95']:.2f}), "
             f"{four['faces_tracked_median']:.0f} faces tracked")
    result = {"name": "analytics", "size": "1280x720", "frames": len(frames), "rounds": rounds, "faces": 1,
              **one, **{f"faces4_{k}": v for k, v in four.items()}, **_alone(frames),
              "peak_rss_mb": round(peak_rss_mb(), 1)}
    if peer:
        try:
            from ..reference import DlibFaces

            dlib = DlibFaces()
        except Exception as exc:  # the test-only reference is missing: say so, measure ours
            progress(f"peer skipped: {exc}")
            return result
        peer_ms = [timed(lambda f=f: dlib.descriptors(f, upsample=0)) for f in frames[::3]]
        result.update(peer_fields(result["ms_median"], peer_ms, f"{dlib.name}, every frame (HOG detector, no "
                                  "upsampling)", "outside"))
        progress(f"peer dlib: {result['peer_ms_median']:.1f} ms per frame")
    return result
