"""The source portrait: loaded and checked once (one face, large enough), analysed (mesh, irises, person
mask), then laid out per output size: the picture scaled to cover the frame around the face, its person
alpha, and a clean plate (the background with the person painted out) to composite the moving person on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ...errors import InputError
from ...media import read_image
from ...settings import FaceTrackingSettings
from ..face import FaceState, FaceTracker
from ..matting import guided_coefficients
from ..models import FaceDetector, SelfieSegmenter

MIN_EYE_DISTANCE_PX = 30.0  # inter-ocular distance in the photo below which the face is too small to animate
SETTLE_PASSES = 3  # mesh passes on the still photo: each starts from the previous landmarks
MASK_LO, MASK_HI = 0.3, 0.7  # person probability ramp to alpha
GUIDE_RADIUS, GUIDE_EPS = 8, 1e-3  # edge refinement of the person mask (radius in px at 720 px)


@dataclass
class Layout:
    """The portrait placed in a w x h output frame."""

    size: tuple[int, int]
    image: np.ndarray  # h x w x 4 uint8: B, G, R, person alpha
    plate: np.ndarray  # h x w x 3 uint8: background with the person painted out
    landmarks: np.ndarray  # 468 x 3 in output pixels (z at the same scale)
    iris: np.ndarray  # 2 x 5 x 2


class Portrait:
    def __init__(self, path: str | Path, device: str = "AUTO", image: np.ndarray | None = None):
        """From a photo file, or from `image` (BGR uint8) with `path` as its name in messages."""
        if not str(path):
            raise InputError("avatar.source: choose a portrait photo (one face, looking at the camera)")
        self.path = Path(path).expanduser()
        if image is None:
            try:
                image = read_image(self.path)
            except InputError as exc:
                raise InputError(f"avatar.source: {exc}") from exc
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"avatar.source: {self.path}: expected a colour picture, got {image.dtype} {image.shape}")
        self.photo = image
        self.face = self._analyse(device)
        self.mask = self._person(device)
        self._layouts: dict[tuple[int, int], Layout] = {}

    def _analyse(self, device: str) -> FaceState:
        faces = FaceDetector("full", device).detect(self.photo)
        if not faces:
            faces = FaceDetector("short", device).detect(self.photo)
        if not faces:
            raise InputError(f"avatar.source: {self.path}: no face found; use a photo with one face, "
                             "looking at the camera")
        if len(faces) > 1:
            raise InputError(f"avatar.source: {self.path}: {len(faces)} faces found; use a photo with one face")
        tracker = FaceTracker(FaceTrackingSettings(device=device, smoothing=False, detector="full"))
        states: list[FaceState] = []
        for i in range(SETTLE_PASSES):
            states = tracker.process(self.photo, float(i))
        if not states:
            raise InputError(f"avatar.source: {self.path}: the face could not be tracked (too small, turned "
                             "away or covered?)")
        face = states[0]
        if face.inter_ocular_px < MIN_EYE_DISTANCE_PX:
            raise InputError(f"avatar.source: {self.path}: the face is too small ({face.inter_ocular_px:.0f} px "
                             f"between the eyes; at least {MIN_EYE_DISTANCE_PX:.0f} needed): use a closer photo")
        return face

    def _person(self, device: str) -> np.ndarray:
        """Person alpha: the segmenter's 256-px probability refined at full resolution with the photo as guide
        (a guided filter), so the edge follows hair and shoulders instead of the coarse mask."""
        prob = SelfieSegmenter(landscape=False, device=device).run(self.photo)
        h, w = self.photo.shape[:2]
        prob = cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        grey = cv2.cvtColor(self.photo, cv2.COLOR_BGR2GRAY).astype(np.float32) * np.float32(1 / 255)
        a, b = guided_coefficients(grey, prob, max(2, round(GUIDE_RADIUS * max(h, w) / 720)), GUIDE_EPS)
        refined = a * grey + b
        alpha = np.clip((refined - MASK_LO) / (MASK_HI - MASK_LO), 0, 1)
        return (alpha * 255).astype(np.uint8)

    def layout(self, size: tuple[int, int]) -> Layout:
        """The portrait scaled to cover `size` (w, h), cropped around the face; cached per size."""
        if size not in self._layouts:
            self._layouts.clear()
            self._layouts[size] = self._lay_out(size)
        return self._layouts[size]

    def _lay_out(self, size: tuple[int, int]) -> Layout:
        w, h = size
        ih, iw = self.photo.shape[:2]
        scale = max(w / iw, h / ih)
        centre = self.face.landmarks[:, :2].mean(0) * scale
        x0 = float(np.clip(centre[0] - w / 2, 0, iw * scale - w))
        y0 = float(np.clip(centre[1] - h / 2, 0, ih * scale - h))
        m = np.array([[scale, 0, -x0], [0, scale, -y0]], np.float64)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        rgba = np.dstack([self.photo, self.mask])
        image = cv2.warpAffine(rgba, m, (w, h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
        landmarks = self.face.landmarks.astype(np.float64) * scale
        landmarks[:, 0] -= x0
        landmarks[:, 1] -= y0
        iris = self.face.iris.astype(np.float64) * scale - [x0, y0]
        return Layout(size, image, clean_plate(image), landmarks, iris)


def clean_plate(image: np.ndarray, work_width: int = 320) -> np.ndarray:
    """The background of a BGRA picture with the person (alpha) painted out, by inpainting at low resolution
    a generously grown person region (no ghost of the hair's fringe). Only slivers of it show (where the person
    moved away), so a smooth fill is enough."""
    h, w = image.shape[:2]
    f = min(1.0, work_width / w)
    small = cv2.resize(image, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
    grow = max(3, round(0.02 * small.shape[1])) | 1
    hole = cv2.dilate((small[:, :, 3] > 3).astype(np.uint8), np.ones((grow, grow), np.uint8))
    filled = cv2.inpaint(np.ascontiguousarray(small[:, :, :3]), hole, 5, cv2.INPAINT_TELEA)
    filled = cv2.GaussianBlur(filled, (0, 0), 2)
    soft = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)
    big = cv2.resize(filled, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    inside = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
    inside = np.maximum(inside, image[:, :, 3:4].astype(np.float32) * np.float32(1 / 255))
    return (image[:, :, :3] * (1 - inside) + big * inside).astype(np.uint8)
