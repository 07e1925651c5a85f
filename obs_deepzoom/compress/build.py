"""`deepzoom models build --precision int8`: record the calibration inputs once (the engine on the calibration
media, f32 models), then quantise each model the manifest offers an int8 build for."""

from __future__ import annotations

import time
from pathlib import Path

from .. import paths
from ..errors import ModelError
from ..modelstore.build import build_state
from ..modelstore.manifest import load_manifest
from ..modelstore.quantize import _nncf, quantize_one
from . import calibration

VIDEO_MODELS = ("face_", "iris_", "selfie_", "fsrcnn_", "age_", "gender_", "sface")


def calibration_dir() -> Path:
    return paths.data_dir() / "calibration" / "inputs"


def _record(names: list[str], progress) -> None:
    """Record the calibration inputs of `names` that are not cached yet (video and audio separately)."""
    out = calibration_dir()
    todo = [n for n in names if not (out / f"{n}.npz").exists()]
    video = [n for n in todo if n.startswith(VIDEO_MODELS)]
    audio = [n for n in todo if n not in video]
    calibration.fetch(progress)
    for wanted, record in ((video, calibration.record_video), (audio, calibration.record_audio)):
        if wanted:
            samples = record(progress=progress)
            for n in wanted:
                if n not in samples:
                    raise ModelError(n, "got no inputs in the calibration run")
                calibration.save(samples, n, out)


def build_int8(names: list[str] | None = None, force: bool = False, progress=print) -> list[str]:
    """Quantise the named models (all that offer int8 when None) that are missing, stale or corrupt."""
    manifest = load_manifest()
    entries = [manifest.get(n) for n in names] if names else [m for m in manifest.models if m.int8]
    todo = [e for e in entries if e.int8 and (force or build_state(e, "int8") != "ok")]
    if todo:
        _nncf()  # before minutes of recording: say at once when the compress extra is missing
    for e in entries:
        if not e.int8:
            progress(f"{e.name}: no int8 build in the manifest")
    if not todo:
        progress("int8 models: up to date")
        return []
    if force:
        for e in todo:
            (calibration_dir() / f"{e.name}.npz").unlink(missing_ok=True)
    _record([e.name for e in todo], progress)
    for i, entry in enumerate(todo, 1):
        t = time.perf_counter()
        quantize_one(entry, calibration_dir() / f"{entry.name}.npz")
        progress(f"[{i}/{len(todo)}] {entry.name}: int8 built in {time.perf_counter() - t:.1f} s "
                 f"-> {entry.variant_xml('int8')}")
    return [e.name for e in todo]
