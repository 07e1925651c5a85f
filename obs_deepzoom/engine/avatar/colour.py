"""Optional colour/lighting match: the portrait's colours are moved towards the driver's face (per-channel
mean and contrast inside the face oval), so the avatar sits in the same light as the room it replaces."""

from __future__ import annotations

import cv2
import numpy as np

from .topology import FACE_OVAL

SHRINK = 0.8  # the oval shrunk about its centre: skin only, no hair or background


def face_stats(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """2 x 3 (mean, std) of the B, G, R values inside the (shrunk) face oval."""
    oval = landmarks[FACE_OVAL, :2]
    centre = oval.mean(0)
    poly = centre + (oval - centre) * SHRINK
    h, w = image.shape[:2]
    x0, y0 = np.clip(np.floor(poly.min(0)).astype(int), 0, [w - 1, h - 1])
    x1, y1 = np.clip(np.ceil(poly.max(0)).astype(int) + 1, 1, [w, h])
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [np.round(poly - [x0, y0]).astype(np.int32)], 1)
    mean, std = cv2.meanStdDev(np.ascontiguousarray(image[y0:y1, x0:x1, :3]), mask=mask)
    return np.array([mean.ravel(), std.ravel()])


def match_luts(portrait: np.ndarray, driver: np.ndarray, strength: float) -> np.ndarray:
    """3 x 256 uint8 tables taking the portrait's stats `strength` of the way to the driver's."""
    x = np.arange(256, dtype=np.float64)
    gain = 1 + strength * (np.clip(driver[1] / np.maximum(portrait[1], 1e-3), 0.5, 2.0) - 1)
    shift = strength * (driver[0] - portrait[0])
    out = (x[None, :] - portrait[0][:, None]) * gain[:, None] + portrait[0][:, None] + shift[:, None]
    return np.clip(np.round(out), 0, 255).astype(np.uint8)
