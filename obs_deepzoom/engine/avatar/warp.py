"""The dense warp: a triangle mesh over the whole picture (face mesh, irises, rings around the head, the frame
border), fixed topology from the portrait, moved per frame to target positions.

Fast path (`MeshWarp.render`): the backward map (output pixel -> portrait pixel) is piecewise affine. It is
evaluated on a coarse grid by rasterising each target triangle's index (far triangles first, so the nearer
surface wins when the head turns; folded and collapsed triangles are skipped), bilinearly upsampled to full
size (the map is continuous, so this is exact away from triangle edges) and applied with one remap of the
4-channel portrait (colour + person alpha). `render_naive` is the textbook per-triangle warpAffine that the
benchmark compares against."""

from __future__ import annotations

import cv2
import numpy as np

SHIFT = 4  # sub-pixel bits for rasterising
MIN_AREA_RATIO = 0.02  # a target triangle smaller than this share of its source area is collapsed: not drawn
MIN_SOURCE_AREA = 0.05  # px^2: a source triangle this thin maps its pixels onto a line: not drawn
MAX_GAIN = 3.5  # Frobenius norm of a triangle's target->source linear map (1.41 = unchanged) beyond which it is
# too squeezed to draw: rasterising touches pixels just outside it, where its map would run far away


def delaunay(points: np.ndarray) -> np.ndarray:
    """Triangles (M x 3 indices) of the Delaunay triangulation of N x 2 points (no duplicates allowed)."""
    lo, hi = points.min(0) - 2, points.max(0) + 2
    sub = cv2.Subdiv2D((int(np.floor(lo[0])), int(np.floor(lo[1])), int(np.ceil(hi[0] - lo[0])) + 1,
                        int(np.ceil(hi[1] - lo[1])) + 1))
    pts = points.astype(np.float32)
    index = {}
    for i, (x, y) in enumerate(pts):
        vid = sub.insert((float(x), float(y)))
        index[vid] = i
    tris = []
    for x0, y0, x1, y1, x2, y2 in sub.getTriangleList():
        ids = []
        for x, y in ((x0, y0), (x1, y1), (x2, y2)):
            vid, _ = sub.findNearest((float(x), float(y)))
            ids.append(index.get(vid, -1))
        if min(ids) >= 0 and len(set(ids)) == 3:
            tris.append(ids)
    return np.array(tris, np.int32)


def unique_points(points: np.ndarray, min_dist: float = 0.05) -> np.ndarray:
    """Nudge coincident points apart (Delaunay needs distinct points)."""
    pts = points.astype(np.float64).copy()
    seen: set[tuple[int, int]] = set()
    for i, p in enumerate(pts):
        key = (round(p[0] / min_dist), round(p[1] / min_dist))
        while key in seen:
            p += min_dist * 1.5
            key = (round(p[0] / min_dist), round(p[1] / min_dist))
        seen.add(key)
        pts[i] = p
    return pts


def _signed_areas(p: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def fill_nearest(ids: np.ndarray, hole: np.ndarray) -> None:
    """Give each hole pixel of `ids` (in place) the value of the nearest non-hole pixel."""
    if hole.all():
        ids[:] = 0
        return
    _, labels = cv2.distanceTransformWithLabels(hole.astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    known = ids.ravel()[np.flatnonzero(~hole.ravel())]  # labels number the non-hole pixels in scan order
    ids[hole] = known[labels[hole] - 1]


class MeshWarp:
    """Warps a picture whose control points are `source` (N x 2) to place them at per-frame targets."""

    def __init__(self, source: np.ndarray, size: tuple[int, int], grid: int = 4):
        self.source = source[:, :2].astype(np.float64)
        self.tris = delaunay(unique_points(self.source))
        self.size, self.grid = size, grid
        w, h = size
        self.coarse = (-(-w // grid), -(-h // grid))
        gx = (np.arange(self.coarse[0], dtype=np.float32) + 0.5) * grid - 0.5
        gy = (np.arange(self.coarse[1], dtype=np.float32) + 0.5) * grid - 0.5
        self.gx, self.gy = np.meshgrid(gx, gy)
        self.source_area = _signed_areas(self.source, self.tris)
        self._ids = np.empty(self.coarse[::-1], np.int32)

    def visible(self, target: np.ndarray) -> np.ndarray:
        """Triangles to draw: facing the same way as in the source (a folded one is the far side of the
        nose or cheek as the head turns), not collapsed, and not degenerate in the source."""
        area = _signed_areas(target, self.tris)
        ratio = area / np.where(np.abs(self.source_area) < MIN_SOURCE_AREA, np.inf, self.source_area)
        return ratio > MIN_AREA_RATIO

    def affines(self, target: np.ndarray) -> np.ndarray:
        """Per triangle, the 3 x 2 matrix A with source = [x, y, 1] @ A for target points (x, y)."""
        t = target[self.tris]  # M x 3 x 2
        x = np.concatenate([t, np.ones((len(self.tris), 3, 1))], axis=2)
        s = self.source[self.tris]
        det = np.linalg.det(x)
        ok = np.abs(det) > 1e-6
        out = np.zeros((len(self.tris), 3, 2))
        out[:, 2] = s.mean(1)  # collapsed: everything maps to the source centroid (never drawn anyway)
        out[ok] = np.linalg.solve(x[ok], s[ok])
        return out

    def maps(self, target: np.ndarray, depth: np.ndarray | None = None,
             box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """float32 remap coordinates for control points moved to `target` (N x 2), for the pixels of `box`
        (x0, y0, x1, y1; default the whole frame); `depth` (N, larger = farther) orders overlapping triangles."""
        target = target[:, :2].astype(np.float64)
        a = self.affines(target)
        gain = np.sqrt((a[:, :2] ** 2).sum((1, 2)))
        keep = np.flatnonzero(self.visible(target) & (gain < MAX_GAIN))
        if depth is not None:
            keep = keep[np.argsort(-depth[self.tris[keep]].mean(1), kind="stable")]
        a = a.astype(np.float32)
        g = self.grid
        fixed = np.round(((target + 0.5) / g - 0.5) * (1 << SHIFT)).astype(np.int32)[self.tris]
        ids = self._ids
        ids.fill(-1)
        for i in keep:
            cv2.fillConvexPoly(ids, fixed[i], int(i), lineType=cv2.LINE_4, shift=SHIFT)
        hole = ids < 0
        if hole.any():  # where culled triangles left gaps, extend the nearest drawn triangle's map
            fill_nearest(ids, hole)
        w, h = self.size
        x0, y0, x1, y1 = box or (0, 0, w, h)
        # coarse cells whose samples surround the box's pixels (one extra cell each side for interpolation)
        cx0, cy0 = max(x0 // g - 1, 0), max(y0 // g - 1, 0)
        cx1, cy1 = min(-(-x1 // g) + 1, self.coarse[0]), min(-(-y1 // g) + 1, self.coarse[1])
        sub = ids[cy0:cy1, cx0:cx1]
        gx, gy = self.gx[cy0:cy1, cx0:cx1], self.gy[cy0:cy1, cx0:cx1]
        mx = a[sub, 0, 0] * gx + a[sub, 1, 0] * gy + a[sub, 2, 0]
        my = a[sub, 0, 1] * gx + a[sub, 1, 1] * gy + a[sub, 2, 1]
        up = ((cx1 - cx0) * g, (cy1 - cy0) * g)
        ox, oy = x0 - cx0 * g, y0 - cy0 * g  # the box inside the upsampled block
        mx = cv2.resize(mx, up, interpolation=cv2.INTER_LINEAR)[oy:oy + y1 - y0, ox:ox + x1 - x0]
        my = cv2.resize(my, up, interpolation=cv2.INTER_LINEAR)[oy:oy + y1 - y0, ox:ox + x1 - x0]
        return mx, my

    def render(self, image: np.ndarray, target: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
        mx, my = self.maps(target, depth)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def render_naive(self, image: np.ndarray, target: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
        """Per-triangle warpAffine of each triangle's bounding box, masked and pasted (the slow reference)."""
        target = target[:, :2].astype(np.float64)
        h, w = image.shape[:2]
        out = image.copy()
        keep = np.flatnonzero(self.visible(target))
        if depth is not None:
            keep = keep[np.argsort(-depth[self.tris[keep]].mean(1), kind="stable")]
        for i in keep:
            t, s = target[self.tris[i]], self.source[self.tris[i]]
            x0, y0 = np.floor(t.min(0)).astype(int)
            x1, y1 = np.ceil(t.max(0)).astype(int) + 1
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
            if x1 <= x0 or y1 <= y0:
                continue
            m = cv2.getAffineTransform(s.astype(np.float32), (t - [x0, y0]).astype(np.float32))
            patch = cv2.warpAffine(image, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                   borderMode=cv2.BORDER_REFLECT_101)
            mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
            cv2.fillConvexPoly(mask, np.round(t - [x0, y0]).astype(np.int32), 1, lineType=cv2.LINE_8)
            region = out[y0:y1, x0:x1]
            np.copyto(region, patch, where=mask.astype(bool)[..., None])
        return out
