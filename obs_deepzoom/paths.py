"""Where things live: the checkout, the built models, the download/sample cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "ir_models" / "manifest.json"
PRESETS_DIR = REPO_ROOT / "presets"


def data_dir() -> Path:
    """Cache for downloaded wheels, sample media and the OpenVINO compile cache (DEEPZOOM_HOME overrides)."""
    return Path(os.environ.get("DEEPZOOM_HOME", REPO_ROOT / ".cache"))


def ir_dir() -> Path:
    """Built IR files (git-ignored); DEEPZOOM_IR_DIR overrides."""
    return Path(os.environ.get("DEEPZOOM_IR_DIR", REPO_ROOT / "ir_models" / "build"))


def wheels_dir() -> Path:
    return data_dir() / "packages"


def samples_dir() -> Path:
    return data_dir() / "samples"


def compile_cache_dir() -> Path:
    return data_dir() / "ov_cache"


def reference_dir() -> Path:
    """Test-only reference packages (mediapipe) installed with pip --target, kept out of the main venv."""
    return data_dir() / "reference"
