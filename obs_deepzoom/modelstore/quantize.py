"""INT8 IR of a manifest model: NNCF post-training quantisation of its float IR on calibration inputs (the
inputs the engine really gave the model, recorded while it processed calibration media: see
obs_deepzoom/compress/calibration.py). Needs the `compress` extra (nncf); nothing at run time imports it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..downloads import sha256_of
from ..errors import DeepZoomError, ModelError
from .build import build_state, read_stamp, save_ir
from .manifest import ModelEntry

log = logging.getLogger(__name__)


def _nncf():
    try:
        import nncf
    except ImportError as exc:
        raise DeepZoomError("int8 builds need NNCF: pip install 'obs-deepzoom[compress]' (python3 install.py "
                            "test installs it)") from exc
    return nncf


def load_calibration(path: Path, n_inputs: int) -> list[tuple[np.ndarray, ...]]:
    """Samples of a calibration file written by compress.calibration.save: `in0`, `in1`, ... stacked, or
    `in0_K` per sample for an input whose shape varies."""
    with np.load(path) as data:
        columns = []
        for i in range(n_inputs):
            if f"in{i}" in data.files:
                columns.append(list(data[f"in{i}"]))
            else:
                columns.append([data[f"in{i}_{k}"] for k in range(sum(f.startswith(f"in{i}_") for f in data.files))])
    if not columns or not columns[0]:
        raise DeepZoomError(f"calibration file {path} holds no samples")
    return list(zip(*columns))


def quantize_one(entry: ModelEntry, calibration: Path) -> Path:
    """Write `entry`'s int8 IR from its float IR and the calibration file; returns the .xml."""
    import openvino as ov

    if entry.int8 is None:
        raise ModelError(entry.name, "has no int8 build in the manifest")
    if build_state(entry) != "ok":
        raise ModelError(entry.name, f"float IR is {build_state(entry)}: run `deepzoom models build` first")
    nncf = _nncf()
    model = ov.Core().read_model(str(entry.xml))
    names = [p.get_any_name() for p in model.inputs]
    samples = load_calibration(calibration, len(names))
    dataset = nncf.Dataset(samples, lambda s: dict(zip(names, s)))
    preset = {"performance": nncf.QuantizationPreset.PERFORMANCE, "mixed": nncf.QuantizationPreset.MIXED}
    ignored = nncf.IgnoredScope(types=entry.int8.ignored_types, validate=False) if entry.int8.ignored_types \
        else None
    try:
        quantized = nncf.quantize(model, dataset, preset=preset[entry.int8.preset],
                                  subset_size=min(entry.int8.subset_size, len(samples)),
                                  **({"ignored_scope": ignored} if ignored else {}))
    except Exception as exc:
        raise ModelError(entry.name, f"failed to quantise ({type(exc).__name__}: {str(exc)[:200]})") from exc
    stamp = {"float_bin_sha256": read_stamp(entry.stamp)["bin_sha256"], "int8": entry.int8.model_dump(),
             "calibration_sha256": sha256_of(calibration), "calibration_samples": len(samples),
             "nncf": nncf.__version__}
    return save_ir(quantized, entry.variant_xml("int8"), entry.variant_stamp("int8"), stamp)
