"""Inner-mouth synthesis: when the target mouth opens wider than the portrait's, the warp can only stretch
the lips' line, so the opening is painted: a dark cavity shaded deeper towards its middle, a hint of upper
teeth under the upper lip (and a fainter lower row), soft edges. Drawn in a small mouth-aligned patch and
warped into place, so it costs well under a millisecond."""

from __future__ import annotations

import cv2
import numpy as np

from .topology import LIPS_INNER, LIPS_INNER_LOWER, LIPS_INNER_UPPER, LOWER_LID, UPPER_LID

CAVITY_EDGE = np.array([48, 42, 100], np.float32)  # BGR: lit inner lip / gums
CAVITY_DEEP = np.array([16, 12, 28], np.float32)  # BGR: the throat
TEETH = np.array([160, 186, 206], np.float32)  # BGR: warm off-white, in the mouth's shade
UPPER_TEETH, LOWER_TEETH = (0.5, 0.18), (0.18, 0.08)  # row height: share of the opening, cap x mouth width
TEETH_SHADE = 0.7  # lower row brightness relative to the upper
PATCH_WIDTH = 96  # texture width in pixels (height follows the opening)


def polygon_area(p: np.ndarray) -> float:
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def cavity_strength(source_pts: np.ndarray, target_pts: np.ndarray) -> float:
    """How much of the target opening to paint: none when the portrait's own opening is as large (its own
    teeth and tongue are stretched instead), all of it once the opening is twice the portrait's."""
    a_src, a_tgt = polygon_area(source_pts[LIPS_INNER]), polygon_area(target_pts[LIPS_INNER])
    if a_tgt < 1.0:
        return 0.0
    return float(np.clip(2 * (1 - a_src / a_tgt), 0, 1))


def teeth_colour(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The portrait's own white, in its light: the brightest fifth of the eyes' whites, dimmed a little
    for the mouth's shade (falls back to TEETH when the eyes are too small to sample)."""
    samples = []
    for e in (0, 1):
        ring = np.r_[UPPER_LID[e], LOWER_LID[e][::-1]]
        lo, hi = np.floor(landmarks[ring, :2].min(0)).astype(int), np.ceil(landmarks[ring, :2].max(0)).astype(int)
        if (hi - lo).min() < 3 or lo.min() < 0 or hi[0] >= image.shape[1] or hi[1] >= image.shape[0]:
            continue
        mask = np.zeros((hi[1] - lo[1] + 1, hi[0] - lo[0] + 1), np.uint8)
        cv2.fillPoly(mask, [np.round(landmarks[ring, :2] - lo).astype(np.int32)], 1)
        patch = image[lo[1]:hi[1] + 1, lo[0]:hi[0] + 1, :3][mask.astype(bool)]
        samples.append(patch)
    if not samples:
        return TEETH
    px = np.concatenate(samples).astype(np.float32)
    bright = px[px.sum(1) >= np.percentile(px.sum(1), 80)]
    white = bright.mean(0)
    return (TEETH + np.clip(white * 0.85, 0, 255)) / 2  # half the portrait's white balance, half the default


def paint_mouth(out: np.ndarray, target: np.ndarray, strength: float, teeth: bool = True,
                colour: np.ndarray = TEETH) -> None:
    """Paint the inner mouth of the target landmarks (N x 2, output pixels) into `out` (BGR, in place), with
    teeth of `colour` (BGR)."""
    if strength <= 0.02:
        return
    left, right = target[LIPS_INNER_UPPER[0]], target[LIPS_INNER_UPPER[-1]]
    width = float(np.linalg.norm(right - left))
    if width < 4:
        return
    u = (right - left) / width
    v = np.array([-u[1], u[0]])
    k = PATCH_WIDTH / width  # patch px per output px
    upper = np.stack([(target[LIPS_INNER_UPPER] - left) @ u, (target[LIPS_INNER_UPPER] - left) @ v], 1) * k
    lower = np.stack([(target[LIPS_INNER_LOWER] - left) @ u, (target[LIPS_INNER_LOWER] - left) @ v], 1) * k
    top, bottom = min(upper[:, 1].min(), lower[:, 1].min()), max(upper[:, 1].max(), lower[:, 1].max())
    pad = 3
    ph = int(np.ceil(bottom - top)) + 2 * pad
    if ph <= 2 * pad + 1:
        return
    upper[:, 1] -= top - pad
    lower[:, 1] -= top - pad
    xs = np.arange(PATCH_WIDTH, dtype=np.float32)
    yu = np.interp(xs, *_sorted(upper)).astype(np.float32)
    yl = np.interp(xs, *_sorted(lower)).astype(np.float32)
    gap = np.maximum(yl - yu, 1e-3)
    ys = np.arange(ph, dtype=np.float32)[:, None]
    depth = np.clip((ys - yu) / gap, 0, 1)  # 0 at the upper lip, 1 at the lower
    middle = 1 - np.abs(2 * depth - 1)  # 1 in the middle of the opening
    side = np.clip(1 - np.abs(2 * xs / PATCH_WIDTH - 1) ** 2, 0, 1)  # darker towards the corners
    shade = np.clip(middle * 0.7 + (1 - side) * 0.5, 0, 1)[..., None]
    tex = CAVITY_EDGE + shade * (CAVITY_DEEP - CAVITY_EDGE)
    if teeth:
        soft = 1.5  # px of the patch: the teeth's free edge
        u_h = np.minimum(UPPER_TEETH[0] * gap, UPPER_TEETH[1] * PATCH_WIDTH)
        l_h = np.minimum(LOWER_TEETH[0] * gap, LOWER_TEETH[1] * PATCH_WIDTH)
        across = np.clip((1 - np.abs(2 * xs / PATCH_WIDTH - 1)) / 0.3, 0, 1)  # the row ends before the corners
        up_row = np.clip((u_h - (ys - yu)) / soft, 0, 1) * (ys >= yu - 1)
        lo_row = np.clip((l_h - (yl - ys)) / soft, 0, 1) * (ys <= yl + 1) * TEETH_SHADE
        lip_shadow = 0.7 + 0.3 * np.clip((ys - yu) / np.maximum(0.25 * u_h, 1e-3), 0, 1)
        light = (0.55 + 0.45 * side) * np.where(ys - yu < u_h, lip_shadow, 1.0)
        teeth_a = (np.clip(up_row + lo_row, 0, 1) * across)[..., None]
        tex += teeth_a * (colour.astype(np.float32) * light[..., None] - tex)
    poly = np.vstack([upper, lower[::-1]])
    mask = np.zeros((ph, PATCH_WIDTH), np.float32)
    cv2.fillPoly(mask, [np.round(poly * 16).astype(np.int32)], 1.0, lineType=cv2.LINE_AA, shift=4)
    mask = cv2.GaussianBlur(mask, (0, 0), 1.2) * np.float32(strength)
    # patch (px, py) -> output: left + (px / k) * u + ((py + top - pad) / k) * v
    m = np.array([[u[0] / k, v[0] / k, left[0] + (top - pad) / k * v[0]],
                  [u[1] / k, v[1] / k, left[1] + (top - pad) / k * v[1]]])
    corners = cv2.transform(np.array([[[0, 0], [PATCH_WIDTH, 0], [0, ph], [PATCH_WIDTH, ph]]], np.float32), m)[0]
    h, w = out.shape[:2]
    x0, y0 = np.maximum(np.floor(corners.min(0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(0)).astype(int) + 1, [w, h])
    if x1 <= x0 or y1 <= y0:
        return
    m[:, 2] -= [x0, y0]
    rgba = np.dstack([tex, mask * 255]).astype(np.float32)
    warped = cv2.warpAffine(rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=0)
    a = warped[:, :, 3:4] * np.float32(1 / 255)
    roi = out[y0:y1, x0:x1]
    roi[:] = (roi * (1 - a) + warped[:, :, :3] * a).astype(np.uint8)


def _sorted(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(p[:, 0])
    return p[order, 0], p[order, 1]
