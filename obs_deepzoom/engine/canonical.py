"""The canonical 3D face used for head pose, derived from the face-mesh model's own 3D output.

No canonical face model ships in the offline packages, so we make one: the mesh of each sample portrait is
rotated into its face frame (see headpose.face_frame), scaled to 90 mm between the outer eye corners and the
results are averaged. Stored next to the built IR as canonical_face.npy (468x3, mm, x right, y down)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from .. import paths
from ..errors import ModelError

NAME = "canonical_face"


def canonical_path():
    return paths.ir_dir() / f"{NAME}.npy"


_lock = threading.Lock()
_cache: dict[str, np.ndarray] = {}


def load_canonical_face() -> np.ndarray:
    """Loaded once per process and shared. np.load parses the .npy header with ast.literal_eval, which
    CPython 3.11 before 3.11.5 (OBS 29's Debian Python is 3.11.2) cannot run in two threads at once
    ("AST constructor recursion depth mismatch"): filters' workers start together, so it is locked."""
    p = canonical_path()
    with _lock:
        if str(p) not in _cache:
            _cache[str(p)] = _read(p)
        return _cache[str(p)]


def _read(p) -> np.ndarray:
    try:
        pts = np.load(p)
    except (OSError, ValueError) as exc:
        raise ModelError(NAME, f"is not built ({p})") from exc
    if pts.shape != (468, 3) or not np.isfinite(pts).all():
        raise ModelError(NAME, f"is corrupt ({p}: shape {pts.shape})")
    return pts


def build_canonical_face(portraits: list[Path], progress=print) -> np.ndarray:
    """The mean face of the given portraits (one face each), in millimetres, saved where the tracker loads it."""
    import cv2

    from .geometry import Roi
    from .headpose import OUTER_EYE_CORNERS_MM, face_frame
    from .models import FaceDetector, FaceMesh

    detector, mesh = FaceDetector("full", "CPU"), FaceMesh("CPU")
    faces = []
    for path in portraits:
        img = cv2.imread(str(path))
        if img is None:
            raise ModelError(NAME, f"could not be derived: cannot read {path}")
        dets = detector.detect(img)
        if not dets:
            raise ModelError(NAME, f"could not be derived: no face found in {Path(path).name}")
        x, y, w, h = max(dets, key=lambda d: d.score).box
        pts, _ = mesh.run(img, Roi(x + w / 2, y + h / 2, max(w, h) * 1.5))
        for _ in range(2):  # refine the crop from the landmarks themselves, as tracking does
            pts, _ = mesh.run(img, Roi.around(pts, 33, 263, 1.5))
        pts = pts.astype(np.float64)
        centred = (pts - pts.mean(0)) @ face_frame(pts).T
        faces.append(centred * OUTER_EYE_CORNERS_MM / np.linalg.norm(centred[263] - centred[33]))
    canonical = np.mean(faces, axis=0)
    p = canonical_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    np.save(p, canonical.astype(np.float32))
    _cache.pop(str(p), None)
    progress(f"{NAME}: derived from {len(faces)} portraits -> {p}")
    return canonical
