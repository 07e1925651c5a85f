#!/usr/bin/env python3
"""obs-deepzoom setup (standard library only; safe to run again: finished steps are skipped).

    python3 install.py         create .venv, install the package, build the models, fetch the sample media
    python3 install.py demo    setup, then run the default preset over the sample clip (MP4 + PNG + timings)
    python3 install.py test    setup with test dependencies, then the whole test suite
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".deepzoom-installed"
T0 = time.monotonic()


def say(msg: str) -> None:
    print(f"[install {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def fail(msg: str) -> None:
    print(f"install.py: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def run(cmd: list[str], **kw) -> None:
    r = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw)
    if r.returncode != 0:
        fail(f"command failed ({r.returncode}): {' '.join(str(c) for c in cmd)}")


def make_venv() -> None:
    if PY.exists():
        return
    say(f"creating virtual environment {VENV}")
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        fail(f"could not create a virtual environment ({exc}). On Debian/Ubuntu: sudo apt-get install python3-venv")


def portaudio_available() -> bool:
    return any(Path(p).exists() for p in ("/usr/include/portaudio.h", "/usr/local/include/portaudio.h"))


def install_package(extras: list[str]) -> None:
    if portaudio_available():
        extras = extras + ["audio"]
    spec = f".[{','.join(extras)}]" if extras else "."
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + spec.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == key:
        say(f"package {spec} already installed")
        return
    say(f"installing obs-deepzoom {spec} and its dependencies into .venv (a few minutes the first time)")
    run([PY, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off", "-q", "-e", spec])
    STAMP.write_text(key)
    if not portaudio_available():
        say("note: PortAudio headers not found, skipping the optional pyaudio extra "
            "(live audio devices); install portaudio19-dev and re-run to get it")


def deepzoom(*args: str) -> None:
    run([BIN / "deepzoom", *args])


def setup(extras: list[str]) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 (install.py runs under any python3)
        fail(f"Python 3.10 or newer is needed (this is {sys.version.split()[0]})")
    make_venv()
    install_package(extras)
    say("building OpenVINO models that are missing (ir_models/manifest.json)")
    deepzoom("models", "build")
    say("fetching sample media")
    deepzoom("samples", "fetch")


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "setup"
    if action not in ("setup", "demo", "test") or len(argv) > 1:
        print(__doc__)
        return 2
    if action == "test":
        setup(["test"])
        say("installing the test-only MediaPipe reference")
        deepzoom("reference", "install")
        say("running the test suite")
        rc = subprocess.run([str(PY), "-m", "pytest", "-q"], cwd=ROOT).returncode
        if rc == 5:
            print("install.py: error: pytest collected no tests", file=sys.stderr)
            return 1
        say(f"tests finished with exit code {rc}")
        return rc
    setup([])
    if action == "demo":
        say("running the demo")
        run([BIN / "deepzoom", "demo"])
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
