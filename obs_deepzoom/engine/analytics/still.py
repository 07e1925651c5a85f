"""Faces in a still picture: the tracker's detector and mesh on the picture (padded, so a tight face crop is
found too), then the networks once per face."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...media import read_image  # noqa: F401 (the pictures' reader, for callers)
from ...settings import FaceTrackingSettings
from ..face import FaceState, FaceTracker

MAX_FACES = 4


@dataclass
class StillFace:
    box: tuple[float, float, float, float]  # x, y, w, h in the picture's pixels
    face: FaceState  # in the padded picture's pixels
    picture: np.ndarray  # the padded picture the face's landmarks refer to


class StillFaces:
    """Finds up to MAX_FACES faces in pictures, largest first."""

    def __init__(self, device: str = "AUTO", precision: str = "auto"):
        self._args = {"device": device, "precision": precision}
        self._trackers: dict[str, FaceTracker] = {}

    def _tracker(self, detector: str) -> FaceTracker:
        if detector not in self._trackers:
            s = FaceTrackingSettings(**self._args, max_faces=MAX_FACES, detector=detector, smoothing=False)
            self._trackers[detector] = FaceTracker(s)
        t = self._trackers[detector]
        t.reset()
        return t

    def __call__(self, img: np.ndarray) -> list[StillFace]:
        pad = max(img.shape[:2]) // 4  # a face that fills the picture is found once it has a border
        big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(127, 127, 127))
        # the short-range detector first (faces near the camera), the full-range one for small faces
        faces = self._tracker("short").process(big, 0.0) or self._tracker("full").process(big, 0.0)
        out = [StillFace((f.box[0] - pad, f.box[1] - pad, f.box[2], f.box[3]), f, big) for f in faces]
        return sorted(out, key=lambda s: -s.box[2] * s.box[3])
