"""The receiving side: records in, frames out. The same bits always give the same frames."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .bits import BitReader, CodecError
from .container import DELTA, FACE_FLAG, GROUP, GROUP_TYPES, HOLD, INTRA, KEYFRAME, Header
from .keyframe import Keyframe
from .motion_code import basis_digest, check_range, dequantise, read, steps, unpack, value_count


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

    def decode(self, kind: bytes, payload: bytes) -> Iterator[np.ndarray]:
        """The frames a record stands for, one at a time (a GROUP's up to 256 are never all held at once): none
        for a keyframe (it prepares the next ones), one, or a GROUP's."""
        if kind != GROUP:
            frame = self.feed(kind, payload)
            if frame is not None:
                yield frame
            return
        if not payload:
            raise CodecError(f"{self.name}: an empty group of frames (the stream is damaged)")
        r = BitReader(payload)
        for _ in range(r.bits(8) + 1):
            code = r.bits(2)
            if code >= len(GROUP_TYPES):
                raise CodecError(f"{self.name}: a group of frames is damaged (unknown frame type)")
            kind = GROUP_TYPES[code]
            if kind == DELTA and self.prev is None:
                raise CodecError(f"{self.name}: a group of frames is damaged (a change from no frame)")
            q = None if kind == HOLD else read(r, None if kind == INTRA else self.prev, self.n)
            yield self._show(kind, q)
        if not r.padding_ok():
            raise CodecError(f"{self.name}: a group of frames is longer than its frames (the stream is damaged)")

    def feed(self, kind: bytes, payload: bytes) -> np.ndarray | None:
        """The frame a single record stands for (None for a keyframe, which only prepares the next frames)."""
        if kind == KEYFRAME:
            if not payload:
                raise CodecError(f"{self.name}: an empty keyframe (the stream is damaged)")
            self.key = Keyframe(payload[1:], bool(payload[0] & FACE_FLAG), self.size)
            self.prev, self.last = None, None
            return None
        if kind not in (INTRA, DELTA, HOLD):
            raise CodecError(f"{self.name}: unknown record type {kind!r}")
        usable = kind == INTRA or (kind == DELTA and self.prev is not None)
        return self._show(kind, unpack(payload, None if kind == INTRA else self.prev, self.n) if usable else None)

    def _show(self, kind: bytes, q: np.ndarray | None) -> np.ndarray:
        """The frame for a decoded record: `q` its values (None: hold the last picture)."""
        if q is not None:
            check_range(q, self.step)
            if kind == INTRA or not self.header.from_intra:
                self.prev = q
            frame = self.key.render(dequantise(q, self.step)) if self.key else None
        else:  # no face, or a change from a frame never received (live loss): hold
            frame = self.last if self.last is not None else (self.key.render(None) if self.key else None)
        if frame is None:
            frame = np.zeros((self.size[1], self.size[0], 3), np.uint8)
        self.last = frame
        self.frames += 1
        return frame
