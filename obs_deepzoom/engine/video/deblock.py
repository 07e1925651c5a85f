"""JPEG deblocking of the low-resolution luma before super-resolution: a small CNN of our own (5 convolutions,
trained on real faces by tools/train_deblock.py, weights in deblock_weights.npz) run through OpenVINO.

FSRCNN was trained on clean bicubic reductions and sharpens compression blocks; this removes them first. The
network sees the luma and where each pixel sits in the 8x8 block grid (cos/sin of its position, counted from the
frame origin, where encoders put the grid), so it can treat block borders apart from block insides. It predicts
a residual: on a clean picture it changes little."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("deblock_weights.npz")
DILATIONS = (1, 1, 2, 1, 1)  # per layer; kernels and channels come from the weights
SLOPE = 0.1  # leaky ReLU between layers
RESIDUAL_SCALE = 0.25  # the last layer's output is scaled by this before it is added to the input
GRID = 8
MARGIN = 8  # extra input pixels around a region, so the result has no zero-padding border


def phase_channels(h: int, w: int, x0: int, y0: int) -> np.ndarray:
    """(4, h, w) float32: cos/sin of 2*pi*x/8 and 2*pi*y/8 for frame coordinates starting at (x0, y0)."""
    a = 2 * np.pi / GRID
    x, y = (np.arange(w) + x0) * a, (np.arange(h) + y0) * a
    out = np.empty((4, h, w), np.float32)
    out[0], out[1] = np.cos(x)[None, :], np.sin(x)[None, :]
    out[2], out[3] = np.cos(y)[:, None], np.sin(y)[:, None]
    return out


def build_model(weights: list[np.ndarray]):
    """OpenVINO model [1, 5, H, W] -> [1, 1, H, W] (luma / 255 - 0.5 and the 4 phase channels in; the
    deblocked luma, same scale, out) from the HWIO kernels and biases of the trained layers."""
    import openvino as ov
    import openvino.opset13 as op

    x = op.parameter([1, 5, -1, -1], np.float32, name="luma_phase")
    h = x
    layers = list(zip(weights[0::2], weights[1::2]))
    for i, ((w, b), d) in enumerate(zip(layers, DILATIONS)):
        w, b = np.asarray(w, np.float32), np.asarray(b, np.float32)
        if i == len(layers) - 1:
            w, b = w * RESIDUAL_SCALE, b * RESIDUAL_SCALE
        h = op.convolution(h, op.constant(np.ascontiguousarray(w.transpose(3, 2, 0, 1))), [1, 1], [0, 0], [0, 0],
                           [d, d], auto_pad="same_upper")
        h = op.add(h, op.constant(b.reshape(1, -1, 1, 1)))
        if i < len(layers) - 1:
            h = op.prelu(h, op.constant(np.array([SLOPE], np.float32)))
    first = op.slice(x, np.array([0]), np.array([1]), np.array([1]), np.array([1]))
    return ov.Model([op.add(first, h)], [x], "deblock")


@lru_cache(maxsize=4)
def _compiled(device: str):
    from ..runtime import core, resolve_device

    with np.load(WEIGHTS) as z:
        weights = [z[k] for k in sorted(z.files, key=lambda k: int(k.split("_")[1]))]
    dev = resolve_device(device)
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if dev in ("CPU", "AUTO"):
        config["INFERENCE_PRECISION_HINT"] = "bf16"
    return core().compile_model(build_model(weights), dev, config)


class Deblocker:
    """Deblock a region of a frame's luma: `run(y, (x0, y0, x1, y1))` -> float32 luma 0..255 of the region."""

    def __init__(self, device: str = "AUTO"):
        self.request = _compiled(device).create_infer_request()

    def run(self, luma: np.ndarray, box: tuple[int, int, int, int], origin: tuple[int, int] = (0, 0)) -> np.ndarray:
        """`box` (x0, y0, x1, y1) of `luma` deblocked, with `luma`'s pixel (0, 0) at `origin` of the 8x8 grid."""
        x0, y0, x1, y1 = box
        h, w = luma.shape
        ex0, ey0, ex1, ey1 = max(0, x0 - MARGIN), max(0, y0 - MARGIN), min(w, x1 + MARGIN), min(h, y1 + MARGIN)
        crop = luma[ey0:ey1, ex0:ex1]
        x = np.empty((1, 5, *crop.shape), np.float32)
        np.multiply(crop, np.float32(1 / 255), out=x[0, 0], casting="unsafe")
        x[0, 0] -= np.float32(0.5)
        x[0, 1:] = phase_channels(*crop.shape, ex0 + origin[0], ey0 + origin[1])
        out = self.request.infer([x])[0][0, 0]
        out = (out[y0 - ey0:y1 - ey0, x0 - ex0:x1 - ex0] + np.float32(0.5)) * np.float32(255)
        return np.clip(out, 0, 255, out=out)
