"""Face analytics as a video effect (the OBS filter "DeepZoom Face Analytics"): the analyzer on the chain's
tracked faces, the session's statistics (`live_stats`, read remotely) and an optional overlay. The picture is
otherwise untouched. The networks are built once and kept when settings change (switching one on or off starts
the statistics over: the labels restart); the gallery is re-read when its index changes on disk (someone
enrolled a face while OBS runs)."""

from __future__ import annotations

import logging
import time

import numpy as np

from ...errors import DeepZoomError, ModelError
from ...settings import AnalyticsSettings
from .analyzer import FaceAnalyzer
from .gallery import EMBED_DIM, INDEX, Gallery, gallery_folder
from .overlay import draw
from .session import SessionStats

log = logging.getLogger("obs_deepzoom.analytics")
GALLERY_CHECK_S = 2.0  # how often the gallery's index is looked at for changes
# the feature (an AnalyticsSettings switch) each network serves
FEATURE_OF_MODEL = {"sface": "identity", "age_v1": "attributes", "gender_v1": "attributes",
                    "fer_expression": "expressions"}


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
        self.gallery_warning: str | None = None  # an unreadable gallery: analytics go on without it
        self.model_warning: str | None = None  # a network that could not load, switched off
        self._models = dict(models or {})
        self._off: set[str] = set()  # features switched off because their network could not load
        self._built_for = None
        self._stamp = None
        self._checked = 0.0

    def _gallery_stamp(self):
        folder = gallery_folder(self.settings.gallery)
        try:
            return str(folder), (folder / INDEX).stat().st_mtime_ns
        except OSError:
            return str(folder), None

    def _people(self) -> dict[str, np.ndarray]:
        """The gallery's embeddings; an unreadable gallery is a warning and analytics go on without it."""
        self.gallery_warning = None
        if not self.settings.identity:
            return {}
        try:
            people, other = Gallery(gallery_folder(self.settings.gallery)).usable(EMBED_DIM)
            if other:  # the others are still recognised
                self.gallery_warning = f"some people not used: {other}"
                log.warning("analytics: %s", self.gallery_warning)
            return people
        except DeepZoomError as e:
            self.gallery_warning = f"gallery not used: {e}"
            log.warning("analytics: %s", self.gallery_warning)
            return {}

    def _effective(self) -> AnalyticsSettings:
        """The settings with the features whose network could not load switched off."""
        s = self.settings
        return s.model_copy(update=dict.fromkeys(self._off, False)) if self._off else s

    def _build(self) -> FaceAnalyzer:
        """A new analyzer for the networks the settings switch on (networks built before are kept); a network
        that cannot load (e.g. its model not built) switches its feature off with a warning, not the filter."""
        if self.analyzer is not None:
            self.analyzer.reset()  # lets a running request end
            self._models.update(self.analyzer.models)
        self._off, warnings = set(), []
        people = self._people()
        for _ in FEATURE_OF_MODEL:  # each failure switches one feature off: at most one try per feature
            s = self._effective()
            wanted = {"embed": s.identity, "age": s.attributes, "gender": s.attributes, "expression": s.expressions}
            models = {m: net for m, net in self._models.items() if wanted.get(m)}
            try:
                analyzer = FaceAnalyzer(s, people, models)
                break
            except ModelError as e:
                self._models.update(models)  # the networks this try compiled are kept for the next
                feature = FEATURE_OF_MODEL.get(e.model)
                if feature is None or not getattr(s, feature):
                    raise
                self._off.add(feature)
                warnings.append(f"{feature} off: {e}")
                log.warning("analytics: %s", warnings[-1])
        else:
            analyzer = FaceAnalyzer(self._effective(), people, {})
        self.model_warning = "; ".join(warnings) or None
        self._models.update(analyzer.models)
        return analyzer

    def _ensure(self) -> FaceAnalyzer:
        s = self.settings
        key = (s.identity, s.attributes, s.expressions, s.precision)
        if self.analyzer is None or key != self._built_for:
            rebuilt = self.analyzer is not None
            if rebuilt and (self._built_for is None or key[3] != self._built_for[3]):  # another precision (or a
                # failed rebuild after one): every network is compiled again
                self.analyzer.reset()  # ends a running request first
                self.analyzer.models.clear()
                self._models.clear()
                self._built_for = None  # a failed build is tried again, whatever the next settings
            self.analyzer = self._build()
            self._built_for = key
            self._stamp, self._checked = self._gallery_stamp(), time.monotonic()
            if rebuilt:  # track numbers and unknown-N labels start again: so do the statistics
                self.session.reset()
        now = time.monotonic()
        if s.identity and now - self._checked >= GALLERY_CHECK_S:
            self._checked = now
            stamp = self._gallery_stamp()
            if stamp != self._stamp:  # someone enrolled or removed a face: the same analyzer, the new gallery
                self._stamp = stamp
                self.analyzer.people = self._people()
        self.analyzer.s = self._effective()
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
        s = self._effective()  # what runs: a feature whose network could not load reads as off
        out.update(identity=s.identity, attributes=s.attributes, expressions=s.expressions)
        warnings = [w for w in (self.gallery_warning, self.model_warning) if w]
        if warnings:
            out["warning"] = "; ".join(warnings)
        return out

    def reset_session(self) -> None:
        """Start the statistics over (people seen, time in view); unknown-N labels start again at 1."""
        self.session.reset()
        if self.analyzer is not None:
            self.analyzer.reset()
