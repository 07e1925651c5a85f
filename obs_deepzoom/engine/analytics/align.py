"""Aligned face chips for the analytics models, from the tracker's 468-point mesh.

Five points (eye centres, nose tip, mouth corners) are fitted by a similarity transform (rotation, scale,
shift) to the same points of the canonical face; the chip is the square around the canonical face's brows,
chin and cheeks, widened by `padding` (a fraction of the face's width on each side, as dlib's face chips are
defined), resampled to `size` pixels. `template_chip` fits them to fixed pixel positions instead (the 112 px
five-point layout face-recognition networks of the ArcFace family were trained on)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ..canonical import load_canonical_face

EYE_RINGS = ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
             (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466))
NOSE_TIP, MOUTH_CORNERS = 1, (61, 291)
BROWS = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
CHIN, CHEEKS = 152, (234, 454)


def five_points(mesh: np.ndarray) -> np.ndarray:
    """5x2: image-left eye centre, image-right eye centre, nose tip, image-left and image-right mouth corner."""
    xy = np.asarray(mesh, np.float64)[:, :2]
    eyes = [xy[list(ring)].mean(0) for ring in EYE_RINGS]
    return np.stack([*eyes, xy[NOSE_TIP], xy[MOUTH_CORNERS[0]], xy[MOUTH_CORNERS[1]]])


@lru_cache(maxsize=1)
def _template() -> tuple[np.ndarray, np.ndarray]:
    """The canonical face's five points and its face box (x0, y0, x1, y1), both in canonical mm."""
    face = load_canonical_face()
    pts = five_points(face)
    x0, x1 = face[CHEEKS[0], 0], face[CHEEKS[1], 0]
    y0, y1 = face[list(BROWS), 1].min(), face[CHIN, 1]
    return pts, np.array([min(x0, x1), y0, max(x0, x1), y1])


def chip_transform(mesh: np.ndarray, size: int, padding: float) -> np.ndarray:
    """2x3 affine taking frame pixels to chip pixels."""
    src = five_points(mesh)
    tpl, (x0, y0, x1, y1) = _template()
    side = max(x1 - x0, y1 - y0) * (1 + 2 * padding)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    chip = (tpl - [cx - side / 2, cy - side / 2]) * (size / side)  # template points in chip pixels
    m, _ = cv2.estimateAffinePartial2D(src, chip, method=cv2.LMEDS)
    if m is None:  # degenerate points (should not happen with a tracked mesh)
        raise ValueError("the five face points are degenerate")
    return m


# where the five points sit in the 112 px chips of ArcFace-family recognition networks (eye centres, nose tip,
# mouth corners: the layout their training crops used)
RECOGNITION_POINTS_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                                   [41.5493, 92.3655], [70.7299, 92.2041]])


def _warp(frame: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The size x size chip an affine `m` (frame -> chip pixels) gives, borders replicated. A face much larger
    than the chip is warped at a whole multiple of the size first and then area-averaged down (no aliasing)."""
    k = int(max(1, min(8, 1 / max(float(np.hypot(m[0, 0], m[0, 1])), 1e-6))))
    mk = m * k
    mk[:, 2] += (k - 1) / 2  # chip pixel i averages big pixels k*i … k*i+k-1, whose centre is k*i + (k-1)/2
    big = cv2.warpAffine(frame, mk, (size * k, size * k), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return big if k == 1 else cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)


def chip(frame: np.ndarray, mesh: np.ndarray, size: int, padding: float = 0.2) -> np.ndarray:
    """The aligned size x size chip around the canonical face (BGR uint8, like the frame)."""
    return _warp(frame, chip_transform(mesh, size, padding), size)


def template_transform(mesh: np.ndarray, points: np.ndarray) -> np.ndarray:
    """2x3 similarity taking frame pixels to chip pixels: the least-squares fit of the mesh's five points to
    `points` (5x2), every point counted (a robust fit may drop the mouth on one frame and not the next)."""
    src, dst = five_points(mesh), np.asarray(points, np.float64)
    if not np.isfinite(src).all() or np.ptp(src, axis=0).max() < 1e-3:
        raise ValueError("the five face points are degenerate")
    x, y = src[:, 0], src[:, 1]
    one, zero = np.ones_like(x), np.zeros_like(x)
    # u = a x - b y + tx, v = b x + a y + ty
    rows = np.concatenate([np.stack([x, -y, one, zero], 1), np.stack([y, x, zero, one], 1)])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, np.concatenate([dst[:, 0], dst[:, 1]]), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


def template_chip(frame: np.ndarray, mesh: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    """The size x size chip with the mesh's five points fitted to `points` (5x2 chip pixels)."""
    return _warp(frame, template_transform(mesh, points), size)
