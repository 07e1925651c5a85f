"""Video-dropout concealment: when the camera freezes (the same picture again and again), stutters past
`freeze_ms` or goes black (unplugged), the last good picture with a face is animated like a photo avatar driven
by the voice (mouth with the speech level, blinks, a slight sway), starting from the pose it was in; when real
frames return, the output cross-fades back to them over `fade_ms`. Short repeats (a camera delivering a frame
twice) pass untouched. A camera that stops sending frames at all is concealed through `missing()`, which the host
calls while no frame comes (OBS: the filter's worker). The avatar is built once per dropout (the portrait
analysis: tens of ms, once)."""

from __future__ import annotations

import logging

import numpy as np

from ...errors import InputError
from ...settings import AvatarSettings, ConcealSettings
from ..avatar.portrait import Portrait
from ..avatar.speech import SpeechDriver
from ..contract import FrameContext
from .avatar import PhotoAvatar

log = logging.getLogger("obs_deepzoom.conceal")

PROBE_STEP = 8  # the repeat test compares every 8th pixel of every 8th row
GAP_FRAMES = 3  # no frame for this many of the camera's usual frame intervals (and freeze_ms) is a dropout
BLACK_LEVEL = 4.0  # mean grey level below which a frame counts as black (a camera gone)


class DropoutConcealment:
    name = "conceal"
    kind = "video"
    settings_type = ConcealSettings
    obs_title = "DeepZoom Dropout Concealment"
    needs_faces = True
    needs_iris = True

    def __init__(self, settings: ConcealSettings):
        self.settings = settings
        self.speech = SpeechDriver()
        self._probe: np.ndarray | None = None
        self._stuck_since: float | None = None
        self._good: tuple[np.ndarray, float] | None = None  # (the last good frame with a face, its time)
        self._avatar: PhotoAvatar | None = None
        self._last_out: np.ndarray | None = None  # the last concealed picture (what the fade starts from)
        self._back_at: float | None = None  # when real frames returned
        self._seen_at: float | None = None  # when the last frame came (of any kind)
        self._intervals: list[float] = []  # the newest times between frames (a slow camera is not a dropout)
        self._since: float | None = None  # when the dropout began
        self.state = "live"  # live, concealing, returning
        self.dropouts = 0

    def feed_audio(self, samples: np.ndarray, rate: int) -> None:
        if rate != self.speech.rate:
            self.speech = SpeechDriver(rate)
        self.speech.feed(samples)

    def _stuck(self, frame: np.ndarray, t: float) -> tuple[bool, bool]:
        """(whether this frame repeats the last or is black, whether that has lasted `freeze_ms`)."""
        probe = frame[::PROBE_STEP, ::PROBE_STEP]
        repeated = self._probe is not None and probe.shape == self._probe.shape and np.array_equal(probe,
                                                                                                    self._probe)
        bad = repeated or float(probe.mean()) < BLACK_LEVEL
        self._probe = probe.copy()
        if not bad:
            self._stuck_since = None
        elif self._stuck_since is None:
            self._stuck_since = t
        return bad, bad and (t - self._stuck_since) * 1000 >= self.settings.freeze_ms

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        s = self.settings
        if not s.enabled:
            return frame
        t = ctx.timestamp
        if self._seen_at is not None and t > self._seen_at:
            self._intervals = [*self._intervals[-29:], t - self._seen_at]
        self._seen_at = t
        bad, frozen = self._stuck(frame, t)
        if frozen:
            out = self._conceal(t)
            return frame if out is None else out
        if not bad and ctx.faces:
            self._good = (frame.copy(), t)
        if self.state == "concealing":
            self.state, self._back_at = "returning", t
        if self.state == "returning":
            return self._fade(frame, t)
        return frame

    def missing(self, t: float) -> np.ndarray | None:
        """No frame since the last one (a camera that stopped sending, or was unplugged): once that has lasted
        `freeze_ms`, the concealed picture for time `t` (the clock of the frames' timestamps); None before that,
        when off, or with no picture with a face to animate. The next frame that comes fades back."""
        if not self.settings.enabled or self._seen_at is None:
            return None
        usual = float(np.median(self._intervals)) if self._intervals else 0.0
        if t - self._seen_at < max(self.settings.freeze_ms / 1000, GAP_FRAMES * usual):
            return None
        return self._conceal(t)

    def forget(self) -> None:
        """The source stopped being shown: what comes when it is shown again starts afresh (no old picture is
        animated while its camera starts)."""
        self._seen_at, self._since, self._intervals = None, None, []
        self.state, self._avatar, self._last_out, self._probe, self._stuck_since = "live", None, None, None, None

    def _conceal(self, t: float) -> np.ndarray | None:
        if self.state != "concealing":
            self.state, self._since = "concealing", t
            self.dropouts += 1
            self._avatar = self._build()
        if self._avatar is None or t - self._since > self.settings.max_s:  # nothing to animate, or too long
            self._last_out = None  # (nothing to fade back from)
            return None
        out = self._avatar.process(self._good[0], FrameContext(0, t, []))
        self._last_out = out
        return out

    def _build(self) -> PhotoAvatar | None:
        if self._good is None:
            return None
        picture = self._good[0]
        try:
            portrait = Portrait("the last good frame", image=picture)
        except InputError as exc:
            log.info("dropout: %s; the frozen picture stays", exc)
            return None
        s = self.settings
        avatar = PhotoAvatar(AvatarSettings(audio_drive=s.audio_drive, idle=s.idle), portrait=portrait)
        avatar.speech = self.speech
        avatar.driver.motion(portrait.face)  # the reference is the picture itself: motion starts at rest
        return avatar

    def _fade(self, frame: np.ndarray, t: float) -> np.ndarray:
        k = 1.0 if self.settings.fade_ms <= 0 else (t - self._back_at) * 1000 / self.settings.fade_ms
        if k >= 1 or self._last_out is None or self._last_out.shape != frame.shape:
            self.state, self._avatar, self._last_out = "live", None, None
            return frame
        k = 0.5 - 0.5 * np.cos(np.pi * k)  # ease in and out
        return (self._last_out * (1 - k) + frame * k).astype(np.uint8)
