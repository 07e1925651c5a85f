"""Face super-resolution: FSRCNN (x2 / x4, luma only) on the tracked face, blended into a standard upscale.

'upscale' mode: the frame is enlarged to `output_height` with bicubic (or Lanczos); each tracked face region is
super-resolved from the input pixels and its luma detail added on top. 'enhance' mode keeps the size, for a
picture that was already enlarged from a lower resolution: the face region is reduced by `scale` and rebuilt.
Only the luma changes: adding the same value to B, G and R moves Y and keeps Cb/Cr exactly (BT.601), so the
colours of the standard upscale stay. Faces come from the face tracker (ctx.faces); without one the frame is
just upscaled (or passed through)."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from ...settings import RestoreSettings
from ..models import SuperResolution
from .deblock import SR, X2_UP_TO, Deblocker, amount, blockiness, weights_for

ALIGN = 8  # face regions are whole multiples of this many input pixels: few distinct model shapes
FEATHER = 0.08  # blend ramp width, as a fraction of the face region
SCORE_SMOOTHING = 0.9  # per frame, of the blockiness score (about 10 frames to follow a change)


def to_luma(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)[..., 0]


@lru_cache(maxsize=16)
def _weights(h: int, w: int) -> np.ndarray:
    """Blend weights of an h x w region: 1 inside, ramping to 0 over the outer FEATHER of each side."""

    def ramp(n: int) -> np.ndarray:
        d = np.minimum(np.arange(n), np.arange(n)[::-1]) + 0.5
        return np.clip(d / max(1.0, FEATHER * n), 0, 1).astype(np.float32)

    return ramp(h)[:, None] * ramp(w)[None, :]


def face_box(landmarks: np.ndarray, margin: float, size: tuple[int, int], max_margin: float = 0.0,
             region_px: int = 0) -> tuple[int, int, int, int] | None:
    """Square-ish region (x0, y0, x1, y1) around the face landmarks, `margin` x the face size (more, up to
    `max_margin` x, while the side stays within `region_px`: small faces get more of the head for the same
    cost), aligned and clipped to the frame (w, h); None when too little of it is inside."""
    w, h = size
    lo, hi = landmarks[:, :2].min(0), landmarks[:, :2].max(0)
    face = float((hi - lo).max())
    centre, side = (lo + hi) / 2, face * max(margin, min(max_margin, region_px / max(face, 1.0)))
    side = ALIGN * max(2, int(np.ceil(side / ALIGN)))
    x0, y0 = (np.round(centre - side / 2)).astype(int)
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(w, x0 + side), min(h, y0 + side)
    x0, y0 = max(0, x1 - side), max(0, y1 - side)
    if x1 - x0 < 2 * ALIGN or y1 - y0 < 2 * ALIGN:
        return None
    return int(x0), int(y0), int(x1), int(y1)


class FaceRestore:
    name = "restore"
    kind = "video"
    settings_type = RestoreSettings
    obs_title = "DeepZoom Face Restore"
    needs_faces = True
    needs_iris = False  # only where the face is

    def __init__(self, settings: RestoreSettings):
        self.settings = settings
        self._models: dict[tuple[int, str], SuperResolution] = {}
        self._deblockers: dict[tuple, Deblocker] = {}
        self.regions: list[tuple[int, int, int, int]] = []  # restored regions of the last output frame
        self._score: float | None = None  # blockiness, averaged over the frames so far

    @property
    def resizes(self) -> bool:
        """Upscale mode enlarges the picture: faces found on its input no longer match its output."""
        return self.settings.mode == "upscale"

    def _model(self, factor: float) -> int:
        """FSRCNN's scale for a face enlarged `factor` times: 'auto' takes x4 (the deblocker's, steadier on
        compressed pictures) unless the picture is clean and enlarged at most X2_UP_TO times, where x4 reduced
        to 2x over-sharpens (-0.5 dB against bicubic on clean x2 faces, x2: -0.03)."""
        model = self.settings.model
        if model == "auto":
            clean = self._score is None or amount(self._score) == 0
            return 2 if clean and factor <= X2_UP_TO else SR
        return int(model[1:])

    def _sr(self, scale: int) -> SuperResolution:
        key = (scale, self.settings.device, self.settings.precision)
        if key not in self._models:
            self._models[key] = SuperResolution(*key)
        return self._models[key]

    def _blocks(self, luma: np.ndarray) -> tuple[float, tuple[int, int]]:
        """Deblocking strength for this frame (0 when off, clean, or with the x2 model: the deblocker was trained
        through x4) and the JPEG grid's phase in `luma`, the frame at the resolution it was coded at; the averaged
        score also decides the 'auto' model."""
        s = self.settings
        if s.model == "x2" or (not s.deblock and s.model == "x4"):
            return 0.0, (0, 0)
        score, phase = blockiness(luma)
        if self._score is not None:  # steadied over frames: the strength must not flicker in a video
            score = SCORE_SMOOTHING * self._score + (1 - SCORE_SMOOTHING) * score
        self._score = score
        return (amount(score) * s.deblock_strength if s.deblock else 0.0), phase

    def _source(self, y: np.ndarray, box: tuple[int, int, int, int], factor: float, strength: float,
                origin: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
        """The region `box` of the luma `y` for FSRCNN (to be enlarged `factor` times), deblocked at `strength`
        with `y`'s pixel (0, 0) at `origin` of the 8x8 grid, and the residual for FSRCNN x4's result (None:
        nothing to add)."""
        x0, y0, x1, y1 = box
        if strength == 0:
            return y[y0:y1, x0:x1], None
        key = (self.settings.device, weights_for(factor))
        if key not in self._deblockers:
            self._deblockers[key] = Deblocker(*key)
        return self._deblockers[key].run(y, box, origin, strength)

    def output_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """Output (w, h) for an input (w, h): the same in enhance mode, `output_height` lines in upscale mode."""
        s, (w, h) = self.settings, size
        if not s.enabled or s.mode == "enhance":
            return size
        return max(1, round(w * s.output_height / h)), s.output_height

    def super_resolve(self, luma: np.ndarray, size: tuple[int, int], residual: np.ndarray | None = None,
                      model: int = SR) -> np.ndarray:
        """`luma` (uint8 or float 0..255) rebuilt at `size` (w, h) by FSRCNN x`model`, float32 0..255;
        `residual` (4x the size of `luma`) is added to the x4 model's result before it is reduced."""
        sr = self._sr(model)
        y = sr.run(luma)
        y = cv2.scaleAdd(y, 255.0, residual) if residual is not None and sr.scale == SR else y * np.float32(255)
        if y.shape[::-1] != size:
            interp = cv2.INTER_AREA if y.shape[1] > size[0] else cv2.INTER_CUBIC
            y = cv2.resize(y, size, interpolation=interp)
        return y

    def _paste(self, out: np.ndarray, box: tuple[int, int, int, int], y: np.ndarray) -> None:
        """Add the luma detail `y` over `out[box]` with soft edges (in place)."""
        x0, y0, x1, y1 = box
        region = out[y0:y1, x0:x1]
        detail = np.subtract(y, to_luma(region), dtype=np.float32)
        cv2.multiply(detail, _weights(y1 - y0, x1 - x0), dst=detail)
        out[y0:y1, x0:x1] = cv2.add(region, cv2.merge((detail, detail, detail)), dtype=cv2.CV_8U)

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        s = self.settings
        if not s.enabled:
            return frame
        h, w = frame.shape[:2]
        out_w, out_h = self.output_size((w, h))
        self.regions = []
        out = None
        if s.mode == "upscale":
            if out_h <= h:  # nothing to rebuild: a plain resize
                return cv2.resize(frame, (out_w, out_h), interpolation=cv2.INTER_AREA)
            interp = cv2.INTER_LANCZOS4 if s.interpolation == "lanczos" else cv2.INTER_CUBIC
            out = cv2.resize(frame, (out_w, out_h), interpolation=interp)
        fx, fy = out_w / w, out_h / h
        luma = to_luma(frame) if ctx.faces else None
        if luma is not None:  # blockiness of the whole picture as it was coded: steadier than of a face
            coded = luma if s.mode == "upscale" else cv2.resize(luma, (w // s.scale, h // s.scale),
                                                                 interpolation=cv2.INTER_AREA)
            strength, (px, py) = self._blocks(coded)
        for face in ctx.faces:
            box = face_box(face.landmarks, s.margin, (w, h), s.max_margin, s.region_px)
            if box is None:
                continue
            x0, y0, x1, y1 = box
            target = (round(x0 * fx), round(y0 * fy), round(x1 * fx), round(y1 * fy))
            if s.mode == "enhance":  # the face as it was before it was enlarged
                source = cv2.resize(luma[y0:y1, x0:x1], ((x1 - x0) // s.scale, (y1 - y0) // s.scale),
                                    interpolation=cv2.INTER_AREA)
                origin = (x0 // s.scale - px, y0 // s.scale - py)
                source, residual = self._source(source, (0, 0, *source.shape[::-1]), s.scale, strength, origin)
                out = frame.copy() if out is None else out
                factor = s.scale
            else:
                source, residual = self._source(luma, box, fy, strength, (-px, -py))
                factor = fy
            size = (target[2] - target[0], target[3] - target[1])
            self._paste(out, target, self.super_resolve(source, size, residual, self._model(factor)))
            self.regions.append(target)
        return frame if out is None else out
