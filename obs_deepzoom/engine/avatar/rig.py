"""The portrait's rig: control points (face mesh, irises, two rings around the head for hair and ears, the
frame border) and how a Motion moves them. The mesh gets the expression, the lids and irises the eye state,
everything above the chin the head's rotation / shift / scale, the neck less of it, the border nothing."""

from __future__ import annotations

import numpy as np

from ..headpose import face_frame
from .motion import Motion, pivot_of
from .topology import CHIN, EYE_CORNERS, FACE_OVAL, FOREHEAD, LID_CREASE, LOWER_LID, UPPER_LID, euler, from_euler

# rings around the head: scale of the face oval about its centre, depth behind the face (iod), share of the head
# motion. The outer ring stays put: outside it nothing moves (only the region inside it is redrawn); between
# the rings hair and ears stretch, spread over two bands so that they do not fold at large turns; the
# background does not stretch (the person is composited over a still backdrop).
RINGS = ((1.35, 0.5, 1.0), (1.9, 1.0, 0.5), (2.6, 1.5, 0.0))
NECK_FADE = 0.6  # below the chin, head motion fades out over this many face heights
BORDER_STEPS = 6  # fixed points per frame edge
CREASE_FOLLOW = 0.35  # how far the lid crease moves with the lid when the eye closes
BORDER_DEPTH = 1e6


def soft_clamp(x: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """x for small values, easing into +-limit (tanh): turning further than the limit slows the avatar down
    instead of stopping it with a jolt."""
    limit = np.maximum(limit, 1e-6)
    return limit * np.tanh(x / limit)


class Rig:
    def __init__(self, landmarks: np.ndarray, iris: np.ndarray, size: tuple[int, int]):
        self.mesh = landmarks.astype(np.float64)
        self.frame = face_frame(self.mesh.copy())
        self.iod = max(float(np.linalg.norm(self.mesh[33, :2] - self.mesh[263, :2])), 1e-6)
        self.pivot = pivot_of(self.mesh, self.frame, self.iod)
        self.size = size
        iris_pts, self.iris_eye = self._iris_points(iris)
        rings, ring_weight = self._rings()
        border = self._border(size)
        self.points = np.vstack([self.mesh, iris_pts, rings, border])  # N x 3
        n_mesh, n_iris = len(self.mesh), len(iris_pts)
        self.iris_slice = slice(n_mesh, n_mesh + n_iris)
        self.ring_slice = slice(n_mesh + n_iris, n_mesh + n_iris + len(rings))
        self.n_moving = n_mesh + n_iris + len(rings)
        self.head_weight = self._head_weight(self.points[: self.n_moving])
        self.head_weight[self.ring_slice] *= ring_weight

    def _iris_points(self, iris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per eye the iris centre and its two boundary points farthest apart horizontally (the vertical ones
        are often under the lids), at the depth of the eye's lids."""
        pts, eyes = [], []
        for e in (0, 1):
            bound = iris[e, 1:]
            side = bound[np.argsort(bound[:, 0])[[0, -1]]]
            z = self.mesh[np.r_[UPPER_LID[e], LOWER_LID[e]], 2].mean()
            for p in (iris[e, 0], *side):
                pts.append([p[0], p[1], z])
                eyes.append(e)
        return np.array(pts), np.array(eyes)

    def _rings(self) -> tuple[np.ndarray, np.ndarray]:
        oval = self.mesh[FACE_OVAL]
        centre = oval.mean(0)
        out, weights = [], []
        for k, depth, weight in RINGS:
            ring = centre + (oval - centre) * [k, k, 1]
            ring = ring + self.frame[2] * depth * self.iod  # farther back than the face surface
            out.append(ring[:: 1 if k < 1.5 else 2])
            weights.append(np.full(len(out[-1]), weight))
        return np.vstack(out), np.concatenate(weights)

    @staticmethod
    def _border(size: tuple[int, int]) -> np.ndarray:
        w, h = size
        xs = np.linspace(0, w - 1, BORDER_STEPS + 1)
        ys = np.linspace(0, h - 1, BORDER_STEPS + 1)[1:-1]
        pts = [(x, 0) for x in xs] + [(x, h - 1) for x in xs] + [(0, y) for y in ys] + [(w - 1, y) for y in ys]
        return np.array([[x, y, BORDER_DEPTH] for x, y in pts], np.float64)

    def _head_weight(self, pts: np.ndarray) -> np.ndarray:
        """1 above the chin, fading to 0 below it (the neck and shoulders stay)."""
        down = self.frame[1]
        top, chin = self.mesh[FOREHEAD] @ down, self.mesh[CHIN] @ down
        height = max(chin - top, 1e-6)
        below = (pts @ down - chin) / height
        w = np.clip(1 - below / NECK_FADE, 0, 1)
        w[: len(self.mesh)] = 1.0
        return w

    # ---- per frame --------------------------------------------------------------------------------------
    def targets(self, motion: Motion, expression: float = 1.0, head: float = 1.0,
                max_angles_deg: tuple[float, float, float] = (25, 20, 30)) -> tuple[np.ndarray, np.ndarray]:
        """Target positions (N x 2, output pixels) and depths (N, larger = farther) for `motion`."""
        f, iod = self.frame, self.iod
        pts = self.points.copy()
        mesh = pts[: len(self.mesh)]
        mesh += expression * (motion.expression @ f) * iod
        self._eyes(pts, motion)

        limits = np.radians(max_angles_deg)
        angles = soft_clamp(euler(motion.rotation) * head, limits)
        rot = f.T @ from_euler(angles) @ f  # face frame -> image axes
        shift = (motion.shift @ f) * iod * head
        scale = 1 + (motion.scale - 1) * head
        moving = pts[: self.n_moving]
        moved = self.pivot + scale * (moving - self.pivot) @ rot.T + shift
        w = self.head_weight[:, None]
        pts[: self.n_moving] = moving + w * (moved - moving)
        return pts[:, :2], pts[:, 2]

    def _eyes(self, pts: np.ndarray, motion: Motion) -> None:
        """Lids and irises from the eye state, in the (expression-moved) mesh before the head motion."""
        src = self.mesh
        for e in (0, 1):
            r = float(motion.eye_open[e])
            up, lo, crease = UPPER_LID[e], LOWER_LID[e], LID_CREASE[e]
            gap = src[up] - src[lo]
            pts[up] = pts[lo] + r * gap
            pts[crease] -= (1 - min(r, 1.0)) * CREASE_FOLLOW * gap
            a, b = pts[EYE_CORNERS[e][0]], pts[EYE_CORNERS[e][1]]
            width = max(float(np.linalg.norm(b[:2] - a[:2])), 1e-6)
            u = (b - a) / width
            v = np.array([-u[1], u[0], 0.0])
            sel = np.flatnonzero(self.iris_eye == e) + self.iris_slice.start
            corners = list(EYE_CORNERS[e])
            pts[sel] += (pts[corners] - src[corners]).mean(0)  # the expression's move of the eye
            along, across = motion.iris[e] * width
            pts[sel] += along * u + across * v
            # close the iris with the lids: squash it onto the lower lid's centre line
            centre_gap = gap[len(up) // 2]
            g = centre_gap / max(float(np.linalg.norm(centre_gap)), 1e-6)
            base = pts[lo[len(lo) // 2]]
            height = (pts[sel] - base) @ g
            pts[sel] -= (1 - min(r, 1.0)) * height[:, None] * g
