"""`deepzoom bench background`: the background effect (blur mode, mask every frame) on 1280x720 frames of the
sample clip, against MediaPipe's own SelfieSegmentation (landscape) followed by the same compositing, in
alternating passes in the same process. Also: the amortised cost with the mask every 2nd frame, and without
edge refinement."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from ..settings import BackgroundSettings
from . import peak_rss_mb, peer_fields, summary, timed
from .face import clip_frames

log = logging.getLogger(__name__)


def _peer(progress):
    """MediaPipe's segmenter + our compositing of its mask, or None when the reference is not installed."""
    from ..engine.video.background import Background, reduce

    try:
        from ..reference import mediapipe

        seg = mediapipe().solutions.selfie_segmentation.SelfieSegmentation(model_selection=1)
    except Exception as exc:
        log.warning("peer unavailable: %s", exc)
        progress(f"peer skipped: {exc}")
        return None
    effect = Background(BackgroundSettings(refine=False))

    def process(frame: np.ndarray) -> np.ndarray:
        mask = seg.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).segmentation_mask
        work = reduce(frame)
        p = cv2.resize(mask, (work.shape[1], work.shape[0]), interpolation=cv2.INTER_AREA)
        return effect.composite(frame, work, *effect.linear_model(work, p))

    return process


def run(rounds: int = 3, peer: bool = True, progress=print) -> dict:
    from ..engine.video.background import Background

    frames = clip_frames()
    variants = {"": BackgroundSettings(), "_every2": BackgroundSettings(every=2),
                "_refine_off": BackgroundSettings(refine=False)}
    effects = {tag: Background(s) for tag, s in variants.items()}
    for effect in effects.values():
        for f in frames[:10]:  # warm-up (compilation, first masks)
            effect.process(f, None)
    rss = peak_rss_mb()  # ours only: before the peer is imported
    peer_fn = _peer(progress) if peer else None
    if peer_fn is not None:
        for f in frames[:10]:
            peer_fn(f)
    ms: dict[str, list[float]] = {tag: [] for tag in variants}
    peer_ms: list[float] = []
    for r in range(rounds):  # alternate whole passes so every variant sees the same machine state
        for tag, effect in effects.items():
            ms[tag] += [timed(lambda f=f, e=effect: e.process(f, None)) for f in frames]
        if peer_fn is not None:
            peer_ms += [timed(lambda f=f: peer_fn(f)) for f in frames]
        progress(f"round {r + 1}/{rounds}: ours {np.median(ms['']):.2f} ms"
                 + (f", mediapipe + same compositing {np.median(peer_ms):.2f} ms" if peer_ms else ""))
    result: dict = {"name": "background", "size": "1280x720", "frames": len(frames), "rounds": rounds,
                    "mode": "blur"}
    result.update(summary(ms[""]))
    for tag in ("_every2", "_refine_off"):
        result[f"ms_median{tag}"] = summary(ms[tag])["ms_median"]
    calls = 10 + len(frames) * rounds
    result["mask_runs_every2_pct"] = round(100 * effects["_every2"].mask_runs / calls, 1)
    result["peak_rss_mb"] = round(rss, 1)
    peer = "mediapipe 0.10.21 SelfieSegmentation(model_selection=1) + the same compositing"
    result.update(peer_fields(result["ms_median"], peer_ms, peer, "outside"))
    return result
