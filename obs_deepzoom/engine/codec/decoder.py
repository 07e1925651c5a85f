"""The receiving side: records in, frames out. The same bits always give the same frames."""

from __future__ import annotations

import numpy as np

from .bits import CodecError
from .container import DELTA, FACE_FLAG, HOLD, INTRA, KEYFRAME, Header
from .keyframe import Keyframe
from .motion_code import basis_digest, check_range, dequantise, steps, unpack, value_count


class KeypointDecoder:
    def __init__(self, header: Header, name: str = "stream"):
        if header.basis != basis_digest():
            raise CodecError(f"{name}: made with another expression basis (another obs-deepzoom version)")
        self.header, self.name = header, name
        self.size = (header.width, header.height)
        self.step = steps(header.expression_step)
        self.n = value_count()
        self.key: Keyframe | None = None
        self.prev: np.ndarray | None = None  # what DELTA records change (None: lost; hold until an INTRA)
        self.last: np.ndarray | None = None  # the last frame shown
        self.frames = 0

    def feed(self, kind: bytes, payload: bytes) -> np.ndarray | None:
        """The frame a record stands for (None for a keyframe, which only prepares the next frames)."""
        if kind == KEYFRAME:
            if not payload:
                raise CodecError(f"{self.name}: an empty keyframe (the stream is damaged)")
            self.key = Keyframe(payload[1:], bool(payload[0] & FACE_FLAG), self.size)
            self.prev, self.last = None, None
            return None
        if kind == INTRA or (kind == DELTA and self.prev is not None):
            q = unpack(payload, None if kind == INTRA else self.prev, self.n)
            check_range(q, self.step)
            if kind == INTRA or not self.header.from_intra:
                self.prev = q
            frame = self.key.render(dequantise(q, self.step)) if self.key else None
        elif kind in (DELTA, HOLD):  # a change from a frame never received (live loss), or no face: hold
            frame = self.last if self.last is not None else (self.key.render(None) if self.key else None)
        else:
            raise CodecError(f"{self.name}: unknown record type {kind!r}")
        if frame is None:
            frame = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        self.last = frame
        self.frames += 1
        return frame
