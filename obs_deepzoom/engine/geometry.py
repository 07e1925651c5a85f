"""Rotated square regions of interest and the affine maps between a frame and a model's crop."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


def _wrap(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


@dataclass(frozen=True)
class Roi:
    """A square of side `size` px centred on (cx, cy), rotated by `angle` rad (MediaPipe's convention)."""

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    @classmethod
    def around(cls, points: np.ndarray, start: int, end: int, scale: float) -> Roi:
        """Square around the axis-aligned box of `points`, rotated so points[start]->points[end] is horizontal."""
        lo, hi = points[:, :2].min(0), points[:, :2].max(0)
        (x0, y0), (x1, y1) = points[start, :2], points[end, :2]
        angle = _wrap(-math.atan2(-(y1 - y0), x1 - x0))
        return cls(float(lo[0] + hi[0]) / 2, float(lo[1] + hi[1]) / 2, float((hi - lo).max()) * scale, angle)

    def crop_to_image(self, crop: int, mirror: bool = False) -> np.ndarray:
        """2x3 affine taking crop pixel coordinates (0..crop) to frame coordinates."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        k = self.size / crop
        a = np.array([[c * k, -s * k], [s * k, c * k]])
        if mirror:
            a[:, 0] = -a[:, 0]
        t = np.array([self.cx, self.cy]) - a @ np.array([crop / 2, crop / 2])
        return np.hstack([a, t[:, None]])

    def crop(self, frame: np.ndarray, crop: int, mirror: bool = False,
             border: int = cv2.BORDER_REPLICATE) -> tuple[np.ndarray, np.ndarray]:
        """Warp the ROI out of frame into a crop x crop image; returns (crop, crop->frame affine)."""
        # Sampling uses the affine as MediaPipe's CPU path does (no half-pixel shift: measured closest to
        # its results); a mirrored crop is the exact pixel flip of the plain one.
        patch = cv2.warpAffine(frame, self.crop_to_image(crop), (crop, crop),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=border)
        if mirror:
            patch = np.ascontiguousarray(patch[:, ::-1])
        return patch, self.crop_to_image(crop, mirror)

    def box(self) -> tuple[float, float, float, float]:
        """Axis-aligned (x, y, w, h) of the unrotated square."""
        return self.cx - self.size / 2, self.cy - self.size / 2, self.size, self.size


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Map Nx2 (or Nx3: z is scaled by the affine's scale) points through a 2x3 affine."""
    out = pts.astype(np.float32, copy=True)
    out[:, :2] = pts[:, :2] @ m[:, :2].T + m[:, 2]
    if pts.shape[1] > 2:
        out[:, 2] = pts[:, 2] * math.hypot(m[0, 0], m[1, 0])
    return out


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0
