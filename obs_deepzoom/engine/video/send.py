"""Keypoint sender effect: the frame passes unchanged while its face goes out over UDP as a keypoint stream
(engine/codec; the live defaults of `deepzoom codec send`). Sending never blocks: a full socket buffer or no
receiver loses that datagram, as a network would."""

from __future__ import annotations

import logging

import numpy as np

from ...errors import DeepZoomError
from ...settings import CodecSettings, SendSettings
from ..codec.encoder import KeypointEncoder
from ..codec.transport import KeypointSender, parse_address
from ..contract import FrameContext

log = logging.getLogger("obs_deepzoom.send")
LIVE = {"delta_from": "intra", "intra_every": 10}  # a lost datagram costs one frame (docs/codec.md)


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
        if settings.enabled:  # a bad address: say so now
            parse_address(settings.to)

    def _sender_for(self, frame: np.ndarray, fps: float) -> KeypointSender | None:
        s = self.settings
        key = (s.to, s.keyframe_quality, frame.shape[:2])
        if self.sender is None or key != self._key:
            self.close()
            try:
                address = parse_address(s.to)
            except DeepZoomError as exc:
                log.error("%s; not sending", exc)
                self._key = key
                return None
            codec = CodecSettings(keyframe_quality=s.keyframe_quality, **LIVE)
            self.sender = KeypointSender(KeypointEncoder((frame.shape[1], frame.shape[0]), fps, codec), address)
            self._key = key
        return self.sender

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        if self.settings.enabled:
            sender = self._sender_for(frame, 30.0)
            if sender is not None:
                sender.send(frame, ctx.faces)
        return frame

    def close(self) -> None:
        if self.sender is not None:
            self.sender.sock.close()
            self.sender = None
