"""Where things live: the checkout, the built models, the download/sample cache."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
# In a checkout (editable install) the manifest and presets sit at its top; an installed wheel carries them in
# the package, and then the cache and the built models go to the user's cache folder.
IN_CHECKOUT = (REPO_ROOT / "ir_models" / "manifest.json").is_file()
MANIFEST = (REPO_ROOT if IN_CHECKOUT else PACKAGE_DIR / "bundled") / "ir_models" / "manifest.json"
PRESETS_DIR = (REPO_ROOT if IN_CHECKOUT else PACKAGE_DIR / "bundled") / "presets"


def _default_home() -> Path:
    if IN_CHECKOUT:
        return REPO_ROOT / ".cache"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "obs-deepzoom"


def data_dir() -> Path:
    """Cache for downloaded wheels, sample media and the OpenVINO compile cache (DEEPZOOM_HOME overrides)."""
    return Path(os.environ.get("DEEPZOOM_HOME") or _default_home())


def ir_dir() -> Path:
    """Built IR files (git-ignored); DEEPZOOM_IR_DIR overrides."""
    default = REPO_ROOT / "ir_models" / "build" if IN_CHECKOUT else data_dir() / "ir_models"
    return Path(os.environ.get("DEEPZOOM_IR_DIR") or default)


def wheels_dir() -> Path:
    return data_dir() / "packages"


def samples_dir() -> Path:
    return data_dir() / "samples"


def compile_cache_dir() -> Path:
    return data_dir() / "ov_cache"


def reference_dir() -> Path:
    """Test-only reference packages (mediapipe) installed with pip --target, kept out of the main venv."""
    return data_dir() / "reference"


def gallery_dir() -> Path:
    """Enrolled faces (the user's own data, not a cache: kept apart from data_dir). DEEPZOOM_GALLERY overrides."""
    env = os.environ.get("DEEPZOOM_GALLERY")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "obs-deepzoom" / "faces"
