#!/usr/bin/env python3
"""obs-deepzoom setup (standard library only; safe to run again: finished steps are skipped).

    python3 install.py         set up: system packages, .venv, the package, the models, the sample media
    python3 install.py demo    set up, then run the default preset over the sample clip (MP4 + PNG + timings)
    python3 install.py test    set up for testing (OBS, Xvfb, ffmpeg, test data too), then the whole test suite

Every download happens here, during set-up; the test run itself is offline (DEEPZOOM_OFFLINE=1).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".deepzoom-installed"
CONSTRAINTS = ROOT / "constraints.txt"
T0 = time.monotonic()

# Debian/Ubuntu packages, each with a file that shows it is there. The tests drive a real headless OBS Studio
# (obs, under Xvfb, drawing with Mesa's software OpenGL) and decode speech prompts with ffmpeg.
VENV_PACKAGE = ("python3-venv", None)
TEST_PACKAGES = (("obs-studio", "obs"), ("xvfb", "Xvfb"), ("ffmpeg", "ffmpeg"),
                 ("libgl1-mesa-dri", "/usr/lib/*/dri/swrast_dri.so"))


def say(msg: str) -> None:
    print(f"[install {time.monotonic() - T0:6.1f}s] {msg}", flush=True)


class SetupError(Exception):
    """A step that cannot go on; the message is one line that says what to do."""


def run(cmd: list, **kw) -> None:
    r = subprocess.run([str(c) for c in cmd], cwd=ROOT, **kw)
    if r.returncode != 0:
        raise SetupError(f"command failed ({r.returncode}): {' '.join(str(c) for c in cmd)}")


# ---- system packages ------------------------------------------------------------------------------------------
def _present(probe: str | None, which: Callable[[str], str | None]) -> bool:
    if probe is None:  # python3-venv: ensurepip is what it adds
        try:
            import ensurepip  # noqa: F401
        except ImportError:
            return False
        return True
    if probe.startswith("/"):
        return any(Path("/").glob(probe.lstrip("/")))
    return which(probe) is not None


def missing_packages(action: str, which: Callable[[str], str | None] = shutil.which) -> list[str]:
    wanted = [VENV_PACKAGE] + (list(TEST_PACKAGES) if action == "test" else [])
    if action == "test" or not PY.exists():
        return [name for name, probe in wanted if not _present(probe, which)]
    return []


def apt_prefix(which: Callable[[str], str | None] = shutil.which, euid: int | None = None) -> list[str] | None:
    """How to run apt-get here: [] as root, ['sudo', '-n'] when sudo needs no password, None when we cannot."""
    if which("apt-get") is None:
        return None
    euid = os.geteuid() if euid is None else euid
    if euid == 0:
        return []
    if which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def apt_lists_empty() -> bool:
    """True when apt has no package lists yet (a fresh image): `apt-get download` of the test data needs them."""
    lists = Path("/var/lib/apt/lists")
    return lists.is_dir() and not any(lists.glob("*_Packages*"))


def ensure_system_packages(action: str, which: Callable[[str], str | None] = shutil.which,
                           euid: int | None = None, runner: Callable[[list], None] = run,
                           lists_empty: Callable[[], bool] = apt_lists_empty) -> list[str]:
    """Install the missing system packages with apt when we may; otherwise stop with the exact command.
    For `test`, also fetch apt's package lists when there are none. Returns the packages installed."""
    missing = missing_packages(action, which)
    update = bool(missing) or (action == "test" and which("apt-get") is not None and lists_empty())
    if not update:
        return []
    line = f"apt-get install -y --no-install-recommends {' '.join(missing)}"
    prefix = apt_prefix(which, euid)
    if prefix is None:
        if not which("apt-get"):
            raise SetupError(f"missing system packages: {', '.join(missing)}; install them with your system's "
                             "package manager")
        what = f"missing system packages: {' '.join(missing)}" if missing else "apt has no package lists"
        hint = "sudo apt-get update" + (f" && sudo {line}" if missing else "")
        raise SetupError(f"{what}. Run: {hint}")
    # sudo resets the environment, so the variable goes through env(1)
    apt = [*prefix, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
    note = " (OBS Studio and its libraries: 160 MB to download, 560 MB installed)" if "obs-studio" in missing else ""
    say(f"apt-get update{'; installing ' + ' '.join(missing) if missing else ''}{note}")
    runner([*apt, "update", "-q"])
    if missing:
        runner([*apt, *line.split()[1:]])
    still = missing_packages(action, which)
    if still:
        raise SetupError(f"apt-get ran but these are still missing: {' '.join(still)}")
    return missing


# ---- Python environment ---------------------------------------------------------------------------------------
def make_venv() -> None:
    if PY.exists():
        return
    say(f"creating virtual environment {VENV}")
    try:
        venv.EnvBuilder(with_pip=True).create(VENV)
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        raise SetupError(f"could not create a virtual environment ({exc}). "
                         "Run: sudo apt-get install python3-venv") from exc


def install_package(extras: list[str]) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes()
                         + spec.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == key:
        say(f"package {spec} already installed")
        return
    say(f"installing obs-deepzoom {spec} with the versions of constraints.txt into .venv "
        "(about 1.3 GB, 1-3 minutes the first time)")
    run(pip_install_command(spec))
    STAMP.write_text(key)


def pip_install_command(spec: str) -> list:
    # Wheels only (--only-binary=:all:): building an sdist runs its setup code from PyPI and can compile for
    # minutes (Cython once did). Every pin of constraints.txt has a wheel. The one source-only package we use,
    # pesq, is not a pip dependency: `deepzoom data fetch` compiles its C files from the sdist pinned by sha256.
    # The project itself (a local directory, not an index package) is still built by pip, editable.
    return [PY, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "on",
            "--only-binary=:all:", "-c", CONSTRAINTS, "-e", spec]


def deepzoom(*args: str) -> None:
    run([BIN / "deepzoom", *args])


def setup(action: str) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 (install.py runs under any python3)
        raise SetupError(f"Python 3.10 or newer is needed (this is {sys.version.split()[0]})")
    steps = 4 if action == "test" else 3
    say(f"[1/{steps}] system packages")
    if not ensure_system_packages(action):
        say("system packages: nothing to install")
    make_venv()
    say(f"[2/{steps}] Python packages")
    install_package(["test", "compress"] if action == "test" else [])
    say(f"[3/{steps}] OpenVINO models that are missing (ir_models/manifest.json), then the sample media")
    deepzoom("models", "build")
    deepzoom("samples", "fetch")
    if action == "test":
        say(f"[4/{steps}] the test and evaluation data, the test-only references (MediaPipe, libobs 32.2.2) and "
            "OBS's Python dependencies")
        deepzoom("data", "fetch")


def after_tests(rc: int) -> str:
    """The 'Next:' of `install.py test`: after a pass, the demo and the CLI; after a failure, how to rerun."""
    if rc == 0:
        return "Next: python3 install.py demo; . .venv/bin/activate; deepzoom --help; OBS: deepzoom obs setup"
    return ("Next: rerun the failed tests, stopping at the first: DEEPZOOM_OFFLINE=1 .venv/bin/python -m pytest "
            "-q -x --lf (-s shows its output)")


def main(argv: list[str]) -> int:
    action = argv[0] if argv else "setup"
    if action not in ("setup", "demo", "test") or len(argv) > 1:
        print(__doc__)
        return 2
    try:
        setup(action)
        if action == "test":
            say("running the test suite, offline (DEEPZOOM_OFFLINE=1: any download raises)")
            env = {**os.environ, "DEEPZOOM_OFFLINE": "1"}
            rc = subprocess.run([str(PY), "-m", "pytest", "-q"], cwd=ROOT, env=env).returncode
            if rc == 5:
                raise SetupError("pytest collected no tests")
            say(f"tests finished with exit code {rc}")
            say(after_tests(rc))
            return rc
        if action == "demo":
            say("running the demo")
            deepzoom("demo")
    except SetupError as exc:
        print(f"install.py: error: {exc}", file=sys.stderr, flush=True)
        return 2
    say("done. Next: . .venv/bin/activate; deepzoom --help"
        + ("" if action == "demo" else "; python3 install.py demo")
        + "; OBS: deepzoom obs setup (docs/obs.md). Live microphones (deepzoom denoise --live) need PyAudio, "
        "which pip compiles: apt-get install portaudio19-dev; .venv/bin/pip install -e '.[audio]'")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
