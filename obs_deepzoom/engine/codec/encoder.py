"""The sending side: tracks the face, sends a keyframe when needed, then one small record per frame."""

from __future__ import annotations

import math

import numpy as np

from ...settings import CodecSettings, FaceTrackingSettings
from ..avatar.motion import FaceDriver
from ..face import FaceTracker
from .container import DELTA, FACE_FLAG, FROM_INTRA, HOLD, INTRA, KEYFRAME, Header, record
from .keyframe import Keyframe, encode_jpeg
from .motion_code import basis_digest, dequantise, pack, quantise, steps

FACE_MARGIN = 0.15  # the face region: the landmarks' box grown by this share of its size on each side


def face_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    pad = (hi - lo) * FACE_MARGIN
    x0, y0 = np.maximum(np.floor(lo - pad).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(hi + pad).astype(int), size)
    return int(x0), int(y0), int(max(x1, x0 + 1)), int(max(y1, y0 + 1))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse < 1e-10 else 10 * math.log10(255 ** 2 / mse)


class KeypointEncoder:
    def __init__(self, size: tuple[int, int], fps: float, settings: CodecSettings | None = None,
                 face: FaceTrackingSettings | None = None):
        self.settings = settings = settings or CodecSettings()
        self.size, self.fps = size, fps
        f32 = lambda x: float(np.float32(x))  # noqa: E731 - as the header stores them: both ends use the same
        self.header = Header(size[0], size[1], f32(fps), f32(settings.expression_step), basis_digest(),
                             FROM_INTRA if settings.delta_from == "intra" else 0)
        self._face = face or FaceTrackingSettings()
        self._tracker: FaceTracker | None = None
        self.step = steps(self.header.expression_step)
        self.key: Keyframe | None = None
        self.driver = FaceDriver()
        self.prev: np.ndarray | None = None  # the integers DELTA is coded against (what the decoder holds)
        self.index = 0
        self._since_intra = 0
        self._last_key = -math.inf  # frame index of the last keyframe
        self._want_key = True
        self.keyframes = 0
        self.face_psnr: float | None = None  # the last check's figure
        self.predicted: np.ndarray | None = None  # the last check's picture: what the decoder shows

    @property
    def tracker(self) -> FaceTracker:
        if self._tracker is None:  # built when first needed: a caller that tracks faces itself never needs it
            self._tracker = FaceTracker(self._face)
        return self._tracker

    def request_keyframe(self) -> None:
        """The next frame is sent as a keyframe (e.g. a receiver joined or lost too much)."""
        self._want_key = True

    def encode(self, frame: np.ndarray, faces: list | None = None) -> list[bytes]:
        """The records for this frame (a keyframe first when one is due); `faces`: the frame's tracked faces
        when the caller tracks them already (else the encoder's own tracker runs)."""
        if (frame.shape[1], frame.shape[0]) != self.size:
            raise ValueError(f"frame {frame.shape[1]}x{frame.shape[0]}, stream {self.size[0]}x{self.size[1]}")
        if faces is None:
            faces = self.tracker.process(frame, self.index / self.fps)
        faces = faces[:1]
        out: list[bytes] = []
        if self._want_key or (faces and self.key is not None and not self.key.has_face and self._gap()):
            out.append(self._keyframe(frame, bool(faces)))
        if not faces or not self.key.has_face:
            out.append(record(HOLD, b""))
        else:
            q = quantise(self.driver.motion(faces[0]), self.step)
            if self._check_due() and self._poor(frame, faces[0].landmarks, q) and self._gap():
                out.append(self._keyframe(frame, True))
                q = quantise(self.driver.motion(faces[0]), self.step)
            out.append(self._motion(q))
        self.index += 1
        return out

    def _gap(self) -> bool:
        """Long enough since the last keyframe for another (never two in one frame)."""
        return self.index - self._last_key >= max(1.0, self.settings.min_keyframe_gap_s * self.fps)

    def _check_due(self) -> bool:
        s = self.settings
        return s.refresh_db > 0 and self.index % s.check_every == 0

    def _poor(self, frame: np.ndarray, landmarks: np.ndarray, q: np.ndarray) -> bool:
        """Whether the decoder's picture of this frame misses the face by more than the setting allows."""
        x0, y0, x1, y1 = face_box(landmarks, self.size)
        shown = self.predicted = self.key.render(dequantise(q, self.step))
        self.face_psnr = psnr(shown[y0:y1, x0:x1], frame[y0:y1, x0:x1])
        return self.face_psnr < self.settings.refresh_db

    def _keyframe(self, frame: np.ndarray, face: bool) -> bytes:
        jpeg = encode_jpeg(frame, self.settings.keyframe_quality)
        self.key = Keyframe(jpeg, face, self.size)
        self.driver = FaceDriver()
        if self.key.has_face:
            self.driver.motion(self.key.portrait.face)  # motion is measured from the keyframe's face
        self.prev, self._want_key, self._last_key = None, False, self.index
        self.keyframes += 1
        return record(KEYFRAME, bytes([FACE_FLAG if self.key.has_face else 0]) + jpeg)

    def _motion(self, q: np.ndarray) -> bytes:
        intra = self.prev is None or self._since_intra + 1 >= self.settings.intra_every
        data = pack(q, None if intra else self.prev)
        self._since_intra = 0 if intra else self._since_intra + 1
        if intra or not self.header.from_intra:
            self.prev = q
        return record(INTRA if intra else DELTA, data)
