"""The .dzk stream: a header, then records. Each record is a type byte, its payload length (LEB128), the payload
and a 16-bit check (the low half of the CRC-32 of the rest). Types: KEYFRAME (a flag byte, then a JPEG or WebP
of the frame) shows no frame by itself; INTRA and DELTA (a coded Motion) and HOLD (no face: the last picture again)
are one frame each, at frame index / fps; GROUP (files) holds up to 256 such frames in one record: a byte with
their count less one, then per frame 2 bits of type (GROUP_TYPES) and its motion bits, with no byte alignment in
between, so a frame costs its motion bits and 2 more instead of 4 bytes of framing."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from .bits import CodecError

MAGIC, VERSION = b"DZK", 2
KEYFRAME, INTRA, DELTA, HOLD, GROUP = b"K", b"I", b"D", b"H", b"G"
FRAME_TYPES = (INTRA, DELTA, HOLD)
GROUP_TYPES = (HOLD, INTRA, DELTA)  # a grouped frame's 2-bit type (3: a damaged group)
MAX_GROUP = 256
_HEADER = struct.Struct("<3sBHHff4sB")  # magic, version, width, height, fps, expression step, basis, flags
FACE_FLAG = 1  # keyframe payload: the picture holds a face to animate
FROM_INTRA = 1  # header flags: DELTA records are changes from the last INTRA frame (live: a loss costs one frame)


@dataclass(frozen=True)
class Header:
    width: int
    height: int
    fps: float
    expression_step: float
    basis: bytes
    flags: int = 0

    @property
    def from_intra(self) -> bool:
        return bool(self.flags & FROM_INTRA)

    def pack(self) -> bytes:
        body = _HEADER.pack(MAGIC, VERSION, self.width, self.height, self.fps, self.expression_step, self.basis,
                            self.flags)
        return body + struct.pack("<I", zlib.crc32(body))

    @classmethod
    def unpack(cls, data: bytes, name: str) -> Header:
        size = _HEADER.size + 4
        if len(data) < size or data[:3] != MAGIC:
            raise CodecError(f"{name}: not a DeepZoom keypoint stream (.dzk)")
        magic, version, w, h, fps, step, basis, flags = _HEADER.unpack(data[:_HEADER.size])
        if version != VERSION:
            raise CodecError(f"{name}: made by another version of the codec (format {version}, this one reads "
                             f"{VERSION})")
        if struct.unpack("<I", data[_HEADER.size:size])[0] != zlib.crc32(data[:_HEADER.size]):
            raise CodecError(f"{name}: the header is damaged")
        if not (16 <= w <= 8192 and 16 <= h <= 8192 and 1 <= fps <= 240 and step > 0):
            raise CodecError(f"{name}: the header is damaged ({w}x{h}, {fps} fps)")
        return cls(w, h, fps, step, basis, flags)

    @staticmethod
    def size() -> int:
        return _HEADER.size + 4


def record(kind: bytes, payload: bytes) -> bytes:
    n, length = len(payload), bytearray()
    while True:
        length.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            break
    body = kind + bytes(length) + payload
    return body + struct.pack("<H", zlib.crc32(body) & 0xFFFF)


def record_size(payload_bytes: int) -> int:
    """Bytes of a record with a payload of this size: type, LEB128 length, payload, check."""
    return 1 + max(1, (payload_bytes.bit_length() + 6) // 7) + payload_bytes + 2


def group_frames(fps: float) -> int:
    """Frames per GROUP record in files: about a second's."""
    return max(1, min(MAX_GROUP, round(fps)))


def frame_count(kind: bytes, payload: bytes) -> int:
    """How many frames a record stands for."""
    if kind == GROUP:
        return payload[0] + 1 if payload else 0
    return int(kind in FRAME_TYPES)


def records(data: bytes, start: int, name: str) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of each record from byte `start`; a truncated or damaged record raises CodecError."""
    pos, index = start, 0
    while pos < len(data):
        kind = data[pos:pos + 1]
        if kind not in (KEYFRAME, GROUP, *FRAME_TYPES):
            raise CodecError(f"{name}: record {index} at byte {pos} is damaged (unknown type)")
        n, shift, p = 0, 0, pos + 1
        while True:
            if p >= len(data) or shift > 28:
                raise CodecError(f"{name}: the stream is truncated (record {index} at byte {pos})")
            b = data[p]
            n |= (b & 0x7F) << shift
            p, shift = p + 1, shift + 7
            if not b & 0x80:
                break
        end = p + n + 2
        if end > len(data):
            raise CodecError(f"{name}: the stream is truncated (record {index} at byte {pos} needs {end - pos} "
                             f"bytes, {len(data) - pos} left)")
        if struct.unpack("<H", data[end - 2:end])[0] != zlib.crc32(data[pos:end - 2]) & 0xFFFF:
            raise CodecError(f"{name}: record {index} at byte {pos} is damaged (checksum)")
        yield kind, data[p:end - 2]
        pos, index = end, index + 1
