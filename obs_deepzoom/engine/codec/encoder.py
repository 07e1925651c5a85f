"""The sending side: tracks the face, sends a keyframe when needed, then one small record per frame."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable

import numpy as np

from ...settings import CodecSettings, FaceTrackingSettings
from ..avatar.motion import FaceDriver
from ..face import FaceTracker
from .bits import BitWriter
from .container import (
    DELTA,
    FACE_FLAG,
    FROM_INTRA,
    GROUP,
    GROUP_TYPES,
    HOLD,
    INTRA,
    KEYFRAME,
    MAX_GROUP,
    Header,
    record,
)
from .keyframe import Keyframe, encode_picture
from .motion_code import basis_digest, dequantise, pack, steps, to_values, write

FACE_MARGIN = 0.15  # the face region: the landmarks' box grown by this share of its size on each side
PLAN_STRIDE = 3  # keyframe planning judges every 3rd frame of the window


def face_box(landmarks: np.ndarray, size: tuple[int, int]) -> tuple[int, int, int, int]:
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    pad = (hi - lo) * FACE_MARGIN
    x0, y0 = np.maximum(np.floor(lo - pad).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(hi + pad).astype(int), size)
    return int(x0), int(y0), int(max(x1, x0 + 1)), int(max(y1, y0 + 1))


def settle(v: np.ndarray, last: np.ndarray | None, hysteresis: float) -> np.ndarray:
    """`v` (in steps) rounded; a value that moved less than `hysteresis` steps past the rounding point from
    `last` (the previous frame's integers) keeps them (tracker jitter then costs 1 bit, not a change and back)."""
    q = np.round(v).astype(np.int64)
    if hysteresis > 0 and last is not None:
        q = np.where(np.abs(v - last) < 0.5 + hysteresis, last, q)
    return q


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return 99.0 if mse < 1e-10 else 10 * math.log10(255 ** 2 / mse)


class KeypointEncoder:
    """`group_frames` > 0 (files): the frames' records are packed together, that many to a GROUP record (call
    `flush()` at the end); 0 (live): one record per frame, each one datagram."""

    def __init__(self, size: tuple[int, int], fps: float, settings: CodecSettings | None = None,
                 face: FaceTrackingSettings | None = None, group_frames: int = 0):
        if not 0 <= group_frames <= MAX_GROUP:
            raise ValueError(f"group_frames {group_frames}: expected 0..{MAX_GROUP}")
        self.group_frames = group_frames
        self._group: list[tuple[bytes, np.ndarray | None, np.ndarray | None]] = []
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
        self.last_q: np.ndarray | None = None  # the previous frame's integers (hysteresis)
        self.index = 0
        self._since_intra = 0
        self._last_key = -math.inf  # frame index of the last keyframe
        self._want_key = True
        self.keyframes = 0
        self.face_psnr: float | None = None  # the last check's figure
        self.predicted: np.ndarray | None = None  # the last check's picture: what the decoder shows
        self._planned: bytes | None = None  # the JPEG plan_keyframe chose for the first keyframe
        self.plan: dict | None = None  # what plan_keyframe found (frame index, predicted face PSNR per candidate)

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
            out += self._keyframe(frame, bool(faces))
        if not faces or not self.key.has_face:
            out += self._frame(HOLD)
        else:
            q = self._quantise(faces[0])
            if self._check_due() and self._poor(frame, faces[0].landmarks, q) and self._gap():
                out += self._keyframe(frame, True)
                q = self._quantise(faces[0])
            out += self._motion(q)
        self.index += 1
        return out

    def _quantise(self, face) -> np.ndarray:
        """The face's Motion as the integers sent (with hysteresis against the previous frame's)."""
        self.last_q = settle(to_values(self.driver.motion(face)) / self.step, self.last_q, self.settings.hysteresis)
        return self.last_q

    def flush(self) -> list[bytes]:
        """The frames still waiting for their GROUP record (files: at the end, and before a keyframe)."""
        if not self._group:
            return []
        w = BitWriter()
        w.bits(len(self._group) - 1, 8)
        for kind, q, prev in self._group:
            w.bits(GROUP_TYPES.index(kind), 2)
            if q is not None:
                write(w, q, prev)
        self._group = []
        return [record(GROUP, w.getvalue())]

    def _frame(self, kind: bytes, q: np.ndarray | None = None, prev: np.ndarray | None = None) -> list[bytes]:
        if not self.group_frames:
            return [record(kind, b"" if q is None else pack(q, prev))]
        self._group.append((kind, q, prev))
        return self.flush() if len(self._group) >= self.group_frames else []

    def plan_keyframe(self, frames: Iterable[np.ndarray]) -> int | None:
        """Files (a lookahead; call before the first `encode`): the first `keyframe_window_s` of `frames` (the
        same video from its start) are tracked; of `keyframe_candidates` frames with a face spread over them, the
        one whose keyframe lets the receiver's picture match every PLAN_STRIDE-th frame best (the encoder's own
        prediction, face PSNR in its face box) becomes the first keyframe. Returns its index (None: no face, or
        one candidate). Keeps only the judged frames' face regions and their keyframe JPEGs in memory."""
        s = self.settings
        if s.keyframe_candidates <= 1:
            return None
        tracker = FaceTracker(self._face)
        samples = []  # (index, its keyframe JPEG, face box, the frame's face region, face)
        for i, frame in enumerate(itertools.islice(frames, max(1, round(s.keyframe_window_s * self.fps)))):
            faces = tracker.process(frame, i / self.fps)
            if faces and i % PLAN_STRIDE == 0:
                x0, y0, x1, y1 = box = face_box(faces[0].landmarks, self.size)
                samples.append((i, self._picture(frame), box, frame[y0:y1, x0:x1].copy(),
                                faces[0]))
        if len(samples) < 2:
            return None
        picks = sorted({round(x) for x in np.linspace(0, len(samples) - 1, min(s.keyframe_candidates, len(samples)))})
        scores = {}
        for p in picks:
            key = Keyframe(samples[p][1], True, self.size)
            if not key.has_face:
                continue
            driver, last = FaceDriver(), None
            driver.motion(key.portrait.face)
            dbs = []
            for _, _, (x0, y0, x1, y1), region, face in samples:
                last = settle(to_values(driver.motion(face)) / self.step, last, s.hysteresis)
                shown = key.render(dequantise(last, self.step))
                dbs.append(psnr(shown[y0:y1, x0:x1], region))
            scores[samples[p][0]] = round(float(np.mean(dbs)), 2)
        if not scores:
            return None
        best = max(scores, key=scores.get)
        self._planned = next(jpeg for i, jpeg, *_ in samples if i == best)
        self.plan = {"keyframe_index": best, "predicted_face_psnr_db": scores}
        return best

    def _picture(self, frame: np.ndarray) -> bytes:
        return encode_picture(frame, self.settings.keyframe_quality, self.settings.keyframe_format)

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

    def _keyframe(self, frame: np.ndarray, face: bool) -> list[bytes]:
        """The frames before it (their group), then the keyframe's record."""
        out = self.flush()
        jpeg = self._planned or self._picture(frame)
        if self._planned is not None:  # the first keyframe, chosen ahead
            face, self._planned = True, None
        self.key = Keyframe(jpeg, face, self.size)
        self.driver = FaceDriver()
        if self.key.has_face:
            self.driver.motion(self.key.portrait.face)  # motion is measured from the keyframe's face
        self.prev, self.last_q, self._want_key, self._last_key = None, None, False, self.index
        self.keyframes += 1
        return [*out, record(KEYFRAME, bytes([FACE_FLAG if self.key.has_face else 0]) + jpeg)]

    def _motion(self, q: np.ndarray) -> list[bytes]:
        intra = self.prev is None or self._since_intra + 1 >= self.settings.intra_every
        prev = None if intra else self.prev
        self._since_intra = 0 if intra else self._since_intra + 1
        if intra or not self.header.from_intra:
            self.prev = q
        return self._frame(INTRA if intra else DELTA, q, prev)
