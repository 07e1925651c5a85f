"""`deepzoom data fetch`: every download the test suite and the evaluations need, done once into the cache
(DEEPZOOM_HOME), so that they then run with DEEPZOOM_OFFLINE=1 (see obs_deepzoom/netguard.py and docs/data.md).
Each step is skipped when its files are already cached."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .downloads import human_size
from .errors import DeepZoomError

Step = tuple[str, Callable[[], list[Path]]]
TARGETS = ("tests", "eval")


def _samples() -> list[Step]:
    from .samples import SAMPLES, sample

    return [(f"sample {name}", lambda n=name: [sample(n)]) for name in SAMPLES]


def _peers() -> list[Step]:
    """The evaluations' reference implementations and metric model (files of PyPI wheels)."""
    from . import paths
    from .downloads import extract
    from .evaluate import audio_metrics, peers, pesq_native

    sources = paths.data_dir() / "sources"
    files = [("RNNoise library", peers.RNNOISE_LIB, sources / "rnnoise" / "librnnoise.so"),
             ("libDF library", peers.LIBDF, sources / "libdf" / "libdeepfilter.so"),
             ("libDF DeepFilterNet3 model", peers.LIBDF_MODEL, sources / "libdf" / "DeepFilterNet3_onnx.tar.gz"),
             ("DNSMOS model", audio_metrics.DNSMOS_MODEL, sources / "dnsmos" / "sig_bak_ovr.onnx")]
    out = [(f"{what} ({pf.package})", lambda pf=pf, dest=dest: [extract(pf, dest)]) for what, pf, dest in files]
    # PESQ-WB: the ITU-T P.862 C files of the pesq sdist, compiled (no code of the package runs)
    out.append((pesq_native.STEP, lambda: [pesq_native.source_dir(), pesq_native.build(progress=lambda *_: None)]))
    return out


def _obs_deps(progress) -> list[Step]:
    """OBS's Python dependencies for the Python of the installed OBS (3.11 when there is none: the setup tests
    of `deepzoom obs setup` install them anyway); the wheels are kept so a reinstall needs no network."""
    from .remote import setup

    v = setup.obs_python_version()
    tag = f"cp{v[0]}{v[1]}"
    return [(f"OBS Python dependencies: wheels for {tag}", lambda: [setup.fetch_pydeps(v, progress)]),
            (f"OBS Python dependencies: installed for {tag}", lambda: [setup.install_pydeps(v, progress)])]


def steps(target: str = "tests", progress=print) -> list[Step]:
    """The fetch steps for `target`: 'eval' (sample media, audio data, evaluation peers, the MediaPipe
    reference) or 'tests' (those, libobs 32.2.2 for the OBS 32 tier and OBS's Python dependencies)."""
    if target not in TARGETS:
        raise DeepZoomError(f"unknown fetch target '{target}' (have: {', '.join(TARGETS)})")
    from . import reference

    # the audio data first: it fetches the pocketsphinx sdist by its pinned archive sha256, which the speech
    # sample shares
    from .compress import calibration
    from .evaluate import audio_data, face_data

    out = [*audio_data.fetch_steps(), *_samples(), *_peers(),
           ("MediaPipe reference", lambda: [reference.install_mediapipe(progress)]),
           ("dlib face descriptor reference", lambda: reference.install_dlib(progress)),
           ("face analytics pictures (dlib's johns, face_recognition's tests, ORL, CK+ frames)",
            lambda: [p for name in face_data.SETS for p in face_data.fetch(name)]),
           ("calibration media (int8 builds)", lambda: calibration.fetch(lambda *_: None))]
    if target == "tests":
        def obs32() -> list[Path]:
            reference.install_obs32(progress)
            return [reference.obs32_dir()]

        out += [(f"libobs {reference.OBS32_VERSION} reference (OBS 32 tier)", obs32), *_obs_deps(progress)]
    return out


def _size(paths: list[Path]) -> int:
    total = 0
    for p in paths:
        if p.is_file():
            total += p.stat().st_size
        elif p.is_dir():
            for root, _, files in os.walk(p):
                total += sum(os.lstat(os.path.join(root, f)).st_size for f in files)
    return total


def fetch(target: str = "tests", progress=print) -> dict:
    """Run every step of `target`, printing `[i/N] name (size, seconds)`; returns totals."""
    todo = steps(target, lambda msg: progress(f"      {msg}"))
    t0, total = time.monotonic(), 0
    for i, (name, run) in enumerate(todo, 1):
        t = time.monotonic()
        size = _size(run())
        total += size
        progress(f"[{i}/{len(todo)}] {name} ({human_size(size)}, {time.monotonic() - t:.1f} s)")
    return {"steps": len(todo), "bytes": total, "seconds": round(time.monotonic() - t0, 1)}
