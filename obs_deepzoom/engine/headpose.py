"""Head pose from 2D landmarks by solvePnP against a canonical 3D face, and camera intrinsics from a FOV.

The canonical face is derived from the face-mesh model's own 3D output on the sample portraits (see
canonical.py): each mesh is rotated into a face frame (x: eye corner to eye corner, y: forehead to chin),
scaled so the outer eye corners are 90 mm apart and averaged. Angles follow the camera's view: yaw > 0 when
the face turns towards image right, pitch > 0 when it looks up, roll > 0 when it tilts clockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Landmarks that move little with expression (nose bridge, eye corners, brows, forehead, cheekbones).
RIGID = np.array([1, 4, 5, 6, 9, 10, 19, 33, 50, 70, 94, 98, 116, 127, 133, 151, 168, 195, 197, 234, 263,
                  280, 300, 327, 345, 356, 362, 454])
OUTER_EYE_CORNERS_MM = 90.0


def face_frame(pts3d: np.ndarray) -> np.ndarray:
    """Rotation whose rows are the face's x (image-left eye -> image-right eye), y (down) and z axes."""
    x = pts3d[263] - pts3d[33]
    x /= np.linalg.norm(x)
    y = pts3d[152] - pts3d[10]
    z = np.cross(x, y)
    z /= np.linalg.norm(z)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def camera_matrix(width: int, height: int, fov_deg: float) -> np.ndarray:
    f = (width / 2) / math.tan(math.radians(fov_deg) / 2)
    return np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]], np.float64)


@dataclass
class Pose:
    pitch: float
    yaw: float
    roll: float
    rvec: np.ndarray
    tvec: np.ndarray  # mm, camera coordinates


def angles(rot: np.ndarray) -> tuple[float, float, float]:
    forward = rot @ np.array([0.0, 0.0, -1.0])  # the canonical face looks towards -z (the camera)
    yaw = math.degrees(math.atan2(forward[0], -forward[2]))
    pitch = math.degrees(math.atan2(-forward[1], math.hypot(forward[0], forward[2])))
    roll = math.degrees(math.atan2(rot[1, 0], rot[0, 0]))
    return pitch, yaw, roll


class HeadPose:
    def __init__(self, canonical: np.ndarray):
        self.model = canonical[RIGID].astype(np.float64)

    def solve(self, landmarks: np.ndarray, k: np.ndarray, guess: Pose | None = None) -> Pose:
        img = landmarks[RIGID, :2].astype(np.float64)
        if guess is not None:
            ok, rvec, tvec = cv2.solvePnP(self.model, img, k, None, guess.rvec.copy(), guess.tvec.copy(),
                                          useExtrinsicGuess=True, flags=cv2.SOLVEPNP_ITERATIVE)
        else:
            ok, rvec, tvec = cv2.solvePnP(self.model, img, k, None, flags=cv2.SOLVEPNP_SQPNP)
        rot, _ = cv2.Rodrigues(rvec)
        return Pose(*angles(rot), rvec, tvec)
