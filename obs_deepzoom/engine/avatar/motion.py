"""Motion: what the driver does, stripped of who the driver is.

A `Motion` holds the head's rotation, shift and scale relative to the driver's own reference (neutral) frame,
the expression as landmark offsets in the face's frame (x along the eyes, y down the face, z out of it) in
units of the inter-ocular distance, eye openness relative to the reference, and iris shifts in eye widths.
`FaceDriver` turns tracked faces into Motion; the speech driver (speech.py) makes it from audio. Anything
that can consume Motion (the geometric warp here, or a neural generator later) can render an avatar."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..face import FaceState
from ..headpose import RIGID, face_frame
from .topology import EYE_CORNERS, euler, from_euler, similarity

PIVOT_DEPTH_IOD = 1.3  # the head turns about a point this many inter-ocular distances behind the face
OPEN_FLOOR = 0.75  # eye openness reaches 0 at this fraction of the blink threshold's aperture


@dataclass
class Motion:
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))  # in the face frame
    shift: np.ndarray = field(default_factory=lambda: np.zeros(3))  # pivot shift in the face frame, iod units
    scale: float = 1.0
    expression: np.ndarray = field(default_factory=lambda: np.zeros((468, 3)))  # face frame, iod units
    eye_open: np.ndarray = field(default_factory=lambda: np.ones(2))  # 1 = as in the reference, 0 = closed
    iris: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))  # (along, across) the eye, eye widths

    def blend(self, other: Motion, t: float) -> Motion:
        """(1 - t) * self + t * other, rotations through their angles."""
        def mix(a, b):
            return a + t * (b - a)
        angles = mix(euler(self.rotation), euler(other.rotation))
        return Motion(from_euler(angles), mix(self.shift, other.shift), float(mix(self.scale, other.scale)),
                      mix(self.expression, other.expression), mix(self.eye_open, other.eye_open),
                      mix(self.iris, other.iris))


def eye_iris_offset(points: np.ndarray, iris_centre: np.ndarray, eye: int) -> np.ndarray:
    """Iris centre relative to the eye corners' midpoint: (along, across) the eye axis in eye widths."""
    a, b = points[EYE_CORNERS[eye][0], :2], points[EYE_CORNERS[eye][1], :2]
    width = max(float(np.linalg.norm(b - a)), 1e-6)
    u = (b - a) / width
    v = np.array([-u[1], u[0]])
    rel = iris_centre - (a + b) / 2
    return np.array([rel @ u, rel @ v]) / width


@dataclass
class _Reference:
    landmarks: np.ndarray
    frame: np.ndarray  # face frame rotation (rows = axes)
    iod: float
    pivot: np.ndarray
    aperture: np.ndarray
    iris: np.ndarray


def pivot_of(landmarks: np.ndarray, frame: np.ndarray, iod: float) -> np.ndarray:
    return landmarks[RIGID].mean(0) - frame[2] * PIVOT_DEPTH_IOD * iod


class FaceDriver:
    """Motion of a tracked face relative to its reference frame, captured from the first face seen after
    construction or `recalibrate()` (the driver should look at the camera with a neutral face then)."""

    def __init__(self, blink_threshold: float = 0.2):
        self.blink_threshold = blink_threshold
        self.ref: _Reference | None = None

    def recalibrate(self) -> None:
        self.ref = None

    @property
    def calibrated(self) -> bool:
        return self.ref is not None

    def _capture(self, face: FaceState) -> _Reference:
        lm = face.landmarks.astype(np.float64)
        frame = face_frame(lm.copy())
        iod = max(float(np.linalg.norm(lm[33] - lm[263])), 1e-6)
        iris = np.array([eye_iris_offset(lm, face.iris[e, 0], e) for e in (0, 1)])
        return _Reference(lm, frame, iod, pivot_of(lm, frame, iod), np.array(face.eye_aperture, np.float64), iris)

    def motion(self, face: FaceState) -> Motion:
        if self.ref is None:
            self.ref = self._capture(face)
        ref, lm = self.ref, face.landmarks.astype(np.float64)
        s, rot, t = similarity(ref.landmarks[RIGID], lm[RIGID])
        aligned = (lm - t) @ rot / s  # the current face with the head motion undone, in reference pixels
        expression = (aligned - ref.landmarks) @ ref.frame.T / ref.iod
        rot_face = ref.frame @ rot @ ref.frame.T
        shift = ref.frame @ (s * rot @ ref.pivot + t - ref.pivot) / ref.iod
        floor = self.blink_threshold * OPEN_FLOOR
        ap = np.array(face.eye_aperture, np.float64)
        eye_open = np.clip((ap - floor) / np.maximum(ref.aperture - floor, 1e-3), 0, 1.2)
        iris = np.array([eye_iris_offset(lm, face.iris[e, 0], e) for e in (0, 1)]) - ref.iris
        return Motion(rot_face, shift, s, expression, eye_open, iris)
