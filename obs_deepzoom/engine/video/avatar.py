"""Photo avatar effect: the output is the source portrait moved by the driver (the camera's face, or the voice
when no face is seen), at the driver's resolution. The first tracked face is the reference (neutral) pose;
`recalibrate()` takes the next one instead. See engine/avatar/ for the parts."""

from __future__ import annotations

import logging
import math

import numpy as np

from ...errors import InputError
from ...settings import AvatarSettings
from ..avatar.colour import face_stats, match_luts
from ..avatar.motion import FaceDriver, Motion
from ..avatar.portrait import Portrait
from ..avatar.render import GeometricRenderer
from ..avatar.speech import SpeechDriver

log = logging.getLogger("obs_deepzoom.avatar")

TO_FALLBACK_S, TO_FACE_S = 0.4, 0.2  # cross-fade times between face-driven and voice/idle-driven motion
COLOR_EVERY = 15  # frames between colour-match updates
COLOR_FOLLOW = 0.3  # share of each update's driver statistics taken (slow lighting changes, no flicker)


class PhotoAvatar:
    name = "avatar"
    kind = "video"
    settings_type = AvatarSettings
    obs_title = "DeepZoom Photo Avatar"
    needs_faces = True
    needs_iris = True

    def __init__(self, settings: AvatarSettings, renderer: type = GeometricRenderer,
                 portrait: Portrait | None = None):
        self.settings = settings
        self.renderer_type = renderer
        self.portrait = portrait
        self._portrait_key: tuple[str, str] | None = (settings.source, settings.device) if portrait else None
        if settings.enabled and portrait is None and settings.source:  # a bad portrait: say so now
            self._load_portrait()
        self.driver = FaceDriver()
        self.speech = SpeechDriver()
        self.renderer = None
        self._mix = 0.0  # 0 = face-driven, 1 = voice/idle-driven
        self._face_motion = Motion()
        self._t: float | None = None
        self.mode = "idle"  # what drove the last frame: face, voice or idle
        self._colour: tuple | None = None  # (driver face stats, frames since the last update, strength)
        self.motion = Motion()

    def _load_portrait(self) -> None:
        key = (self.settings.source, self.settings.device)
        self._portrait_key = key
        self.portrait = Portrait(*key)
        self.renderer = None

    def recalibrate(self) -> None:
        """Take the next tracked face as the neutral reference."""
        self.driver.recalibrate()

    def feed_audio(self, samples: np.ndarray, rate: int) -> None:
        """Audio (mono or channels x n float) for the voice-driven mode, in time order."""
        if rate != self.speech.rate:
            self.speech = SpeechDriver(rate)
        self.speech.feed(samples)

    def _renderer_for(self, size: tuple[int, int]):
        s = self.settings
        if (s.source, s.device) != self._portrait_key:
            try:  # chosen or changed live (OBS): a bad file keeps the old portrait, logged once per path
                self._load_portrait()
            except InputError as exc:
                self._portrait_key = (s.source, s.device)
                log.error("%s; the picture passes through", exc)
        if self.portrait is None:
            return None
        r = self.renderer
        if r is None or r.layout.size != size or r.settings is not s:
            self.renderer = self.renderer_type(self.portrait.layout(size), s)
        return self.renderer

    def _match_colours(self, frame: np.ndarray, face, renderer) -> None:
        strength = self.settings.color_match
        if strength <= 0 or not hasattr(renderer, "recolor"):
            if self._colour is not None:
                renderer.recolor(None)
                self._colour = None
            return
        stats, age, applied = self._colour or (None, COLOR_EVERY, 0.0)
        if age < COLOR_EVERY and applied == strength:
            self._colour = (stats, age + 1, applied)
            return
        now = face_stats(frame, face.landmarks)
        stats = now if stats is None else stats + COLOR_FOLLOW * (now - stats)
        layout = renderer.layout
        renderer.recolor(match_luts(face_stats(layout.image, layout.landmarks), stats, strength))
        self._colour = (stats, 0, strength)

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        s = self.settings
        if not s.enabled:
            return frame
        renderer = self._renderer_for((frame.shape[1], frame.shape[0]))
        if renderer is None:
            return frame
        dt = 1 / 30 if self._t is None else float(np.clip(ctx.timestamp - self._t, 0, 0.5))
        self._t = ctx.timestamp
        if ctx.faces:
            self._match_colours(frame, ctx.faces[0], renderer)
            self._face_motion = self.driver.motion(ctx.faces[0])
            if not s.eyes:
                self._face_motion.eye_open[:] = 1
                self._face_motion.iris[:] = 0
            self._mix = max(0.0, self._mix - dt / TO_FACE_S)
        else:
            self._mix = min(1.0, self._mix + dt / TO_FALLBACK_S)
        motion = self._face_motion
        if self._mix > 0:
            talking = s.audio_drive
            fallback = self.speech.motion(ctx.timestamp, renderer.neutral, talking)
            if not s.idle:
                fallback = Motion(expression=fallback.expression)
            t = 0.5 - 0.5 * math.cos(math.pi * self._mix)  # ease in and out
            motion = motion.blend(fallback, t)
        self.mode = "face" if ctx.faces else ("voice" if s.audio_drive and self.speech.live else "idle")
        self.motion = motion
        return renderer.render(motion)
