"""Keypoint sender effect: the frame passes unchanged while its face goes out over UDP as a keypoint stream
(engine/codec, with CodecSettings.live()). Sending never blocks or raises: a full socket buffer, no receiver or
no network loses that datagram, as a network would. The frame rate written in the stream is measured from the
first frames' timestamps."""

from __future__ import annotations

import logging

import numpy as np

from ...errors import DeepZoomError
from ...settings import CodecSettings, SendSettings
from ..codec.encoder import KeypointEncoder
from ..codec.transport import KeypointSender, parse_address
from ..contract import FrameContext

log = logging.getLogger("obs_deepzoom.send")
RATE_FRAMES = 6  # frames timed before the stream starts (their rate is the stream's)


class KeypointSend:
    name = "send"
    kind = "video"
    settings_type = SendSettings
    obs_title = "DeepZoom Keypoint Sender"
    needs_faces = True
    needs_iris = True

    def __init__(self, settings: SendSettings):
        self.settings = settings
        self.sender: KeypointSender | None = None
        self._key: tuple | None = None
        self._times: list[float] = []
        if settings.enabled:  # an unknown host: say so now
            parse_address(settings.to)

    def _fps(self, t: float) -> float | None:
        self._times = (self._times + [t])[-RATE_FRAMES:]
        if len(self._times) < RATE_FRAMES or self._times[-1] <= self._times[0]:
            return None
        return float(np.clip((len(self._times) - 1) / (self._times[-1] - self._times[0]), 1, 120))

    def _sender_for(self, frame: np.ndarray, t: float) -> KeypointSender | None:
        s = self.settings
        key = (s.to, s.keyframe_quality, frame.shape[:2])
        if key != self._key:
            self.close()
            self._key, self._times = key, []
            try:
                self._address = parse_address(s.to)
            except DeepZoomError as exc:
                log.error("%s; not sending", exc)
                self._address = None
        if self.sender is None and self._address is not None:
            fps = self._fps(t)
            if fps is not None:
                codec = CodecSettings.live(keyframe_quality=s.keyframe_quality)
                encoder = KeypointEncoder((frame.shape[1], frame.shape[0]), fps, codec)
                self.sender = KeypointSender(encoder, self._address)
        return self.sender

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if self.settings.enabled:
            sender = self._sender_for(frame, ctx.timestamp)
            if sender is not None:
                sender.send(frame, ctx.faces)
        return frame

    def close(self) -> None:
        if self.sender is not None:
            self.sender.close()
            self.sender = None

    def __del__(self):
        self.close()
