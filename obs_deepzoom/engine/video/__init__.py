"""Video effects: each takes a BGR frame and the frame context and returns a frame (never raises for bad
luck such as a lost face: it passes the frame through)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .avatar import PhotoAvatar
from .background import Background
from .gaze import GazeCorrector
from .landmarks import LandmarkOverlay
from .restore import FaceRestore


class VideoEffect(Protocol):
    name: str
    needs_faces: bool
    needs_iris: bool  # of the faces it needs: the iris model's output (else the tracker skips that model)

    def process(self, frame: np.ndarray, ctx) -> np.ndarray: ...


VIDEO_EFFECTS: dict[str, type] = {e.name: e for e in (LandmarkOverlay, GazeCorrector, Background, FaceRestore,
                                                          PhotoAvatar)}
