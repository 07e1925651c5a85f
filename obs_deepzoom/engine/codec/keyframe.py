"""What both ends build from a keyframe's bytes: the decoded picture and, when it holds a face, the avatar
renderer on it (the same analysis on the same bits, so the encoder predicts exactly what the decoder shows)."""

from __future__ import annotations

import cv2
import numpy as np

from ...errors import InputError
from ...settings import AvatarSettings
from ..avatar.motion import Motion
from ..avatar.portrait import Portrait
from ..avatar.render import GeometricRenderer
from .bits import CodecError

# the receiver shows the keyframe's own background; colours are the keyframe's (there is no camera to match)
RENDER = AvatarSettings(background="own", color_match=0.0)


def encode_picture(frame: np.ndarray, quality: int, fmt: str = "jpeg") -> bytes:
    """A keyframe's picture as JPEG or WebP (lossy) at `quality` (10-100)."""
    ext, flag = {"jpeg": (".jpg", cv2.IMWRITE_JPEG_QUALITY), "webp": (".webp", cv2.IMWRITE_WEBP_QUALITY)}[fmt]
    ok, buf = cv2.imencode(ext, frame, [flag, min(int(quality), 99 if fmt == "webp" else 100)])  # webp 100: lossless
    if not ok:
        raise InputError("the keyframe could not be compressed")
    return buf.tobytes()


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    return encode_picture(frame, quality, "jpeg")


def webp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a WebP's first chunk (VP8, VP8L or VP8X), read without decoding; None if none."""
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == b"\x9d\x01\x2a":
        return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def picture_size(data: bytes) -> tuple[int, int] | None:
    """A keyframe picture's (width, height) from its header (JPEG or WebP); None if it is neither."""
    return jpeg_size(data) or webp_size(data)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's frame header (SOFn), read without decoding; None if there is none."""
    if data[:2] != b"\xff\xd8":
        return None
    pos = 2
    while pos + 9 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:  # no length field
            pos += 1 if marker == 0xFF else 2
            continue
        length = int.from_bytes(data[pos + 2:pos + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[pos + 7:pos + 9], "big"), int.from_bytes(data[pos + 5:pos + 7], "big")
        if marker == 0xDA or length < 2:
            return None
        pos += 2 + length
    return None


class Keyframe:
    def __init__(self, picture: bytes, face: bool, size: tuple[int, int], device: str = "CPU"):
        if picture_size(picture) != size:  # checked before decoding: a forged header cannot make us allocate more
            raise CodecError(f"a keyframe is not a {size[0]}x{size[1]} JPEG or WebP (the stream is damaged)")
        image = cv2.imdecode(np.frombuffer(picture, np.uint8), cv2.IMREAD_COLOR)
        if image is None or (image.shape[1], image.shape[0]) != size:
            raise CodecError(f"a keyframe is not a readable {size[0]}x{size[1]} picture (the stream is damaged)")
        self.image = image
        self.portrait: Portrait | None = None
        self.renderer: GeometricRenderer | None = None
        if face:
            try:
                self.portrait = Portrait("keyframe", device=device, image=image)
            except InputError:  # the encoder found the face; a decoder on other hardware may not: show the still
                self.portrait = None
            else:
                self.renderer = GeometricRenderer(self.portrait.layout(size), RENDER)

    @property
    def has_face(self) -> bool:
        return self.renderer is not None

    def render(self, motion: Motion | None) -> np.ndarray:
        if self.renderer is None or motion is None:
            return self.image.copy()
        return self.renderer.render(motion)
