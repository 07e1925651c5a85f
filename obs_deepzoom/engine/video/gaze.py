"""Eye contact: redirect each eye towards the camera by warping the eye region with a smooth flow field.

Angle from geometry: you look at a point P on the screen (the remote face); the camera sits
`camera_above_cm` above and `camera_right_cm` to your right of P. At viewing distance D (from the iris
size) the eyes must turn by atan(dy / D) up and atan(dx / D) sideways to look into the camera.
Pixels: an eye rotating by a moves the iris centre by R sin(a) along the eye's axes, with the eyeball
radius R = 12 mm scaled by the iris (11.7 mm) diameter in pixels.

The iris disc slides over a sclera layer (the eye with its iris painted out) and only the eye aperture
shows the result, like an eyeball turning behind the lids; the upper lid follows a vertical change
(`lid_follow`). Only a box around each eye is ever written: no pixel outside the eye regions
changes. The iris moves by a sub-pixel bicubic shift (texture kept sharp).

Gating: per face the correction fades in/out (`smoothing_ms`) and is off during blinks, for small irises,
and when the estimated gaze (head pose + iris position in the eye) is farther than `lookaway_cone_deg`
from the screen point."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ...settings import GazeSettings

EYEBALL_RADIUS_MM, IRIS_DIAMETER_MM = 12.0, 11.7
# 468-mesh eye contours (closed loops), eyes in image order (image-left first), and their upper lids
APERTURE = (np.array([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7]),
            np.array([362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382]))
CORNERS = ((33, 133), (362, 263))  # image-left corner, image-right corner
LIDS = ((159, 145), (386, 374))  # upper, lower lid centre
_K3, _K5 = np.ones((3, 3), np.uint8), np.ones((5, 5), np.uint8)


@dataclass
class EyeFrame:
    centre: np.ndarray  # midpoint of the corners
    u: np.ndarray  # unit vector along the eye (image-left -> image-right)
    v: np.ndarray  # unit vector across it (downwards)
    width: float
    radius_px: float  # eyeball radius in pixels
    iris: np.ndarray  # iris centre


def eye_frame(face, eye: int) -> EyeFrame:
    a, b = CORNERS[eye]
    p, q = face.landmarks[a, :2].astype(np.float64), face.landmarks[b, :2].astype(np.float64)
    width = float(np.linalg.norm(q - p))
    u = (q - p) / max(width, 1e-6)
    v = np.array([-u[1], u[0]])
    iris = face.iris[eye]
    diameter = (np.linalg.norm(iris[1] - iris[3]) + np.linalg.norm(iris[2] - iris[4])) / 2
    return EyeFrame((p + q) / 2, u, v, width, EYEBALL_RADIUS_MM * diameter / IRIS_DIAMETER_MM,
                    iris[0].astype(np.float64))


def eye_angles(face, eye: int) -> tuple[float, float]:
    """Eye-in-head rotation (pitch up > 0, yaw towards image right > 0) from the iris offset in the eye."""
    f = eye_frame(face, eye)
    offset = f.iris - f.centre
    h = float(np.clip(offset @ f.u / f.radius_px, -1, 1))
    vv = float(np.clip(offset @ f.v / f.radius_px, -1, 1))
    return -math.degrees(math.asin(vv)), math.degrees(math.asin(h))


def gaze_angles(face) -> tuple[float, float]:
    """Estimated gaze (pitch, yaw) in degrees: head pose plus the mean eye-in-head rotation."""
    eyes = [eye_angles(face, e) for e in (0, 1)]
    return face.pitch + float(np.mean([e[0] for e in eyes])), face.yaw + float(np.mean([e[1] for e in eyes]))


def camera_direction(face) -> tuple[float, float]:
    """(pitch, yaw) a gaze from this face to the camera has, from the head position (tvec, mm)."""
    tx, ty, tz = (float(x) for x in face.tvec.ravel())
    tz = max(tz, 1.0)
    return math.degrees(math.atan2(ty, tz)), -math.degrees(math.atan2(tx, tz))


def correction_deg(s: GazeSettings, distance_cm: float) -> tuple[float, float]:
    """(up, towards image right) rotation from looking at the screen point to looking at the target."""
    d = max(distance_cm, 10.0)
    target_x, target_y = (0.0, 0.0) if s.target == "camera" else (s.custom_right_cm, -s.custom_down_cm)
    point_x, point_y = -s.camera_right_cm, -s.camera_above_cm  # the screen point, camera at the origin
    up = math.degrees(math.atan2(target_y - point_y, d))
    right_user = math.degrees(math.atan2(target_x - point_x, d))
    lim = s.max_correction_deg
    return float(np.clip(up * s.strength, -lim, lim)), float(np.clip(-right_user * s.strength, -lim, lim))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _soft_polygon(pts: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased polygon coverage (0..1) with 1/4-pixel vertex precision."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.rint((pts - origin) * 4).astype(np.int32)], 255, cv2.LINE_AA, 2)
    return mask.astype(np.float32) / 255


def warp_eye(frame: np.ndarray, out: np.ndarray, face, eye: int, d_pitch: float, d_yaw: float,
             lid_follow: float) -> tuple[int, int, int, int] | None:
    """Rotate one eye of `frame` into `out` by (d_pitch up, d_yaw towards image right) degrees.

    Like a real eyeball turning behind the lids: the iris disc slides by R sin(angle) over a sclera layer
    (the eye with its iris painted out), and only the eye aperture shows the result. The upper lid follows
    a vertical turn (`lid_follow`), carrying the aperture with it; lids, lashes and skin are otherwise kept.
    Iris parts that were hidden under a lid continue the nearest visible iris pixels. Returns the box that may
    have changed, or None."""
    f = eye_frame(face, eye)
    shift = f.radius_px * (-math.sin(math.radians(d_pitch)) * f.v + math.sin(math.radians(d_yaw)) * f.u)
    if np.hypot(*shift) < 0.05:
        return None
    pts = face.landmarks[APERTURE[eye], :2].astype(np.float64)
    r = float(face.iris_diameter_px) / 2
    h, w = frame.shape[:2]
    # the box: the aperture, the shift and (above) the band the upper lid moves in
    pad = int(math.ceil(np.abs(shift).max())) + 3
    top = pad + (int(math.ceil(0.3 * f.width)) if lid_follow > 0 else 0)
    x0, y0 = int(math.floor(pts[:, 0].min())) - pad, int(math.floor(pts[:, 1].min())) - top
    x1, y1 = int(math.ceil(pts[:, 0].max())) + pad + 1, int(math.ceil(pts[:, 1].max())) + pad + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    shape, origin = (y1 - y0, x1 - x0), (x0, y0)
    patch = frame[y0:y1, x0:x1].astype(np.float32)
    xs, ys = np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32)[:, None]  # broadcast
    aperture = _soft_polygon(pts, origin, shape)
    inner = cv2.erode(aperture, _K3)  # a pixel inside the lids: their margins and lash shadows left out
    dist = np.hypot(xs - f.iris[0], ys - f.iris[1]) / max(r, 1.0)  # distance from the iris centre, in radii
    disc = np.clip(r * (1.08 - dist) + 0.5, 0, 1)  # the iris with a thin ring of sclera
    if float((disc * aperture).sum()) < 4:
        return None
    sclera = _sclera_layer(patch, aperture, inner, disc)
    # the iris layer lives in a box around the disc and where it moves to
    m = int(math.ceil(r + np.abs(shift).max())) + 3
    cx, cy = int(f.iris[0]) - x0, int(f.iris[1]) - y0
    box = (slice(max(cy - m, 0), min(cy + m + 1, shape[0])), slice(max(cx - m, 0), min(cx + m + 1, shape[1])))
    iris, alpha = _iris_layer(patch[box], inner[box], dist[box], r)
    size = (alpha.shape[1], alpha.shape[0])
    move = np.float32([[1, 0, shift[0]], [0, 1, shift[1]]])
    iris = cv2.warpAffine(iris, move, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(alpha, move, size, flags=cv2.INTER_LINEAR)[..., None]
    amount = float(shift @ f.v) * lid_follow
    if abs(amount) >= 0.3:  # the upper lid, the aperture and the white of the eye under it move with the gaze
        map_x, map_y = _lid_maps(face, eye, f, amount, origin, shape)
        patch, sclera, aperture = (cv2.remap(x, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
                                   for x in (patch, sclera, aperture))
    under = patch + aperture[..., None] * (sclera - patch)
    sclera_box = sclera[box]
    under[box] += (aperture[box][..., None] * alpha) * (iris - sclera_box)
    np.copyto(out[y0:y1, x0:x1], cv2.convertScaleAbs(under))
    return x0, y0, x1, y1


def _sclera_layer(patch: np.ndarray, aperture: np.ndarray, inner: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """The eye with its iris painted out: along each row the hole is interpolated linearly between the
    white of the eye on its left and on its right (lightly smoothed first), which keeps the shading of the
    lids' shadows and the corners and never pulls in lid or lash pixels. Only the rows around the hole
    are computed."""
    hole = cv2.dilate(((disc > 0.05) & (aperture > 0.05)).astype(np.uint8), _K5)
    used = np.flatnonzero(hole.any(1))
    if not len(used):
        return patch
    band = slice(max(used[0] - 4, 0), min(used[-1] + 5, hole.shape[0]))
    out = patch.copy()
    out[band] = _fill_rows(patch[band], inner[band], hole[band])
    return out


def _fill_rows(patch: np.ndarray, inner: np.ndarray, hole: np.ndarray) -> np.ndarray:
    valid = (inner > 0.5) & (cv2.dilate(hole, _K3) == 0)  # clear of the iris's soft edge
    hole = hole > 0
    weight = valid.astype(np.float32)
    den = cv2.blur(weight, (5, 3))[..., None]
    smooth = cv2.blur(patch * weight[..., None], (5, 3)) / np.maximum(den, 1e-6)
    w = valid.shape[1]
    cols = np.arange(w)
    left, right = _nearest_in_rows(valid)
    rows = np.arange(valid.shape[0])[:, None]
    wl = np.where(left >= 0, np.where(right < w, right - cols, 1), 0).astype(np.float32)[..., None]
    wr = np.where(right < w, np.where(left >= 0, cols - left, 1), 0).astype(np.float32)[..., None]
    fallback = (patch * weight[..., None]).sum((0, 1)) / max(float(weight.sum()), 1.0)
    total = wl + wr
    fill = (smooth[rows, np.clip(left, 0, w - 1)] * wl + smooth[rows, np.clip(right, 0, w - 1)] * wr
            + fallback * (total == 0)) / np.maximum(total, 1)
    fill = np.where(valid[..., None], smooth, fill)
    fill = cv2.GaussianBlur(fill, (5, 5), 1.0)  # no row-to-row streaks
    soft = cv2.blur(hole.astype(np.float32), (3, 3))[..., None]  # no seam at the hole's edge
    return patch + (fill - patch) * soft


def _nearest_in_rows(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the column of the nearest valid pixel of its row to the left (-1: none) and to the right
    (width: none)."""
    w = valid.shape[1]
    cols = np.arange(w)
    left = np.maximum.accumulate(np.where(valid, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(valid, cols, w)[:, ::-1], axis=1)[:, ::-1]
    return left, right


def _iris_layer(patch: np.ndarray, inner: np.ndarray, dist: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Colour and coverage of the iris to slide: its visible pixels, and where a lid hid it, the nearest
    visible iris pixel of the same column continued to the iris's outline. That keeps the iris's own
    shading (lit from above, an iris is lighter at the bottom): flat mean colours drew a dark arc below a
    raised iris that made it look taller than it is."""
    seen = (inner > 0.5) & (dist < 1.0)
    h = seen.shape[0]
    above, below = (x.T for x in _nearest_in_rows(seen.T))  # nearest visible row above (-1) / below (h)
    rows = np.arange(h)[:, None]
    near = np.where((above >= 0) & ((below >= h) | (rows - above <= below - rows)), above, below)
    has = (near >= 0) & (near < h)
    overall = patch[seen].mean(0) if seen.any() else patch.reshape(-1, 3).mean(0)
    cols = np.broadcast_to(np.arange(seen.shape[1]), near.shape)
    hidden = np.where(has[..., None], patch[np.clip(near, 0, h - 1), cols], overall)
    a = inner[..., None]
    colour = a * patch + (1 - a) * hidden
    alpha = np.clip(r * (1 - dist) / 1.5 + 0.5, 0, 1)  # soft over 1.5 px: no ring of sclera travels along
    return colour, alpha.astype(np.float32)


def _lid_maps(face, eye: int, f: EyeFrame, amount: float, origin: tuple[int, int],
              shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Remap that shifts the band around the upper lid by `amount` px along the eye's vertical, following
    the lid's curve, tapering to zero at the corners, away from the lid and at the patch border (smooth:
    no seams)."""
    px, py = np.arange(shape[1], dtype=np.float32), np.arange(shape[0], dtype=np.float32)[:, None]
    rx, ry = px + (origin[0] - f.centre[0]), py + (origin[1] - f.centre[1])
    along, across = rx * f.u[0] + ry * f.u[1], rx * f.v[0] + ry * f.v[1]
    lid = (face.landmarks[APERTURE[eye][:9], :2] - f.centre) @ np.stack([f.u, f.v], 1)  # corner to corner
    order = np.argsort(lid[:, 0])
    lid_v = np.interp(along, lid[order, 0], lid[order, 1])
    weight = np.exp(-((across - lid_v) / max(2.0, 0.15 * f.width)) ** 2)
    weight *= _smoothstep((1 - np.abs(along) / max(f.width / 2, 1e-6)) / 0.4)
    # the patch border (smoothstep is monotonic: the taper of the nearest edge is the smallest)
    weight *= np.minimum(_smoothstep(np.minimum(px, shape[1] - 1 - px) / 2.0),
                         _smoothstep(np.minimum(py, shape[0] - 1 - py) / 2.0)) * amount
    return (px - weight * f.v[0]).astype(np.float32), (py - weight * f.v[1]).astype(np.float32)


class GazeCorrector:
    name = "gaze"
    kind = "video"
    settings_type = GazeSettings
    obs_title = "DeepZoom Eye Contact"
    needs_faces = True
    needs_iris = True

    def __init__(self, settings: GazeSettings):
        self.settings = settings
        self._weights: dict[int, tuple[float, float]] = {}  # face id -> (weight, timestamp)
        self.last: list[dict] = []  # per face: what was decided this frame (for evals, debug and remotes)

    def _gate(self, face, wanted: tuple[float, float]) -> tuple[float, str]:
        s = self.settings
        if any(face.eye_closed):
            return 0.0, "blink"
        if face.iris_diameter_px < s.min_iris_px:
            return 0.0, "eyes too small"
        # how far you look from the screen point: the head's direction, or the eyes' sideways turn in the head
        # (the eyes' own pitch is what we correct, so it cannot tell looking away from looking at the screen)
        cam = camera_direction(face)
        head = math.hypot(face.pitch - (cam[0] - wanted[0]), face.yaw - (cam[1] - wanted[1]))
        eyes_sideways = abs(float(np.mean([eye_angles(face, e)[1] for e in (0, 1)])))
        off = max(head, eyes_sideways)
        cone = s.lookaway_cone_deg
        if off > cone + 5:
            return 0.0, "looking away"
        return float(np.clip((cone + 5 - off) / 5, 0, 1)), "on"

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        s = self.settings
        self.last = []
        if not s.enabled or not ctx.faces:
            return frame
        out = None
        for face in ctx.faces:
            wanted = correction_deg(s, face.distance_cm)
            estimated = gaze_angles(face)
            target, reason = self._gate(face, wanted)
            weight, t_prev = self._weights.get(face.face_id, (0.0, ctx.timestamp))
            dt = max(ctx.timestamp - t_prev, 0.0)
            step = 1.0 if s.smoothing_ms <= 0 else min(1.0, dt * 1000 / s.smoothing_ms)
            weight = weight + float(np.clip(target - weight, -step, step))
            if target == 0.0 and reason in ("blink", "looking away"):
                weight = 0.0  # switch off at once: half-corrected closed or averted eyes look wrong
            self._weights[face.face_id] = (weight, ctx.timestamp)
            applied = (wanted[0] * weight, wanted[1] * weight)
            self.last.append({"face_id": face.face_id, "state": reason, "weight": weight, "wanted_deg": wanted,
                              "applied_deg": applied, "estimated_deg": estimated})
            if weight <= 1e-3:
                continue
            if out is None:
                out = frame.copy()
            for eye in (0, 1):
                warp_eye(frame, out, face, eye, applied[0], applied[1], s.lid_follow)
            if s.debug:
                self._draw_debug(out, face, applied)
        return frame if out is None else out

    @staticmethod
    def _draw_debug(out: np.ndarray, face, applied: tuple[float, float]) -> None:
        for eye in (0, 1):
            f = eye_frame(face, eye)
            start = f.iris
            for angles, color in (((0.0, 0.0), (0, 0, 255)), (applied, (0, 255, 0))):
                p, y = angles
                tip = start + 4 * f.radius_px * (-math.sin(math.radians(p)) * f.v + math.sin(math.radians(y)) * f.u)
                cv2.arrowedLine(out, tuple(int(round(c * 4)) for c in start), tuple(int(round(c * 4)) for c in tip),
                                color, 1, cv2.LINE_AA, 2, 0.3)
