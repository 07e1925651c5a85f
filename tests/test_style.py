"""The tree stays lint-clean: ruff (configured in pyproject.toml) runs as part of the suite."""

from __future__ import annotations

import subprocess
import sys

from obs_deepzoom import paths


def test_ruff_clean():
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=paths.REPO_ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-1000:]
