"""Speech-quality metrics at 16 kHz: PESQ-WB (the pesq 0.0.4 sdist's C code, compiled: pesq_native.py), STOI
(pystoi), SI-SDR (numpy) and DNSMOS P.835 (Microsoft's ONNX model shipped in the speechmos wheel, run here
through OpenVINO)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import paths
from ..downloads import PackageFile, extract
from ..errors import DeepZoomError

RATE = 16000
DNSMOS_MODEL = PackageFile(package="speechmos==0.0.1.1", file="speechmos/dnsmos_models/sig_bak_ovr.onnx",
                           sha256="269fbebdb513aa23cddfbb593542ecc540284a91849ac50516870e1ac78f6edd")
DNSMOS_SECONDS = 9.01
# DNSMOS P.835 (not personalised): raw network outputs -> MOS, polynomials published with the model
_POLY = {"sig": (-0.08397278, 1.22083953, 0.0052439), "bak": (-0.13166888, 1.60915514, -0.39604546),
         "ovrl": (-0.06766283, 1.11546468, 0.04602535)}


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB."""
    est, ref = np.asarray(est, np.float64), np.asarray(ref, np.float64)
    target = (est @ ref) / max(ref @ ref, 1e-12) * ref
    return float(10 * np.log10(max(target @ target, 1e-12) / max((est - target) @ (est - target), 1e-12)))


def pesq_wb(ref: np.ndarray, est: np.ndarray) -> float:
    """PESQ-WB: the pesq package's number, from its ITU-T P.862 C code compiled by us (pesq_native.py)."""
    from .pesq_native import pesq_wb as _pesq_wb

    return _pesq_wb(ref, est, RATE)


def stoi(ref: np.ndarray, est: np.ndarray) -> float:
    try:
        from pystoi import stoi as _stoi
    except ImportError as exc:
        raise DeepZoomError("the evaluation needs the test extra: pip install -e '.[test]' (pystoi)") from exc
    return float(_stoi(ref, est, RATE, extended=False))


@lru_cache(maxsize=1)
def _dnsmos():
    import openvino as ov

    from ..engine.runtime import core

    onnx = extract(DNSMOS_MODEL, paths.data_dir() / "sources" / "dnsmos" / "sig_bak_ovr.onnx")
    model = core().read_model(str(onnx))
    model.reshape({model.inputs[0]: [1, int(DNSMOS_SECONDS * RATE)]})
    compiled = core().compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    return compiled, ov


def dnsmos(x: np.ndarray) -> dict[str, float]:
    """DNSMOS P.835 SIG/BAK/OVRL of a 16 kHz clip (repeated to 9.01 s as the reference code does; longer
    clips are scored per 9.01 s window every second and averaged)."""
    compiled, _ = _dnsmos()
    x = np.clip(np.asarray(x, np.float32), -1, 1)
    need = int(DNSMOS_SECONDS * RATE)
    while len(x) < need:
        x = np.concatenate([x, x])
    starts = range(0, int(np.floor(len(x) / RATE - DNSMOS_SECONDS)) * RATE + 1, RATE)
    raw = np.mean([compiled(x[None, s:s + need])[0][0] for s in starts], axis=0)
    return {k: float(np.polyval(_POLY[k], r)) for k, r in zip(("sig", "bak", "ovrl"), raw)}
