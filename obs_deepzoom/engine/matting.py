"""Alpha-matte helpers: fast guided filter (He & Sun 2015) and background-only blur, vectorised with OpenCV."""

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
