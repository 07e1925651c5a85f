"""Face analytics as a video effect (the OBS filter "DeepZoom Face Analytics"): the analyzer on the chain's
tracked faces, the session's statistics (`live_stats`, read remotely) and an optional overlay. The picture is
otherwise untouched. The networks are built once and kept when settings change; the gallery is re-read when
its index changes on disk (someone enrolled a face while OBS runs)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ...errors import DeepZoomError
from ...settings import AnalyticsSettings
from .analyzer import FaceAnalyzer
from .gallery import INDEX, Gallery, gallery_folder
from .overlay import draw
from .session import SessionStats

log = logging.getLogger("obs_deepzoom.analytics")
GALLERY_CHECK_S = 2.0  # how often the gallery's index is looked at for changes


class FaceAnalytics:
    name = "analytics"
    kind = "video"
    settings_type = AnalyticsSettings
    obs_title = "DeepZoom Face Analytics"
    needs_faces = True
    needs_iris = True  # attention adds the eyes' own turn to the head's

    def __init__(self, settings: AnalyticsSettings, models: dict | None = None):
        """`models`: prebuilt networks by analyzer name (tests); built on first use otherwise."""
        self.settings = settings
        self.analyzer: FaceAnalyzer | None = None
        self.session = SessionStats()
        self.warning: str | None = None  # e.g. an unreadable gallery: analytics go on without it
        self._models = dict(models or {})
        self._built_for = None
        self._stamp = None
        self._checked = -1e9

    def _gallery_stamp(self):
        folder = gallery_folder(self.settings.gallery)
        try:
            return str(folder), (folder / INDEX).stat().st_mtime_ns
        except OSError:
            return str(folder), None

    def _ensure(self) -> FaceAnalyzer:
        s = self.settings
        now = time.monotonic()
        if now - self._checked >= GALLERY_CHECK_S or self.analyzer is None:
            self._checked = now
            self._stamp = self._gallery_stamp()
        key = (s.identity, s.attributes, s.expressions, self._stamp)
        if self.analyzer is not None and key == self._built_for:
            self.analyzer.s = s
            return self.analyzer
        people: dict[str, np.ndarray] = {}
        self.warning = None
        if s.identity:
            try:
                people = Gallery(gallery_folder(s.gallery)).loaded()
            except DeepZoomError as e:
                self.warning = f"gallery not used: {e}"
                log.warning("analytics: %s", self.warning)
        if self.analyzer is not None:
            self.analyzer.reset()  # lets a running request end
            self._models.update(self.analyzer.models)
        wanted = {"embed": s.identity, "age": s.attributes, "gender": s.attributes, "expression": s.expressions}
        models = {m: net for m, net in self._models.items() if wanted.get(m)}
        self.analyzer = FaceAnalyzer(s, people, models)
        self._models.update(self.analyzer.models)
        self._built_for = key
        return self.analyzer

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.settings.enabled:
            return frame
        records = self._ensure().process(frame, ctx.faces, ctx.timestamp)
        self.session.add(records, ctx.timestamp)
        if not self.settings.overlay or not records:
            return frame
        out = frame.copy()
        draw(out, records)
        return out

    def live_stats(self) -> dict:
        out = self.session.snapshot()
        out.update(identity=self.settings.identity, attributes=self.settings.attributes,
                   expressions=self.settings.expressions)
        if self.warning:
            out["warning"] = self.warning
        return out

    def reset_session(self) -> None:
        """Start the statistics over (people seen, time in view); unknown-N labels start again at 1."""
        self.session.reset()
        if self.analyzer is not None:
            self.analyzer.reset()
