"""Alpha-matte helpers: fast guided filter (He & Sun 2015), background-only blur, and compositing that works at
full resolution only in the band where the alpha is between 0 and 1. Vectorised with numpy/OpenCV."""

from __future__ import annotations

import cv2
import numpy as np


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_coefficients(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel linear model q = a * guide + b that follows `p` and the edges of `guide` (both float32,
    same size, guide in [0, 1]). Upsample a and b and apply them to a larger guide for the fast guided filter."""
    mean_i, mean_p = _box(guide, r), _box(p, r)
    cov_ip = _box(guide * p, r) - mean_i * mean_p
    var_i = _box(guide * guide, r) - mean_i * mean_i
    a = cov_ip / (var_i + np.float32(eps))
    b = mean_p - a * mean_i
    return _box(a, r), _box(b, r)


def background_blur(image: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of `image` (HxWx3 float32) over the pixels `weight` (HxW, 1 = background) only:
    person colours never bleed into the result, and the area behind the person is filled from around it."""
    num = cv2.GaussianBlur(image * weight[..., None], (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    den = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return num / (den[..., None] + np.float32(1e-4))


def cover(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Scale `image` to cover `size` (w, h) and crop the centre: any size or aspect ratio fits."""
    w, h = size
    ih, iw = image.shape[:2]
    scale = max(w / iw, h / ih)
    sw, sh = max(w, round(iw * scale)), max(h, round(ih * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (sw, sh), interpolation=interp)
    x0, y0 = (sw - w) // 2, (sh - h) // 2
    return np.ascontiguousarray(scaled[y0:y0 + h, x0:x0 + w])


BACKGROUND, EDGE, PERSON = 0, 1, 2
LUMA = np.array([0.114, 0.587, 0.299], np.float32)  # BGR -> grey weights, as cv2.COLOR_BGR2GRAY
SLACK = 48.0  # grey levels a full-size pixel may differ from its work-size average when classifying (exact
# on the sample clip down to 32)


def classify(a: np.ndarray, b: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """Work-size classes of the linear alpha model alpha * 255 = a * grey + b (grey 0..255): PERSON where every
    full-size pixel of the 3x3 neighbourhood is surely >= 255, BACKGROUND where surely <= 0, else EDGE."""
    v = a * guide + b
    slack = np.abs(a) * np.float32(SLACK)
    kernel = np.ones((3, 3), np.uint8)
    cls = np.full(v.shape, EDGE, np.uint8)
    cls[cv2.erode(v - slack, kernel, borderType=cv2.BORDER_REPLICATE) >= 255] = PERSON
    cls[cv2.dilate(v + slack, kernel, borderType=cv2.BORDER_REPLICATE) <= 0] = BACKGROUND
    return cls


def _rows(a: np.ndarray, c: int) -> np.ndarray:
    """A contiguous array as records of `c` items (pixels): np.take and assignment copy whole records fast."""
    return a.reshape(-1, c).view(np.dtype((np.void, c * a.itemsize))).reshape(-1)


def _sample(image: np.ndarray, idx: np.ndarray, w: int, h: int) -> np.ndarray:
    """`image` (C channels, float32) upsampled to w x h as cv2.resize(INTER_LINEAR) does, at the flat full-size
    pixel indices `idx` only (N x C): cv2.remap on a map of just those pixels."""
    n, cols = idx.size, 1024  # remap maps must stay under 32767 columns
    padded = np.zeros(-(-n // cols) * cols, np.int64)
    padded[:n] = idx
    ys, xs = np.divmod(padded, w)
    map_x = ((xs.astype(np.float32) + np.float32(0.5)) * np.float32(image.shape[1] / w) - np.float32(0.5))
    map_y = ((ys.astype(np.float32) + np.float32(0.5)) * np.float32(image.shape[0] / h) - np.float32(0.5))
    out = cv2.remap(image, map_x.reshape(-1, cols), map_y.reshape(-1, cols), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, image.shape[2])[:n]


class Composite:
    """frame over bg with alpha * 255 = a * grey + b (a, b at work size), evaluated at full size only on EDGE
    pixels; PERSON pixels are copied, BACKGROUND pixels keep bg. `alpha8()` rebuilds the full alpha on demand."""

    def __init__(self, frame: np.ndarray, out: np.ndarray, ab: np.ndarray, cls: np.ndarray):
        h, w = frame.shape[:2]
        cls_full = cv2.resize(cls, (w, h), interpolation=cv2.INTER_NEAREST)
        self.person = cls_full == PERSON
        cv2.copyTo(frame, self.person.view(np.uint8), out)
        self.idx = np.flatnonzero(cls_full == EDGE)
        self.alpha = np.zeros(0, np.float32)
        if self.idx.size == 0:
            return
        coef = _sample(ab, self.idx, w, h)
        pixels = np.take(_rows(frame, 3), self.idx).view(np.uint8).reshape(1, -1, 3)
        under = np.take(_rows(out, 3), self.idx).view(np.uint8).reshape(1, -1, 3)
        self.alpha = coef[:, 0] * (pixels[0].astype(np.float32) @ LUMA) + coef[:, 1]
        np.clip(self.alpha, 0, 255, out=self.alpha)
        weight = (self.alpha * np.float32(1 / 255))[None]
        blended = cv2.blendLinear(pixels, under, weight, np.float32(1) - weight)
        _rows(out, 3)[self.idx] = _rows(blended, 3)

    def alpha8(self) -> np.ndarray:
        a8 = self.person.astype(np.uint8) * np.uint8(255)
        a8.reshape(-1)[self.idx] = (self.alpha + 0.5).astype(np.uint8)
        return a8
