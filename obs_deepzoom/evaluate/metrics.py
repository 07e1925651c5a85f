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


# ---- the independent judge: MediaPipe's own FaceMesh (test-only reference) --------------------------------
# 478 points of FaceMesh(refine_landmarks=True): the 468-point mesh, then the iris centre and 4 boundary points
# of the image-left eye (468-472, the eye of mesh corners 33/133) and of the image-right eye (473-477).
JUDGE_IRIS = (slice(468, 473), slice(473, 478))
JUDGE_CORNERS = ((33, 133), (362, 263))
JUDGE_LIDS = ((159, 145), (386, 374))
# the 16-point eye ring of the mesh (the same indices in MediaPipe's mesh topology), eyes in image order
JUDGE_EYE_RING = ((33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),
                  (362, 398, 384, 385, 386, 387, 388, 466, 263, 249, 390, 373, 374, 380, 381, 382))
# points that move with the skull, not with the expression: forehead, nose bridge and tip, eye corners, cheekbones
RIGID_POINTS = (10, 151, 9, 8, 168, 6, 197, 195, 1, 33, 133, 362, 263, 234, 454, 127, 356, 116, 345)


class ReferenceJudge:
    """Landmarks from MediaPipe 0.10.21's own Python solution, FaceMesh(refine_landmarks=True): the attention
    mesh (face_landmark_with_attention.tflite), a different network from the one our tracker runs
    (face_landmark.tflite + iris_landmark.tflite through OpenVINO), run by MediaPipe's own graph. Every image
    is judged on its own (static mode: no state carried from one image to the next). Test-only: it comes from
    `deepzoom reference install`."""

    def __init__(self):
        from ..reference import mediapipe

        mp = mediapipe()
        self.version = mp.__version__
        self._mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                     refine_landmarks=True, min_detection_confidence=0.5)

    @property
    def name(self) -> str:
        return f"mediapipe-reference {self.version} FaceMesh(refine_landmarks=True)"

    def landmarks(self, bgr: np.ndarray) -> np.ndarray | None:
        """478 x (x, y, z) in pixels (z in the scale of x), or None when it finds no face."""
        h, w = bgr.shape[:2]
        res = self._mesh.process(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        if not res.multi_face_landmarks:
            return None
        return np.array([[p.x * w, p.y * h, p.z * w] for p in res.multi_face_landmarks[0].landmark], np.float64)

    def close(self) -> None:
        self._mesh.close()


def judge_iris(lm: np.ndarray, eye: int) -> tuple[np.ndarray, float]:
    """Iris centre and diameter (mean of the two boundary-point spans) of one eye from the judge's points."""
    pts = lm[JUDGE_IRIS[eye], :2]
    return pts[0], float((np.linalg.norm(pts[1] - pts[3]) + np.linalg.norm(pts[2] - pts[4])) / 2)


def judge_eye_aperture(lm: np.ndarray) -> float:
    """Lid gap / eye width, mean of both eyes, from the judge's points."""
    out = []
    for (a, b), (up, low) in zip(JUDGE_CORNERS, JUDGE_LIDS):
        out.append(np.linalg.norm(lm[up, :2] - lm[low, :2]) / max(np.linalg.norm(lm[a, :2] - lm[b, :2]), 1e-6))
    return float(np.mean(out))


def eye_mask(lm: np.ndarray, shape: tuple[int, int], margin: float) -> np.ndarray:
    """Boolean mask of both eyes: the judge's 16-point eye ring of each eye, grown by `margin` eye widths."""
    mask = np.zeros(shape[:2], np.uint8)
    for eye in (0, 1):
        a, b = JUDGE_CORNERS[eye]
        width = float(np.linalg.norm(lm[a, :2] - lm[b, :2]))
        ring = np.rint(lm[list(JUDGE_EYE_RING[eye]), :2]).astype(np.int32)
        one = np.zeros_like(mask)
        cv2.fillPoly(one, [ring], 1)
        grow = max(1, int(np.ceil(margin * width)))
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        mask |= cv2.dilate(one, disk)
    return mask.astype(bool)


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity dst ~ s R src + t of two point sets (N x d; Umeyama 1991): (s, R, t)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(len(sig))
    d[-1] = np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0
    rot = u @ np.diag(d) @ vt
    scale = float((sig * d).sum() / max((a ** 2).sum() / len(src), 1e-12))
    return scale, rot, mu_d - scale * rot @ mu_s


def euler_deg(rot: np.ndarray) -> tuple[float, float, float]:
    """(pitch about x, yaw about y, roll about z) in degrees of a 3x3 rotation (R = Rz Ry Rx)."""
    pitch = np.degrees(np.arctan2(rot[2, 1], rot[2, 2]))
    yaw = np.degrees(np.arcsin(np.clip(-rot[2, 0], -1, 1)))
    roll = np.degrees(np.arctan2(rot[1, 0], rot[0, 0]))
    return float(pitch), float(yaw), float(roll)
