"""Image and mask metrics for the evaluations (numpy + OpenCV; no scikit-image needed)."""

from __future__ import annotations

import cv2
import numpy as np


def luma(bgr: np.ndarray) -> np.ndarray:
    """BT.601 luma (as JPEG/YCbCr), float64 0..255: where PSNR/SSIM of super-resolution are measured."""
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)[..., 0].astype(np.float64)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR (dB) of the luma of two BGR uint8 images."""
    mse = float(np.mean((luma(a) - luma(b)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Mean SSIM of the luma (Wang et al. 2004: Gaussian window sigma 1.5, K1 0.01, K2 0.03)."""
    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z):
        return cv2.GaussianBlur(z, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx * mx, blur(y * y) - my * my, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())  # valid window positions only


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two boolean masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else float(np.logical_and(a, b).sum() / union)


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)).astype(bool)


def boundary_f(pred: np.ndarray, ref: np.ndarray, tol_frac: float = 0.008) -> float:
    """Boundary F-measure (as DAVIS): precision/recall of boundary pixels matched within a tolerance of
    `tol_frac` of the image diagonal."""
    h, w = ref.shape
    tol = max(1, int(np.ceil(tol_frac * np.hypot(h, w))))
    bp, br = _boundary(pred), _boundary(ref)
    if not bp.any() and not br.any():
        return 1.0
    if not bp.any() or not br.any():
        return 0.0
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))
    near_r = cv2.dilate(br.astype(np.uint8), disk).astype(bool)
    near_p = cv2.dilate(bp.astype(np.uint8), disk).astype(bool)
    precision, recall = (bp & near_r).sum() / bp.sum(), (br & near_p).sum() / br.sum()
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))
