"""`deepzoom bench face`: face tracking (detect every N + mesh + iris + smoothing + pose) on 1280x720 frames
of the sample clip, against MediaPipe's own FaceMesh(refine_landmarks=True) on the same frames, same process."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..media import VideoSource
from ..samples import DEMO_CLIP, sample
from ..settings import FaceTrackingSettings
from . import peak_rss_mb, peer_fields, summary, timed

log = logging.getLogger(__name__)


def clip_frames(size: tuple[int, int] = (1280, 720)) -> list[np.ndarray]:
    source = VideoSource.open_file(sample(DEMO_CLIP))
    return [cv2.resize(f, size, interpolation=cv2.INTER_CUBIC) for f in source.frames()]


def run(rounds: int = 3, peer: bool = True, settings: FaceTrackingSettings | None = None,
        progress=print) -> dict:
    from ..engine.face import FaceTracker

    frames = clip_frames()
    tracker = FaceTracker(settings or FaceTrackingSettings())
    fps_clip = 30.0
    t = 0.0
    for f in frames[:10]:  # warm-up (compilation, first detection)
        tracker.process(f, t)
        t += 1 / fps_clip
    result: dict = {"name": "face", "size": "1280x720", "frames": len(frames), "rounds": rounds}
    ours: list[float] = []
    peer_ms: list[float] = []
    mesh = None
    rss = peak_rss_mb()  # ours only: before the peer is imported
    if peer:
        try:
            from ..reference import mediapipe

            mp = mediapipe()
            mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                                   refine_landmarks=True)
            rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames]
            for r in rgb[:10]:
                mesh.process(r)
        except Exception as exc:
            log.warning("peer unavailable: %s", exc)
            progress(f"peer skipped: {exc}")
            mesh = None
    for r in range(rounds):  # alternate whole passes so both see the same machine state
        for f in frames:
            ours.append(timed(lambda f=f, t=t: tracker.process(f, t)))
            t += 1 / fps_clip
        if mesh is not None:
            for x in rgb:
                peer_ms.append(timed(lambda x=x: mesh.process(x)))
        progress(f"round {r + 1}/{rounds}: ours {np.median(ours):.2f} ms"
                 + (f", mediapipe {np.median(peer_ms):.2f} ms" if peer_ms else ""))
    result.update(summary(ours))
    result["peak_rss_mb"] = round(rss, 1)
    result.update(peer_fields(result["ms_median"], peer_ms, "mediapipe 0.10.21 FaceMesh(refine_landmarks=True)",
                               "outside"))
    return result
