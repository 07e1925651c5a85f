"""One small class per model: pre-process -> infer -> post-process, with typed outputs in frame pixels."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Roi, apply_affine
from .runtime import Infer


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -80.0, 80.0)))


def _to_input(bgr: np.ndarray, out: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> None:
    """BGR uint8 crop -> RGB float32 in [lo, hi], written into a bound model input (HxWx3 view)."""
    np.multiply(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.float32((hi - lo) / 255), out=out, casting="unsafe")
    if lo:
        out += np.float32(lo)


@dataclass
class Detection:
    box: tuple[float, float, float, float]  # x, y, w, h in frame pixels
    score: float
    keypoints: np.ndarray  # 6x2: right eye, left eye, nose tip, mouth, right ear, left ear (subject's sides)


def _ssd_anchors(size: int, strides: list[int], per_layer: int) -> np.ndarray:
    """Anchor centres (normalised) as MediaPipe's SsdAnchorsCalculator makes them for fixed-size anchors:
    consecutive layers with the same stride share a grid and stack their anchors per cell."""
    out, i = [], 0
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        grid = int(np.ceil(size / strides[i]))
        ys, xs = np.mgrid[0:grid, 0:grid]
        centres = np.stack([(xs.ravel() + 0.5) / grid, (ys.ravel() + 0.5) / grid], 1)
        out.append(np.repeat(centres, per_layer * (j - i), axis=0))
        i = j
    return np.concatenate(out).astype(np.float32)


class FaceDetector:
    """BlazeFace (MediaPipe) on the letterboxed frame, weighted non-maximum suppression."""

    VARIANTS = {  # model, input size, strides, anchors per layer per cell, score threshold
        "short": ("face_detection_short", 128, [8, 16, 16, 16], 2, 0.5),
        "full": ("face_detection_full", 192, [4], 1, 0.6),
    }

    def __init__(self, variant: str = "short", device: str = "AUTO", min_score: float | None = None,
                 precision: str = "auto"):
        name, self.size, strides, per_layer, thr = self.VARIANTS[variant]
        self.infer = Infer(name, device, precision=precision)
        self.anchors = _ssd_anchors(self.size, strides, per_layer)
        self.min_score = thr if min_score is None else min_score

    def detect(self, frame: np.ndarray) -> list[Detection]:
        h, w = frame.shape[:2]
        roi = Roi(w / 2, h / 2, max(w, h))
        patch, m = roi.crop(frame, self.size, border=cv2.BORDER_CONSTANT)
        _to_input(patch, self.infer.inputs[0][0], -1.0, 1.0)
        reg, cls = self.infer.run()
        scores = _sigmoid(cls[0, :, 0])
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        raw = reg[0, keep] / self.size
        anc = self.anchors[keep]
        cx, cy = raw[:, 0] + anc[:, 0], raw[:, 1] + anc[:, 1]
        boxes = np.stack([cx - raw[:, 2] / 2, cy - raw[:, 3] / 2, cx + raw[:, 2] / 2, cy + raw[:, 3] / 2], 1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) + anc[:, None, :]
        return self._weighted_nms(boxes * self.size, kps * self.size, scores[keep], m)

    @staticmethod
    def _weighted_nms(boxes, kps, scores, m, thr: float = 0.3) -> list[Detection]:
        order = np.argsort(-scores)
        boxes, kps, scores = boxes[order], kps[order], scores[order]
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        left = np.ones(len(scores), bool)
        out = []
        for i in range(len(scores)):
            if not left[i]:
                continue
            ix = np.maximum(0, np.minimum(boxes[i, 2], boxes[:, 2]) - np.maximum(boxes[i, 0], boxes[:, 0]))
            iy = np.maximum(0, np.minimum(boxes[i, 3], boxes[:, 3]) - np.maximum(boxes[i, 1], boxes[:, 1]))
            inter = ix * iy
            overlap = inter / np.maximum(areas[i] + areas - inter, 1e-9)
            group = left & (overlap > thr)
            left &= ~group
            wts = scores[group][:, None]
            box = (boxes[group] * wts).sum(0) / wts.sum()
            kp = (kps[group] * wts[:, :, None]).sum(0) / wts.sum()
            corners = apply_affine(m, box.reshape(2, 2))
            (x0, y0), (x1, y1) = corners
            out.append(Detection((float(x0), float(y0), float(x1 - x0), float(y1 - y0)), float(scores[i]),
                                 apply_affine(m, kp)))
        return out


class FaceMesh:
    """468 3D landmarks (frame pixels; z in the same pixel scale, negative = towards the camera)."""

    SIZE = 192

    def __init__(self, device: str = "AUTO", threads: int = 0, precision: str = "auto"):
        self.infer = Infer("face_landmark", device, threads, precision)

    def run(self, frame: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        patch, m = roi.crop(frame, self.SIZE)
        _to_input(patch, self.infer.inputs[0][0])
        pts, logit = self.infer.run()
        return apply_affine(m, pts.reshape(468, 3)), float(_sigmoid(logit.ravel()[:1])[0])


class IrisLandmarks:
    """Eye contour (71 points) and iris (centre + 4 boundary points) for both eyes in one batch, frame pixels.
    The model knows one eye; crops marked `mirror` are flipped in and their results flipped back."""

    SIZE = 64

    def __init__(self, device: str = "AUTO", threads: int = 0, precision: str = "auto"):
        self.infer = Infer("iris_landmark", device, threads, precision)
        self._maps: list[np.ndarray] = []

    def start(self, frame: np.ndarray, rois: tuple[Roi, Roi], mirror: tuple[bool, bool]) -> None:
        self._maps = []
        for i, (roi, flip) in enumerate(zip(rois, mirror)):
            patch, m = roi.crop(frame, self.SIZE, flip)
            _to_input(patch, self.infer.inputs[0][i])
            self._maps.append(m)
        self.infer.start()

    def wait(self) -> tuple[np.ndarray, np.ndarray]:
        """Returns contours (2x71x3) and irises (2x5x3)."""
        contours, irises = self.infer.wait()
        contours, irises = contours.reshape(2, 71, 3), irises.reshape(2, 5, 3)
        return (np.stack([apply_affine(m, c) for m, c in zip(self._maps, contours)]),
                np.stack([apply_affine(m, i) for m, i in zip(self._maps, irises)]))


class SelfieSegmenter:
    """Person probability mask at the model's resolution (general 256x256 or landscape 256x144)."""

    def __init__(self, landscape: bool = True, device: str = "AUTO", precision: str = "auto"):
        self.infer = Infer("selfie_segmentation_landscape" if landscape else "selfie_segmentation", device,
                           precision=precision)
        shape = self.infer.compiled.inputs[0].get_shape()
        self.height, self.width = int(shape[1]), int(shape[2])

    def run(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        _to_input(small, self.infer.inputs[0][0])
        (mask,) = self.infer.run()
        return mask[0, :, :, 0].copy()


class SuperResolution:
    """FSRCNN on the luma channel: Y (uint8, any size) -> Y float32 about [0, 1] at `scale` times the size.
    The result is a view valid until the next call."""

    def __init__(self, scale: int, device: str = "AUTO", precision: str = "auto"):
        self.scale = scale
        self.infer = Infer(f"fsrcnn_x{scale}", device, precision=precision)

    def run(self, y: np.ndarray) -> np.ndarray:
        x = np.multiply(y, np.float32(1 / 255), dtype=np.float32)
        (out,) = self.infer.run(x[None, :, :, None])
        return out[0, 0]


class SileroVad:
    """Speech probability per 512-sample chunk of 16 kHz mono audio; keeps the recurrent state and context.
    `streams` > 1 runs that many independent VADs through one infer request (e.g. two interleaved ones
    half a chunk apart): each stream has its own state and context, chosen per call."""

    RATE, CHUNK, CONTEXT = 16000, 512, 64

    def __init__(self, device: str = "CPU", streams: int = 1, precision: str = "auto"):
        self.infer = Infer("silero_vad", device, precision=precision)
        self.streams = streams
        self.reset()

    def reset(self) -> None:
        self.states = np.zeros((self.streams, *self.infer.inputs[1].shape), np.float32)
        self.contexts = np.zeros((self.streams, self.CONTEXT), np.float32)

    def __call__(self, chunk: np.ndarray, stream: int = 0) -> float:
        if chunk.shape != (self.CHUNK,):
            raise ValueError(f"silero VAD takes {self.CHUNK} samples at 16 kHz, got shape {chunk.shape}")
        x, state = self.infer.inputs
        x[0, : self.CONTEXT] = self.contexts[stream]
        x[0, self.CONTEXT:] = chunk
        state[...] = self.states[stream]
        prob, new_state = self.infer.run()
        self.states[stream] = new_state
        self.contexts[stream] = x[0, -self.CONTEXT:]
        return float(prob.ravel()[0])
