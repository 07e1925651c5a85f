"""Auto framing: a virtual camera operator. A crop window with the frame's aspect follows the tracked face(s)
and is scaled back to the frame's size.

Composition (where the window wants to be): the face (forehead-to-chin height from the mesh) fills
`face_height` of the picture, the eyes sit at `eye_line` from the top, at least `head_room` above the
forehead, and the face moves sideways by up to `look_room` away from the direction the head turns (full at
30 degrees of yaw). With several faces (`group="all"`) the window holds every face with the same margins; the
zoom never exceeds `max_zoom` and the window always stays inside the frame.

Motion (how the window gets there): a dead zone per axis (the target moves only when the wanted position
leaves it by more than `dead_zone` of the window, or the size by more than `zoom_dead_zone`), then a
critically damped spring per axis, integrated in closed form over the real time between frames (timestamps,
not frame counts: the same motion at any frame rate), settling within 2 % in `settle_s`. A step never
overshoots: the spring's solution from rest is monotonic, and a move that would cross its target (a target
that jumped back while moving) stops there. Once within a quarter pixel of the target the window snaps onto it
and stays exactly still. Face lost: the target is held `hold_s`, then goes back to the full frame, settling in
`return_s`.

Rendering: the window's bounding integer pixel box is resized (cv2.INTER_LINEAR) to its size at the output
scale, and the output is cut from it at a whole output-pixel offset, so the window moves in steps of one
output pixel (finer than the input's pixels when zoomed) without a warp. Within a pixel of zoom 1 the
input frame is returned as it is."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from ...settings import FramingSettings

SETTLE_OMEGA_T = 5.8335  # (1 + w t) exp(-w t) = 0.02: a critically damped step is within 2 % after t
SNAP_PX = 0.25  # input px: within this of the target (and nearly still), the window sits exactly on it
FULL_YAW_DEG = 30.0  # head yaw at which the whole look room is used
FULL_PX = 1.0  # a window this close to the frame's height (input px) shows the frame itself
MAX_DT = 0.5  # s; a longer gap between frames (a pause, a seek) is integrated as this


@dataclass
class Window:
    """The crop window: centre (cx, cy) and height h in input pixels; its width is h times the frame's aspect."""

    cx: float
    cy: float
    h: float

    def as_array(self) -> np.ndarray:
        return np.array([self.cx, self.cy, self.h])

    def box(self, aspect: float) -> tuple[float, float, float, float]:
        """(x0, y0, width, height) in input pixels."""
        w = self.h * aspect
        return self.cx - w / 2, self.cy - self.h / 2, w, self.h


def clamp_window(cx: float, cy: float, h: float, size: tuple[int, int], max_zoom: float) -> Window:
    """The window limited to the zoom range and moved inside a frame of `size` (w, h)."""
    fw, fh = size
    h = float(np.clip(h, fh / max_zoom, fh))
    w = h * fw / fh
    return Window(float(np.clip(cx, w / 2, fw - w / 2)), float(np.clip(cy, h / 2, fh - h / 2)), h)


def compose(faces, size: tuple[int, int], s: FramingSettings) -> Window | None:
    """Where the window wants to be for these faces (None: no face), inside the frame, zoom limited."""
    if not faces:
        return None
    if s.group == "largest" or len(faces) == 1:
        faces = [max(faces, key=lambda f: float(np.ptp(f.landmarks[:, 1])))]
    fw, fh = size
    aspect = fw / fh
    lo = np.array([f.landmarks[:, :2].min(0) for f in faces])
    hi = np.array([f.landmarks[:, :2].max(0) for f in faces])
    eyes_y = float(np.mean([f.iris[:, 0, 1].mean() for f in faces]))
    face_h = float((hi[:, 1] - lo[:, 1]).max())
    left, top = float(lo[:, 0].min()), float(lo[:, 1].min())
    right, bottom = float(hi[:, 0].max()), float(hi[:, 1].max())
    # the size: the (largest) face at its share of the height; a group also needs every face inside with the
    # head room above, one face height below (chin and neck) and half a face height at the sides
    h = face_h / s.face_height
    if len(faces) > 1:
        span_w = right - left + face_h
        span_h = (bottom - top + face_h) / max(1.0 - s.head_room, 0.5)
        h = max(h, span_w / aspect, span_h)
    h = float(np.clip(h, fh / s.max_zoom, fh))
    w = h * aspect
    # horizontal: the faces' centre, moved away from where the head turns (mean yaw of the faces framed)
    yaw = float(np.mean([f.yaw for f in faces]))
    look = s.look_room * float(np.clip(yaw / FULL_YAW_DEG, -1.0, 1.0))
    cx = (left + right) / 2 + look * w
    # vertical: the eye line at its height, unless that leaves less than the head room above the forehead
    highest = top - s.head_room * h  # the window's top may not be lower than this
    y0 = min(eyes_y - s.eye_line * h, highest)
    if len(faces) > 1:  # the lowest chin stays half a face height above the bottom, head room permitting
        y0 = min(max(y0, bottom + face_h / 2 - h), highest)
    return clamp_window(cx, y0 + h / 2, h, size, s.max_zoom)


def damp(x: np.ndarray, v: np.ndarray, target: np.ndarray, omega: float, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact step of a critically damped spring x'' = w^2 (target - x) - 2 w x' over dt (per element); an
    element that would cross its target stops on it (no overshoot even when the target jumped back)."""
    e0 = x - target
    k = v + omega * e0
    decay = math.exp(-omega * dt)
    e = (e0 + k * dt) * decay
    v_new = (v - omega * k * dt) * decay
    crossed = (e * e0 < 0) | ((e0 == 0) & (v == 0))
    e = np.where(crossed, 0.0, e)
    v_new = np.where(crossed, 0.0, v_new)
    return target + e, v_new


class AutoFrame:
    name = "framing"
    kind = "video"
    settings_type = FramingSettings
    obs_title = "DeepZoom Auto Frame"
    needs_faces = True
    needs_iris = False
    reframes = True  # faces tracked on its input do not match its output: it goes last in a chain

    def __init__(self, settings: FramingSettings):
        self.settings = settings
        self._scratch: dict = {}  # render's intermediate buffer, reused frame to frame
        self.reset()

    def reset(self) -> None:
        self._size: tuple[int, int] | None = None
        self._pos = np.zeros(3)  # window (cx, cy, h), as rendered
        self._vel = np.zeros(3)
        self._target = np.zeros(3)
        self._last_ts: float | None = None
        self._last_seen: float | None = None  # timestamp the last face was seen
        self._returning = False
        self.last: dict | None = None  # the window of the last frame, for evaluation and status

    def window(self) -> Window:
        return Window(*map(float, self._pos))

    def step(self, faces, size: tuple[int, int], timestamp: float) -> Window:
        """Move the window for one frame of `size` (w, h) at `timestamp` (s); returns where it is."""
        s = self.settings
        full = np.array([size[0] / 2, size[1] / 2, float(size[1])])
        if self._size != size:  # first frame, or the source changed size: start on the full frame
            self._size = size
            self._pos, self._vel, self._target = full.copy(), np.zeros(3), full.copy()
            self._last_ts, self._last_seen, self._returning = None, None, False
        if self._last_ts is not None and timestamp < self._last_ts:  # time went back (a seek, a loop): the
            self._last_ts = None  # clocks restart here; a face seen before counts as seen now (the hold restarts)
            self._last_seen = None if self._last_seen is None else timestamp
        dt = 0.0 if self._last_ts is None else float(np.clip(timestamp - self._last_ts, 0.0, MAX_DT))
        self._last_ts = timestamp
        # first the time since the last frame, towards the target that held during it; then this frame's faces
        # set the target for what follows (so the motion does not depend on the frame rate)
        settle = s.return_s if self._returning else s.settle_s
        if dt > 0:
            self._pos, self._vel = damp(self._pos, self._vel, self._target, SETTLE_OMEGA_T / settle, dt)
        near = (np.abs(self._pos - self._target) < SNAP_PX) & (np.abs(self._vel) < SNAP_PX * SETTLE_OMEGA_T / settle)
        self._pos = np.where(near, self._target, self._pos)
        self._vel = np.where(near, 0.0, self._vel)
        wanted = compose(faces, size, s)
        if wanted is not None:
            self._last_seen = timestamp
            self._returning = False
            want = wanted.as_array()
            # the dead zone, per axis: position as a share of the current target window, size relative to it
            th = self._target[2]
            limit = np.array([s.dead_zone * th * size[0] / size[1], s.dead_zone * th, s.zoom_dead_zone * th])
            move = np.abs(want - self._target) > limit
            if move.any():
                self._target = np.where(move, want, self._target)
                # the window must stay inside the frame with the new size: re-clamp the whole target
                self._target = clamp_window(*self._target, size, s.max_zoom).as_array()
        elif self._last_seen is None or timestamp - self._last_seen >= s.hold_s - 1e-9:
            if not np.array_equal(self._target, full):
                self._returning = True
            self._target = full.copy()
        win = clamp_window(*self._pos, size, s.max_zoom)
        self.last = {"window": win, "target": Window(*map(float, self._target)), "faces": len(faces),
                     "returning": self._returning}
        return win

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        fh, fw = frame.shape[:2]
        if not self.settings.enabled or fh == 0 or fw == 0:
            return frame
        win = self.step(ctx.faces, (fw, fh), ctx.timestamp)
        ctx.warps.append(lambda plane: render(plane, win))  # e.g. OBS's alpha plane, cut the same way
        return render(frame, win, self._scratch)


def crop_plan(size: tuple[int, int], win: Window) -> tuple[tuple[int, int, int, int], tuple[int, int],
                                                          tuple[int, int]] | None:
    """How `render` cuts the window out of a frame of `size` (w, h): the integer source box (x0, y0, x1, y1),
    the size (w, h) it is resized to and the output's offset (x, y) in that; None for the full frame."""
    fw, fh = size
    x0, y0, w, h = win.box(fw / fh)
    if h >= fh - FULL_PX:
        return None
    scale = fh / h
    xi0, yi0 = max(int(math.floor(x0)), 0), max(int(math.floor(y0)), 0)
    xi1, yi1 = min(int(math.ceil(x0 + w)), fw), min(int(math.ceil(y0 + h)), fh)
    ox, oy = max(int(round((x0 - xi0) * scale)), 0), max(int(round((y0 - yi0) * scale)), 0)
    ow = max(int(round((xi1 - xi0) * scale)), ox + fw)
    oh = max(int(round((yi1 - yi0) * scale)), oy + fh)
    return (xi0, yi0, xi1, yi1), (ow, oh), (ox, oy)


def render(frame: np.ndarray, win: Window, scratch: dict | None = None) -> np.ndarray:
    """The window's picture at the frame's size: its bounding integer box resized (bilinear) to the output
    scale, the output cut at a whole output-pixel offset. The frame itself when the window is within a
    pixel of the frame's height."""
    fh, fw = frame.shape[:2]
    plan = crop_plan((fw, fh), win)
    if plan is None:
        return frame
    (xi0, yi0, xi1, yi1), size, (ox, oy) = plan
    shape = (size[1], size[0], *frame.shape[2:])
    big = None if scratch is None else scratch.get("big")
    if big is None or big.shape != shape or big.dtype != frame.dtype:
        big = np.empty(shape, frame.dtype)  # kept in `scratch`: a fresh large buffer per frame costs more than
        if scratch is not None:  # the resize itself (its pages are faulted in anew each time)
            scratch["big"] = big
    cv2.resize(frame[yi0:yi1, xi0:xi1], size, dst=big, interpolation=cv2.INTER_LINEAR)
    return big[oy:oy + fh, ox:ox + fw].copy()
