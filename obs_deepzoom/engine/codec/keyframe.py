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


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise InputError("the keyframe could not be compressed")
    return buf.tobytes()


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
    def __init__(self, jpeg: bytes, face: bool, size: tuple[int, int], device: str = "CPU"):
        if jpeg_size(jpeg) != size:  # checked before decoding: a forged header cannot make us allocate more
            raise CodecError(f"a keyframe is not a {size[0]}x{size[1]} JPEG (the stream is damaged)")
        image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
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
