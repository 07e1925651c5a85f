"""Background blur / replacement / colour / key / data saver (flat, posterize) with MediaPipe selfie segmentation
through OpenVINO.

Per frame: the frame is halved until it is about 320 px wide (the "work" image); the model runs on that reduced
again to its input size (256x144 or 256x256), unless the mask is reused ("every N frames", or the picture is
still). The mask is smoothed over time only where the picture did not move (no ghosting). A fast guided filter
fits a linear model alpha = a * grey + b at work size; it is evaluated on the full-resolution grey frame, so the
edge follows the frame's own edges (hair) instead of the 256-px mask, and only on the pixels where alpha can lie
between 0 and 1 (matting.Composite). The blurred background is a blur of background pixels only (no halo of
person colours) computed at work size or below."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...media import VideoSource, kind_of, read_image
from ...settings import BackgroundSettings
from ..matting import Composite, background_blur, classify, cover, guided_coefficients
from ..models import SelfieSegmenter

log = logging.getLogger("obs_deepzoom.background")

WORK_WIDTH = 320  # refinement and background blur run on the frame halved until narrower than 2 x this
MAX_REUSE = 30  # a reused mask is recomputed after this many frames however still the picture is
MOTION = 10.0  # grey-level change at which the previous mask no longer counts (no ghosting)
GUIDE_EPS = 2e-3  # guided filter regularisation: lower follows weaker edges
HARD_SPAN = 0.02  # alpha ramp width for 'foreground' (key) mode and feather=0
SAVER_FOLLOW = 0.05  # data saver: share of each frame's background taken (slow: a steady picture costs no bits)
SAVER_KEEP = 0.75  # posterize: a pixel changes level only when it moves this many steps from the shown one


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
    kind = "video"
    settings_type = BackgroundSettings
    obs_title = "DeepZoom Background"
    needs_faces = False
    needs_iris = False

    def __init__(self, settings: BackgroundSettings):
        self.settings = settings
        self._seg: SelfieSegmenter | None = None
        self._seg_key: tuple | None = None
        self._backdrop: Backdrop | None = None
        self._backdrop_path: str | None = None
        if settings.enabled and settings.mode == "replace":  # a bad file is the user's to fix: say so now
            self._load_backdrop(settings.image)
        self.prob: np.ndarray | None = None  # person probability at model size, after temporal smoothing
        self._last: Composite | None = None  # the last frame's compositing (its alpha is rebuilt on demand)
        self.mask_runs = 0
        self._ref_grey: np.ndarray | None = None  # model-size grey of the frame the mask was computed on
        self._since = 0
        self._solid: np.ndarray | None = None
        self._steady: np.ndarray | None = None  # data saver: the background followed slowly (float32)
        self._shown: np.ndarray | None = None  # posterize: the levels shown last frame

    # ---- mask ---------------------------------------------------------------------------------------
    def _segmenter(self) -> SelfieSegmenter:
        key = (self.settings.model, self.settings.device, self.settings.precision)
        if self._seg is None or self._seg_key != key:
            self._seg = SelfieSegmenter(landscape=key[0] == "landscape", device=key[1], precision=key[2])
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
    def linear_model(self, work: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """From the person probability `p` at work size: the per-pixel alpha model alpha * 255 = a * grey + b
        as an H x W x 2 array [a, b], its classes (matting.classify) and the work-size alpha (0..1).
        Threshold and feather are folded into a and b; without refinement a = 0."""
        s = self.settings
        span = HARD_SPAN if s.mode == "foreground" else max(2 * s.feather, HARD_SPAN)
        lo = s.threshold - span / 2
        grey = cv2.cvtColor(work, cv2.COLOR_BGR2GRAY).astype(np.float32)  # the guide
        if s.refine:
            r = max(1, round(s.refine_radius * work.shape[0] / 720))
            a, b = guided_coefficients(grey * np.float32(1 / 255), p, r, GUIDE_EPS)
            a *= np.float32(1 / span)
        else:
            a, b = np.zeros_like(p), p.copy()
        b -= np.float32(lo)
        b *= np.float32(255 / span)
        alpha_w = np.clip((a * grey + b) * np.float32(1 / 255), 0, 1)
        return np.dstack((a, b)), classify(a, b, grey), alpha_w

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
        if s.mode == "flat":
            return self._flat(frame, work, weight), True
        sigma = s.blur * h / 720 * work.shape[1] / w
        if sigma >= 3:  # a wide blur loses nothing at half the work size, and costs 8x less there
            work = cv2.resize(work, (work.shape[1] // 2, work.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
            weight = cv2.resize(weight, work.shape[1::-1], interpolation=cv2.INTER_AREA)
            sigma /= 2
        bg = background_blur(work.astype(np.float32), weight, sigma)
        if s.mode == "posterize":
            bg = self._posterize(bg)
        return cv2.resize(np.clip(bg, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR), False

    def _follow(self, value: np.ndarray) -> np.ndarray:
        """The background followed slowly over time (a new size or mode starts again)."""
        if self._steady is None or self._steady.shape != value.shape:
            self._steady, self._shown = value.astype(np.float32), None
        else:
            self._steady += np.float32(SAVER_FOLLOW) * (value - self._steady)
        return self._steady

    def _flat(self, frame: np.ndarray, work: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """The room's average colour (background pixels only), as a frame-size picture reused while it holds."""
        total = float(weight.sum())
        mean = (work.reshape(-1, 3).astype(np.float32) * weight.reshape(-1, 1)).sum(0) / max(total, 1e-6) \
            if total > 1 else np.full(3, 128, np.float32)
        colour = tuple(int(round(c)) for c in self._follow(mean.astype(np.float32)))
        if self._solid is None or self._solid.shape != frame.shape or tuple(self._solid[0, 0]) != colour:
            self._solid = np.empty_like(frame)
            self._solid[:] = colour
        return self._solid

    def _posterize(self, bg: np.ndarray) -> np.ndarray:
        """The blurred background followed slowly, its brightness reduced to `levels` steps with hysteresis (a
        pixel near a step does not flicker between two) and its colour kept smooth (no false colours)."""
        step = np.float32(255 / (self.settings.levels - 1))
        ycc = cv2.cvtColor(np.clip(self._follow(bg), 0, 255), cv2.COLOR_BGR2YCrCb)
        level = ycc[:, :, 0] / step
        if self._shown is None or self._shown.shape != level.shape:
            self._shown = np.round(level)
        self._shown = np.where(np.abs(level - self._shown) < SAVER_KEEP, self._shown, np.round(level))
        ycc[:, :, 0] = self._shown * step
        return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)

    # ---- effect -------------------------------------------------------------------------------------------
    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        if not self.settings.enabled:
            return frame
        work = reduce(frame)
        p = cv2.resize(self._mask(work), (work.shape[1], work.shape[0]), interpolation=cv2.INTER_LINEAR)
        return self.composite(frame, work, *self.linear_model(work, p))

    @property
    def alpha(self) -> np.ndarray | None:
        """The last full-size alpha as float32 0..1 (1 = person), rebuilt for evaluations and tests."""
        return None if self._last is None else self._last.alpha8().astype(np.float32) * np.float32(1 / 255)

    def composite(self, frame: np.ndarray, work: np.ndarray, ab: np.ndarray, cls: np.ndarray,
                  alpha_w: np.ndarray) -> np.ndarray:
        """The frame over the background of the current mode, from linear_model()'s results."""
        bg, shared = self._background(frame, work, alpha_w)
        out = bg.copy() if shared else bg
        self._last = Composite(frame, out, ab, cls)
        return out


def reduce(frame: np.ndarray) -> np.ndarray:
    """The work image: the frame halved (exact 2x steps: a box filter, 7x cheaper than INTER_AREA) until it is
    narrower than 2 x WORK_WIDTH."""
    work = frame
    while work.shape[1] >= 2 * WORK_WIDTH:
        work = cv2.resize(work, (work.shape[1] // 2, work.shape[0] // 2), interpolation=cv2.INTER_LINEAR)
    return work
