"""Renderers turn (portrait layout, Motion) into an output frame. `GeometricRenderer` is the built-in one:
rig targets -> dense mesh warp of the portrait and its person alpha -> composite over the backdrop -> inner
mouth. A neural generator would implement the same two methods (see docs/avatar.md)."""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from ...settings import AvatarSettings
from .motion import Motion
from .mouth import cavity_strength, paint_mouth, teeth_colour
from .portrait import Layout
from .rig import Rig
from .warp import MeshWarp

MOVE_EPS = 0.05  # px: control points closer than this to their rest place count as still


class AvatarRenderer(Protocol):
    def __init__(self, layout: Layout, settings: AvatarSettings): ...

    def render(self, motion: Motion) -> np.ndarray: ...


def backdrop(layout: Layout, settings: AvatarSettings, plate: np.ndarray) -> np.ndarray:
    """What the moving person is composited on: the portrait's own background (`plate`), a colour or a blur
    of it."""
    if settings.background == "color":
        out = np.empty_like(plate)
        out[:] = settings.color
        return out
    if settings.background == "blur":
        sigma = settings.blur * layout.size[1] / 720
        return cv2.GaussianBlur(plate, (0, 0), sigma)
    return plate


def over(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """BGRA `fg` over BGR `bg` in 8-bit arithmetic (within 1 level of float blending, 2-3x faster)."""
    a3 = cv2.cvtColor(fg[:, :, 3], cv2.COLOR_GRAY2BGR)
    colour = cv2.cvtColor(fg, cv2.COLOR_BGRA2BGR)
    return cv2.add(cv2.multiply(colour, a3, scale=1 / 255), cv2.multiply(bg, cv2.bitwise_not(a3), scale=1 / 255))


class GeometricRenderer:
    def __init__(self, layout: Layout, settings: AvatarSettings):
        self.layout, self.settings = layout, settings
        self.rig = Rig(layout.landmarks, layout.iris, layout.size)
        self.warp = MeshWarp(self.rig.points, layout.size, settings.grid)
        self.image = layout.image  # BGRA being warped (recoloured copies when colours are matched)
        self.teeth = teeth_colour(layout.image, layout.landmarks)
        self._compose(layout.plate)
        mesh = self.rig.mesh
        self.neutral = (mesh - mesh.mean(0)) @ self.rig.frame.T / self.rig.iod  # face frame, iod units
        self.targets: np.ndarray = self.rig.points[:, :2].copy()  # the last frame's control points

    def _compose(self, plate: np.ndarray) -> None:
        self.backdrop = backdrop(self.layout, self.settings, plate)
        alpha = self.image[:, :, 3:4].astype(np.float32) * np.float32(1 / 255)
        self.still = (self.image[:, :, :3] * alpha + self.backdrop * (1 - alpha)).astype(np.uint8)

    def recolor(self, luts: np.ndarray | None) -> None:
        """Apply per-channel tables (3 x 256, B, G, R) to the portrait and its plate; None restores them."""
        if luts is None:
            self.image = self.layout.image
            self._compose(self.layout.plate)
            return
        table = np.dstack([luts[0], luts[1], luts[2], np.arange(256, dtype=np.uint8)])  # 1 x 256 x 4
        self.image = cv2.LUT(self.layout.image, table)
        self._compose(cv2.LUT(self.layout.plate, table[:, :, :3]))

    def render(self, motion: Motion) -> np.ndarray:
        s = self.settings
        targets, depth = self.rig.targets(motion, s.expression, s.head_motion,
                                          (s.max_yaw_deg, s.max_pitch_deg, s.max_roll_deg))
        self.targets = targets
        out = self.still.copy()
        box = self._moving_box(targets)
        if box is None:
            return out
        x0, y0, x1, y1 = box
        fg = self._warped(targets, depth, box)
        out[y0:y1, x0:x1] = over(fg, self.backdrop[y0:y1, x0:x1])
        if s.mouth:
            paint_mouth(out, targets, cavity_strength(self.rig.points[:, :2], targets), s.teeth, self.teeth)
        return out

    def _warped(self, targets: np.ndarray, depth: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The warped BGRA portrait inside `box`."""
        mx, my = self.warp.maps(targets, depth, box)
        return cv2.remap(self.image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

    def _moving_box(self, targets: np.ndarray) -> tuple[int, int, int, int] | None:
        """The box covering every moved triangle that shows some of the person, where it was or where it goes
        (elsewhere the still picture is exact: a moved triangle of pure background draws the backdrop)."""
        moved = np.abs(targets - self.rig.points[:, :2]).max(1) > MOVE_EPS
        if not moved.any():
            return None
        tris = self.warp.tris[moved[self.warp.tris].any(1)]
        src, dst = self.rig.points[:, :2][tris], targets[tris]  # M x 3 x 2
        person = self._has_person(src) | self._has_person(dst)
        if not person.any():
            return None
        pts = np.vstack([src[person].reshape(-1, 2), dst[person].reshape(-1, 2)])
        w, h = self.layout.size
        x0, y0 = np.maximum(np.floor(pts.min(0)).astype(int) - 1, 0)
        x1, y1 = np.minimum(np.ceil(pts.max(0)).astype(int) + 2, [w, h])
        return (int(x0), int(y0), int(x1), int(y1)) if x1 > x0 and y1 > y0 else None

    def _has_person(self, tri: np.ndarray) -> np.ndarray:
        """Per triangle (M x 3 x 2): whether its bounding box holds any person alpha in the portrait."""
        if not hasattr(self, "_person_sum"):
            self._person_sum = cv2.integral((self.layout.image[:, :, 3] > 0).astype(np.uint8))
        w, h = self.layout.size
        lo = np.clip(np.floor(tri.min(1)).astype(int), 0, [w, h])
        hi = np.clip(np.ceil(tri.max(1)).astype(int) + 1, 0, [w, h])
        ii = self._person_sum
        area = ii[hi[:, 1], hi[:, 0]] - ii[lo[:, 1], hi[:, 0]] - ii[hi[:, 1], lo[:, 0]] + ii[lo[:, 1], lo[:, 0]]
        return area > 0


class NaiveRenderer(GeometricRenderer):
    """The same avatar drawn with the textbook per-triangle warp (the benchmark's peer and the fast path's
    reference in tests)."""

    def _warped(self, targets: np.ndarray, depth: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        x0, y0, x1, y1 = box
        return self.warp.render_naive(self.image, targets, depth)[y0:y1, x0:x1]
