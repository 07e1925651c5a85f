"""A Motion as a few dozen integers and back: head pose (Euler angles, shift, log scale), the expression
projected on a fixed basis of EXPRESSION_COMPONENTS shapes (expression_basis.npz, tools/codec_basis.py), eye
openness and iris shifts, each quantised with its own step. A frame is coded as the difference from the previous
frame's integers (closed loop: both sides hold the same integers), or on its own ("intra") after a keyframe and
every few frames so that a lost packet is repaired soon."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..avatar.motion import Motion
from ..avatar.topology import euler, from_euler
from .bits import BitReader, BitWriter, CodecError

BASIS_FILE = Path(__file__).with_name("expression_basis.npz")
INTRA_ORDER, DELTA_ORDER = 3, 0  # Exp-Golomb orders: absolute values are larger than frame-to-frame changes
POSE = 7  # values before the expression: 3 angles, 3 shifts, log scale
LAST_ORDER = 2  # Exp-Golomb order of a change's expression length


@lru_cache(maxsize=1)
def expression_basis() -> np.ndarray:
    """K x 1404 orthonormal rows (468 landmarks x (x, y, z) in the face frame, inter-ocular units)."""
    with np.load(BASIS_FILE) as f:
        return np.ascontiguousarray(f["basis"], np.float64)


@lru_cache(maxsize=1)
def basis_digest() -> bytes:
    """4 bytes naming the basis: a stream made with another basis is refused, not decoded into nonsense."""
    with np.load(BASIS_FILE) as f:
        return hashlib.sha256(f["basis"].astype("<f4").tobytes()).digest()[:4]


def steps(expression_step: float) -> np.ndarray:
    """The quantisation step of each value: angles (rad), shift (iod), log scale, expression coefficients
    (iod), eye openness, iris (eye widths)."""
    k = len(expression_basis())
    return np.concatenate([[0.0015] * 3, [0.002] * 3, [0.001], [expression_step] * k, [0.04] * 2, [0.004] * 4])


def to_values(m: Motion) -> np.ndarray:
    coef = expression_basis() @ np.asarray(m.expression, np.float64).ravel()
    return np.concatenate([euler(m.rotation), m.shift, [np.log(max(m.scale, 1e-6))], coef, m.eye_open,
                           np.asarray(m.iris).ravel()])


def from_values(v: np.ndarray) -> Motion:
    k = len(expression_basis())
    expression = (v[7:7 + k] @ expression_basis()).reshape(468, 3)
    return Motion(from_euler(v[:3]), v[3:6].copy(), float(np.exp(v[6])), expression, v[7 + k:9 + k].copy(),
                  v[9 + k:13 + k].reshape(2, 2).copy())


def quantise(m: Motion, step: np.ndarray) -> np.ndarray:
    return np.round(to_values(m) / step).astype(np.int64)


def dequantise(q: np.ndarray, step: np.ndarray) -> Motion:
    return from_values(q * step)


def write(w: BitWriter, q: np.ndarray, prev: np.ndarray | None) -> None:
    """`q` as bits: on its own (prev None), or as the change from `prev`. A change gives how many expression
    coefficients it holds (up to the last that changed; the basis is ordered by how much its shapes move, so
    the later ones seldom change) and leaves out the unchanged rest."""
    if prev is None:
        for v in q:
            w.signed(int(v), INTRA_ORDER)
        return
    d = q - prev
    k = len(expression_basis())
    changed = np.flatnonzero(d[POSE:POSE + k])
    last = int(changed[-1]) + 1 if len(changed) else 0
    for v in d[:POSE]:
        w.signed(int(v), DELTA_ORDER)
    w.unsigned(last, LAST_ORDER)
    for v in (*d[POSE:POSE + last], *d[POSE + k:]):
        w.signed(int(v), DELTA_ORDER)


def read(r: BitReader, prev: np.ndarray | None, n: int) -> np.ndarray:
    if prev is None:
        return np.array([r.signed(INTRA_ORDER) for _ in range(n)], np.int64)
    k = len(expression_basis())
    d = np.zeros(n, np.int64)
    d[:POSE] = [r.signed(DELTA_ORDER) for _ in range(POSE)]
    last = r.unsigned(LAST_ORDER)
    if last > k:
        raise CodecError("a motion record holds more expression values than there are (the stream is damaged)")
    d[POSE:POSE + last] = [r.signed(DELTA_ORDER) for _ in range(last)]
    d[POSE + k:] = [r.signed(DELTA_ORDER) for _ in range(n - POSE - k)]
    return prev + d


def pack(q: np.ndarray, prev: np.ndarray | None) -> bytes:
    """One frame's record payload."""
    w = BitWriter()
    write(w, q, prev)
    return w.getvalue()


def unpack(data: bytes, prev: np.ndarray | None, n: int) -> np.ndarray:
    r = BitReader(data)
    q = read(r, prev, n)
    if not r.padding_ok():
        raise CodecError("a motion record is longer than its values (the stream is damaged)")
    return q


# the largest magnitude a real Motion reaches, per value (angles in rad, log scale, shift and expression in iod,
# eye openness, iris in eye widths): anything beyond is a damaged or forged record
LIMITS = {"angles": 3.2, "shift": 50.0, "log_scale": 3.0, "expression": 20.0, "eyes": 5.0, "iris": 5.0}


def check_range(q: np.ndarray, step: np.ndarray) -> None:
    k = len(expression_basis())
    v = np.abs(q * step)
    limit = np.concatenate([[LIMITS["angles"]] * 3, [LIMITS["shift"]] * 3, [LIMITS["log_scale"]],
                            [LIMITS["expression"]] * k, [LIMITS["eyes"]] * 2, [LIMITS["iris"]] * 4])
    if not np.all(v <= limit):
        raise CodecError("a motion record holds values no face makes (the stream is damaged)")


def value_count() -> int:
    return 13 + len(expression_basis())
