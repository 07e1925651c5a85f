"""An ordered chain of video effects built from settings, sharing one face tracker; per-stage timing and a
passthrough fallback (a failing effect leaves frames untouched and is logged once)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ..errors import DeepZoomError
from ..settings import ChainSettings
from .contract import FrameContext, VideoEffect
from .effects import VIDEO_EFFECTS
from .face import FaceTracker

log = logging.getLogger("obs_deepzoom.chain")


def _check_order(effects: list[VideoEffect]) -> None:
    """Faces are tracked once, on the chain's input: no effect that uses them may follow one that moves or
    resizes the picture."""
    moved = None
    for e in effects:
        if moved is not None and e.needs_faces:
            raise DeepZoomError(f"{e.name} cannot come after {moved}: {moved} changes the picture's geometry, so "
                                f"the faces found on the input no longer match (put {moved} last)")
        if getattr(e, "reframes", False) or getattr(e, "resizes", False):
            moved = e.name


class Chain:
    def __init__(self, effects: list[str], settings: ChainSettings | None = None):
        self.settings = settings or ChainSettings()
        unknown = [e for e in effects if e not in VIDEO_EFFECTS]
        if unknown:
            raise DeepZoomError(f"unknown effect(s) {', '.join(unknown)} (available: {', '.join(VIDEO_EFFECTS)})")
        self.effects: list[VideoEffect] = [VIDEO_EFFECTS[e](getattr(self.settings, e)) for e in effects]
        _check_order(self.effects)
        needs_faces = any(e.needs_faces for e in self.effects)
        iris = any(e.needs_faces and e.needs_iris for e in self.effects)
        self.tracker = FaceTracker(self.settings.face, iris=iris) if needs_faces else None
        self._failed: set[str] = set()
        self._index = 0

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.effects]

    def process(self, frame: np.ndarray, timestamp: float | None = None) -> tuple[np.ndarray, FrameContext]:
        ts = time.perf_counter() if timestamp is None else timestamp
        ctx = FrameContext(self._index, ts)
        self._index += 1
        t0 = time.perf_counter()
        if self.tracker is not None:
            ctx.faces = self.tracker.process(frame, ts)
            ctx.camera = self.tracker.camera(frame.shape[1], frame.shape[0])
            ctx.timings["face"] = (time.perf_counter() - t0) * 1e3
        out = frame
        for effect in self.effects:
            t = time.perf_counter()
            if effect.name not in self._failed:
                try:
                    out = effect.process(out, ctx)
                except Exception as exc:  # passthrough: never lose the frame
                    self._failed.add(effect.name)
                    log.error("effect %s failed (%s: %s); passing frames through", effect.name,
                              type(exc).__name__, exc)
            ctx.timings[effect.name] = (time.perf_counter() - t) * 1e3
        ctx.timings["total"] = (time.perf_counter() - t0) * 1e3
        return out, ctx
