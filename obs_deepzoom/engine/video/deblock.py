"""JPEG deblocking around super-resolution: a small CNN of our own (5 convolutions, trained end to end through
FSRCNN x4 on real faces by tools/train_deblock.py, weights in deblock_weights.npz) run through OpenVINO.

FSRCNN was trained on clean bicubic reductions and sharpens compression blocks. The network sees the
low-resolution luma and where each pixel sits in the 8x8 block grid (cos/sin of its position), and predicts two
residuals: one on the luma before FSRCNN x4 and one on FSRCNN's 4x result (16 sub-pixel channels).

It runs only in proportion to the measured blockiness of the picture (`blockiness`, `amount`): a clean face
is left exactly as FSRCNN alone makes it."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("deblock_weights.npz")  # trained on x2, x3 and x4 enlargements
WEIGHTS_X2 = Path(__file__).with_name("deblock_weights_x2.npz")  # the same, fine-tuned on x2 only
X2_UP_TO = 2.5  # enlargement factors up to this use WEIGHTS_X2
DILATIONS = (1, 1, 2, 1, 1)  # per layer, unless the weights file has its own; kernels, channels come from it
SLOPE = 0.1  # leaky ReLU between layers
RESIDUAL_SCALE = 0.25  # the last layer's output is scaled by this before it is added
GRID = 8
SR = 4  # the high-resolution residual is for FSRCNN x4's result
MARGIN = 6  # extra input pixels around a region, so the result has (almost) no zero-padding border
STEP_CLIP = 8.0  # luma steps above this are edges of the picture, not of compression blocks
BLOCKY = (0.12, 0.25)  # blockiness of a whole picture where deblocking starts and where it is at full strength


def phase_channels(h: int, w: int, x0: int, y0: int) -> np.ndarray:
    """(4, h, w) float32: cos/sin of 2*pi*x/8 and 2*pi*y/8 for frame coordinates starting at (x0, y0)."""
    a = 2 * np.pi / GRID
    x, y = (np.arange(w) + x0) * a, (np.arange(h) + y0) * a
    out = np.empty((4, h, w), np.float32)
    out[0], out[1] = np.cos(x)[None, :], np.sin(x)[None, :]
    out[2], out[3] = np.cos(y)[:, None], np.sin(y)[:, None]
    return out


def _grid_steps(luma: np.ndarray, axis: int) -> tuple[float, int]:
    """Relative excess of the mean luma step across one of the 8 column (axis 1) or row (axis 0) phases over
    the others, and that phase p (steps between pixels p - 1 and p, modulo 8, in `luma`'s coordinates)."""
    sub = luma[::2] if axis == 1 else luma[:, ::2]  # every other line is plenty and twice as fast
    d = np.minimum(np.abs(np.diff(sub.astype(np.float32), axis=axis)), STEP_CLIP)
    d = d.mean(axis=1 - axis)
    n = len(d) // GRID * GRID
    if n < 2 * GRID:
        return 0.0, 0
    per_phase = d[:n].reshape(-1, GRID).mean(0)  # index j: step between pixels j and j + 1 of each 8
    j = int(per_phase.argmax())
    others = (per_phase.sum() - per_phase[j]) / (GRID - 1)
    return float(per_phase[j] / max(others, 1e-3) - 1), (j + 1) % GRID


def blockiness(luma: np.ndarray) -> tuple[float, tuple[int, int]]:
    """How blocky a luma region is, and where its 8x8 grid starts (x, y modulo 8, region coordinates).

    The mean absolute luma step (each step clipped at STEP_CLIP, so picture edges count little) is taken for
    each of the 8 column phases; the phase with the largest is the grid's, and its excess over the mean of the
    other 7 is the horizontal blockiness. Rows the same; the result is the mean of both, and the grid origin is
    the detected phase. Whole training pictures (x2, x4 reductions) score 0.02-0.11 clean, 0.18-0.53 at JPEG
    quality 70 and 0.38-0.81 at quality 40; a face region alone separates these less well."""
    bx, px = _grid_steps(luma, 1)
    by, py = _grid_steps(luma, 0)
    return (bx + by) / 2, (px, py)


def amount(score: float) -> float:
    """Deblocking strength 0..1 for a blockiness score: 0 up to BLOCKY[0], rising linearly to 1 at BLOCKY[1]."""
    return float(np.clip((score - BLOCKY[0]) / (BLOCKY[1] - BLOCKY[0]), 0.0, 1.0))


def load_weights(path: Path) -> tuple[list[np.ndarray], tuple[int, ...]]:
    """The HWIO kernels and biases (arr_0, arr_1, ...) and the dilations of a weights file."""
    with np.load(path) as z:
        keys = sorted((k for k in z.files if k.startswith("arr_")), key=lambda k: int(k.split("_")[1]))
        dilations = tuple(int(d) for d in z["dilations"]) if "dilations" in z.files else DILATIONS
        return [z[k] for k in keys], dilations


def build_model(weights: list[np.ndarray], dilations: tuple[int, ...] = DILATIONS):
    """OpenVINO model [1, 5, H, W] (luma / 255 - 0.5 and the 4 phase channels) -> the corrected luma [1, 1, H, W]
    (same scale) and, when the last layer has 1 + SR*SR outputs, the residual of FSRCNN x4's result
    [1, 1, 4H, 4W] (/ 255), from the HWIO kernels and biases of the trained layers."""
    import openvino as ov
    import openvino.opset13 as op

    x = op.parameter([1, 5, -1, -1], np.float32, name="luma_phase")
    h = x
    layers = list(zip(weights[0::2], weights[1::2]))
    for i, ((w, b), d) in enumerate(zip(layers, dilations)):
        w, b = np.asarray(w, np.float32), np.asarray(b, np.float32)
        if i == len(layers) - 1:
            w, b = w * RESIDUAL_SCALE, b * RESIDUAL_SCALE
        h = op.convolution(h, op.constant(np.ascontiguousarray(w.transpose(3, 2, 0, 1))), [1, 1], [0, 0], [0, 0],
                           [d, d], auto_pad="same_upper")
        h = op.add(h, op.constant(b.reshape(1, -1, 1, 1)))
        if i < len(layers) - 1:
            h = op.prelu(h, op.constant(np.array([SLOPE], np.float32)))

    def channels(t, lo, hi):
        return op.slice(t, np.array([lo]), np.array([hi]), np.array([1]), np.array([1]))

    outputs = [op.add(channels(x, 0, 1), channels(h, 0, 1))]
    if layers[-1][1].shape[0] == 1 + SR * SR:
        outputs.append(op.depth_to_space(channels(h, 1, 1 + SR * SR), "blocks_first", SR))
    return ov.Model(outputs, [x], "deblock")


def weights_for(factor: float) -> Path:
    """The weights file for a face enlarged `factor` times."""
    return WEIGHTS_X2 if factor <= X2_UP_TO and WEIGHTS_X2.exists() else WEIGHTS


@lru_cache(maxsize=4)
def _compiled(device: str, weights_path: Path):
    from ..runtime import core, resolve_device

    dev = resolve_device(device)
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if dev in ("CPU", "AUTO"):
        config["INFERENCE_PRECISION_HINT"] = "bf16"
    return core().compile_model(build_model(*load_weights(weights_path)), dev, config)


class Deblocker:
    """Deblock a region of a frame's luma: `run(y, (x0, y0, x1, y1))` -> (float32 luma 0..255 of the region, the
    residual 0..255 to add to FSRCNN x4's result of it, or None without a high-resolution head)."""

    def __init__(self, device: str = "AUTO", weights: Path = WEIGHTS):
        self.request = _compiled(device, weights).create_infer_request()

    def run(self, luma: np.ndarray, box: tuple[int, int, int, int], origin: tuple[int, int] = (0, 0),
            strength: float = 1.0) -> tuple[np.ndarray, np.ndarray | None]:
        """`box` (x0, y0, x1, y1) of `luma` deblocked, with `luma`'s pixel (0, 0) at `origin` of the 8x8 grid;
        `strength` 0..1 scales both residuals."""
        x0, y0, x1, y1 = box
        h, w = luma.shape
        ex0, ey0, ex1, ey1 = max(0, x0 - MARGIN), max(0, y0 - MARGIN), min(w, x1 + MARGIN), min(h, y1 + MARGIN)
        crop = luma[ey0:ey1, ex0:ex1]
        x = np.empty((1, 5, *crop.shape), np.float32)
        np.multiply(crop, np.float32(1 / 255), out=x[0, 0], casting="unsafe")
        x[0, 0] -= np.float32(0.5)
        x[0, 1:] = phase_channels(*crop.shape, ex0 + origin[0], ey0 + origin[1])
        outs = self.request.infer([x])
        ry0, ry1, rx0, rx1 = y0 - ey0, y1 - ey0, x0 - ex0, x1 - ex0
        lr = outs[0][0, 0, ry0:ry1, rx0:rx1]
        if strength < 1:
            lr = x[0, 0, ry0:ry1, rx0:rx1] + np.float32(strength) * (lr - x[0, 0, ry0:ry1, rx0:rx1])
        lr = np.clip((lr + np.float32(0.5)) * np.float32(255), 0, 255)
        if len(outs) < 2:
            return lr, None
        hr = outs[1][0, 0, ry0 * SR:ry1 * SR, rx0 * SR:rx1 * SR] * np.float32(255 * strength)
        return lr, hr
