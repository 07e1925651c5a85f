"""Background blur / replacement / colour / key with MediaPipe selfie segmentation through OpenVINO.

Per frame: the frame is reduced by an integer factor to about 320 px wide (the "work" image); the model runs on
that reduced again to its input size (256x144 or 256x256), unless the mask is reused ("every N frames", or the
picture is still). The mask is smoothed over time only where the picture did not move (no ghosting). A fast
guided filter fits a linear model alpha = a * grey + b at work size and applies it to the full-resolution grey
frame, so the edge follows the frame's own edges (hair) instead of the 256-px mask. The blurred background is
a blur of background pixels only (no halo of person colours) computed at work size."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...media import kind_of, read_image
from ...settings import BackgroundSettings
from ..matting import background_blur, cover, guided_coefficients
from ..models import SelfieSegmenter

log = logging.getLogger("obs_deepzoom.background")

WORK_WIDTH = 320  # refinement and background blur run on the frame halved until narrower than 2 x this
MAX_REUSE = 30  # a reused mask is recomputed after this many frames however still the picture is
MOTION = 10.0  # grey-level change at which the previous mask no longer counts (no ghosting)
GUIDE_EPS = 2e-3  # guided filter regularisation: lower follows weaker edges
HARD_SPAN = 0.02  # alpha ramp width for 'foreground' (key) mode and feather=0


class Backdrop:
    """The replacement picture (scaled to cover the frame, cached per size) or a looping video."""

    def __init__(self, path: str):
        if not path:
            raise InputError("background.image: replace mode needs a picture or video file")
        self.path = Path(path).expanduser()
        self._still: np.ndarray | None = None
        self._video: cv2.VideoCapture | None = None
        self._cached: tuple[tuple[int, int], np.ndarray] | None = None
        try:
            if kind_of(self.path) == "image":
                self._still = read_image(self.path)
            else:
                from ...media import VideoSource

                self._video = VideoSource.open_file(self.path).capture
        except InputError as exc:
            raise InputError(f"background.image: {exc}") from exc

    @property
    def still(self) -> bool:
        """A picture: `frame` returns the same cached array every time."""
        return self._video is None

    def frame(self, size: tuple[int, int]) -> np.ndarray:
        if self._video is None:
            if self._cached is None or self._cached[0] != size:
                self._cached = (size, cover(self._still, size))
            return self._cached[1]
        ok, f = self._video.read()
        if not ok:  # loop
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, f = self._video.read()
        if not ok:
            raise InputError(f"background.image: {self.path}: the video stopped giving frames")
        return cover(f, size)


class Background:
    name = "background"
    needs_faces = False

    def __init__(self, settings: BackgroundSettings):
        self.settings = settings
        self._seg: SelfieSegmenter | None = None
        self._seg_key: tuple | None = None
        self._backdrop: Backdrop | None = None
        self._backdrop_path: str | None = None
        if settings.enabled and settings.mode == "replace":  # a bad file is the user's to fix: say so now
            self._load_backdrop(settings.image)
        self.prob: np.ndarray | None = None  # person probability at model size, after temporal smoothing
        self._a8: np.ndarray | None = None  # last full-size alpha, 0..255
        self.mask_runs = 0
        self._ref_grey: np.ndarray | None = None  # model-size grey of the frame the mask was computed on
        self._since = 0
        self._solid: np.ndarray | None = None
        self._buffers: dict[str, np.ndarray] = {}

    # ---- mask ---------------------------------------------------------------------------------------
    def _segmenter(self) -> SelfieSegmenter:
        key = (self.settings.model, self.settings.device)
        if self._seg is None or self._seg_key != key:
            self._seg = SelfieSegmenter(landscape=key[0] == "landscape", device=key[1])
            self._seg_key, self.prob = key, None
        return self._seg

    def _mask(self, work: np.ndarray) -> np.ndarray:
        """Person probability at model size for this frame: computed, smoothed, or reused."""
        s, seg = self.settings, self._segmenter()
        small = cv2.resize(work, (seg.width, seg.height), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY).astype(np.float32)
        self._since += 1
        if self.prob is not None and self._since < MAX_REUSE:
            due = self._since >= s.every
            still = s.static_skip > 0 and float(cv2.absdiff(grey, self._ref_grey).mean()) < s.static_skip
            if not due or still:
                return self.prob
        new = seg.run(small)
        self.mask_runs += 1
        if self.prob is not None and s.smoothing > 0:
            change = cv2.blur(cv2.absdiff(grey, self._ref_grey), (3, 3))
            keep = np.clip(1 - change * np.float32(1 / MOTION), 0, 1) * np.float32(s.smoothing)
            new += keep * (self.prob - new)
        self.prob, self._ref_grey, self._since = new, grey, 0
        return new

    # ---- alpha ----------------------------------------------------------------------------------------
    def _buffer(self, name: str, shape: tuple[int, ...], dtype=np.float32) -> np.ndarray:
        buf = self._buffers.get(name)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[name] = np.empty(shape, dtype)
        return buf

    def _alpha(self, frame: np.ndarray, work: np.ndarray, prob: np.ndarray, hard: bool):
        """Full-size alpha as 0..255 (a reused uint8 buffer), the work-size alpha (float 0..1) and the full-size
        box (x0, y0, x1, y1) outside which alpha is 0 (None: no person). Threshold and feather applied."""
        s = self.settings
        h, w = frame.shape[:2]
        wh, ww = work.shape[:2]
        span = HARD_SPAN if hard else max(2 * s.feather, HARD_SPAN)
        lo = s.threshold - span / 2
        p = cv2.resize(prob, (ww, wh), interpolation=cv2.INTER_LINEAR)
        a8 = self._buffer("alpha", (h, w), np.uint8)
        if not s.refine:
            alpha_w = np.clip((p - lo) * np.float32(1 / span), 0, 1)
            full = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR)
            cv2.addWeighted(full, 255 / span, full, 0, -255 * lo / span, dst=a8, dtype=cv2.CV_8U)  # saturates
            return a8, alpha_w, (0, 0, w, h)
        # the guide is the green channel (most of the luma, no colour conversion at full size)
        guide_w = cv2.extractChannel(work, 1).astype(np.float32)
        r = max(1, round(s.refine_radius * h / 720 * ww / w))
        a, b = guided_coefficients(guide_w * np.float32(1 / 255), p, r, GUIDE_EPS)
        a *= np.float32(1 / span)  # fold threshold, feather and the 0..255 scales into the linear model:
        b -= np.float32(lo)  # alpha * 255 = a * green + b
        b *= np.float32(255 / span)
        alpha_w = np.clip((a * guide_w + b) * np.float32(1 / 255), 0, 1)
        box = person_box(alpha_w, w / ww, h / wh)
        a8.fill(0)
        if box is None:
            return a8, alpha_w, None
        x0, y0, x1, y1 = box  # the full-size work only where the person can be
        full_a = cv2.resize(a, (w, h), dst=self._buffer("a", (h, w)), interpolation=cv2.INTER_LINEAR)
        full_b = cv2.resize(b, (w, h), dst=self._buffer("b", (h, w)), interpolation=cv2.INTER_LINEAR)
        green = cv2.extractChannel(frame[y0:y1, x0:x1], 1)
        product = cv2.multiply(full_a[y0:y1, x0:x1], green, dtype=cv2.CV_32F)
        a8[y0:y1, x0:x1] = cv2.add(product, full_b[y0:y1, x0:x1], dtype=cv2.CV_8U)  # saturating: 0..255
        return a8, alpha_w, box

    # ---- backdrop -----------------------------------------------------------------------------------------
    def _load_backdrop(self, path: str) -> None:
        self._backdrop_path = path
        self._backdrop = Backdrop(path)

    def _background(self, frame: np.ndarray, work: np.ndarray, alpha_w: np.ndarray) -> tuple[np.ndarray, bool]:
        """The backdrop at frame size, and whether it is a cached array (not to be written to)."""
        s = self.settings
        h, w = frame.shape[:2]
        if s.mode == "replace" and s.image != self._backdrop_path:
            try:  # changed live (OBS): a bad file falls back to blur, logged once per path
                self._load_backdrop(s.image)
            except InputError as exc:
                self._backdrop = None
                log.error("%s; blurring instead", exc)
        if s.mode == "replace" and self._backdrop is not None:
            return self._backdrop.frame((w, h)), self._backdrop.still
        if s.mode in ("color", "foreground"):
            if self._solid is None or self._solid.shape != frame.shape or tuple(self._solid[0, 0]) != s.color:
                self._solid = np.empty_like(frame)
                self._solid[:] = s.color
            return self._solid, True
        weight = 1 - alpha_w
        weight *= weight  # edge pixels mix person and background: count them less
        sigma = s.blur * h / 720 * work.shape[1] / w
        if sigma >= 3:  # a wide blur loses nothing at half the work size, and costs 8x less there
            work = cv2.resize(work, (work.shape[1] // 2, work.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
            weight = cv2.resize(weight, work.shape[1::-1], interpolation=cv2.INTER_AREA)
            sigma /= 2
        bg = background_blur(work.astype(np.float32), weight, sigma)
        return cv2.resize(np.clip(bg, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR), False

    # ---- effect -------------------------------------------------------------------------------------------
    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        s = self.settings
        if not s.enabled:
            return frame
        work = reduce(frame)
        prob = self._mask(work)
        a8, alpha_w, box = self._alpha(frame, work, prob, hard=s.mode == "foreground")
        self._a8 = a8
        return self.composite(frame, work, a8, alpha_w, box)

    @property
    def alpha(self) -> np.ndarray | None:
        """The last full-size alpha as float32 0..1 (1 = person), for evaluations and tests."""
        return None if self._a8 is None else self._a8.astype(np.float32) * np.float32(1 / 255)

    def composite(self, frame: np.ndarray, work: np.ndarray, a8: np.ndarray, alpha_w: np.ndarray,
                  box: tuple[int, int, int, int] | None = (0, 0, 1 << 30, 1 << 30)) -> np.ndarray:
        """The frame over the background of the current mode, given the full-size alpha (uint8 0..255), the
        work-size alpha (float 0..1) and the box outside which alpha is 0 (None: no person)."""
        bg, shared = self._background(frame, work, alpha_w)
        out = bg.copy() if shared else bg
        if box is None:
            return out
        x0, y0, x1, y1 = box
        a3 = cv2.merge((a8[y0:y1, x0:x1],) * 3)
        # 8-bit products with cv2's saturating arithmetic: 40 % faster than cv2.blendLinear, within 1 level
        out[y0:y1, x0:x1] = cv2.add(cv2.multiply(frame[y0:y1, x0:x1], a3, scale=1 / 255),
                                    cv2.multiply(bg[y0:y1, x0:x1], cv2.bitwise_not(a3), scale=1 / 255))
        return out


def person_box(alpha_w: np.ndarray, sx: float, sy: float) -> tuple[int, int, int, int] | None:
    """Full-size box around the work-size alpha's non-zero pixels (one work pixel of margin), or None."""
    rows, cols = np.flatnonzero(alpha_w.max(1) > 0), np.flatnonzero(alpha_w.max(0) > 0)
    if rows.size == 0:
        return None
    h, w = alpha_w.shape
    x0, x1 = max(0, cols[0] - 1), min(w, cols[-1] + 2)
    y0, y1 = max(0, rows[0] - 1), min(h, rows[-1] + 2)
    return int(x0 * sx), int(y0 * sy), int(np.ceil(x1 * sx)), int(np.ceil(y1 * sy))


def reduce(frame: np.ndarray) -> np.ndarray:
    """The work image: the frame halved (exact 2x steps: a box filter, 7x cheaper than INTER_AREA) until it is
    narrower than 2 x WORK_WIDTH."""
    work = frame
    while work.shape[1] >= 2 * WORK_WIDTH:
        work = cv2.resize(work, (work.shape[1] // 2, work.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    return work
