"""The OBS 32 tier: libobs 32.2.2 (pylibobs, test-only) hosted by tests/obs32/host.py in a subprocess under
Xvfb. Nothing here is skipped: a missing dependency fails with what to run."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from obs_deepzoom.reference import obs32_env, obs32_missing
from obs_deepzoom.remote.headless import free_display

HOST = Path(__file__).resolve().parent / "host.py"
TIMEOUT_S = 150


@dataclass
class HostRun:
    args: list[str]
    returncode: int
    steps: list[dict]
    stderr: str
    seconds: float
    by_step: dict = field(default_factory=dict)

    def __post_init__(self):
        self.by_step = {s["step"]: s for s in self.steps}

    def step(self, name: str) -> dict:
        """The step's report, or a failure saying where the run stopped and why."""
        if name not in self.by_step:
            pytest.fail(f"host.py {' '.join(self.args)} never reached step '{name}'.\n{self.story()}")
        return self.by_step[name]

    def story(self) -> str:
        last = self.steps[-1] if self.steps else None
        exit = (f"killed by signal {-self.returncode}" if self.returncode < 0 else f"exit status {self.returncode}")
        notable = [line for line in self.stderr.splitlines()
                   if any(w in line for w in ("error", "Error", "Traceback", "Fatal", "File \"", "[deepzoom]"))]
        trace = f"\nhost.py traceback:\n{last['traceback']}" if last and last.get("traceback") else ""
        return (f"{exit} after {self.seconds:.1f} s; last step: {json.dumps(last)[:600] if last else 'none'}{trace}\n"
                "stderr (notable lines):\n" + "\n".join(notable[-40:]))

    @property
    def ended(self) -> bool:
        last = self.steps[-1] if self.steps else {}
        return self.returncode == 0 and last.get("step") == "end" and last.get("ok") is True


def build_native() -> None:
    """Our native OBS callbacks, built as `deepzoom obs setup` builds them (when the product has them)."""
    try:
        native = importlib.import_module("obs_deepzoom.obs.native")
    except ModuleNotFoundError as exc:
        if exc.name != "obs_deepzoom.obs.native":
            raise
        return
    native.build(progress=lambda *_: None)


@pytest.fixture(scope="session")
def obs32_display():
    why = obs32_missing()
    if why:
        pytest.fail(f"OBS 32 tier: {why}. Run `deepzoom reference install` (`python3 install.py test` does).")
    if shutil.which("Xvfb") is None:
        pytest.fail("OBS 32 tier: Xvfb is not installed (apt-get install xvfb; .ci/run installs it)")
    build_native()
    n = free_display()
    xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    socket = Path(f"/tmp/.X11-unix/X{n}")
    end = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < end and xvfb.poll() is None:
        time.sleep(0.05)
    if not socket.exists():
        xvfb.kill()
        pytest.fail(f"OBS 32 tier: Xvfb :{n} did not start")
    yield f":{n}"
    xvfb.terminate()
    xvfb.wait(5)


def run_host(display: str, *args: str, env_libobs: bool = True) -> HostRun:
    """host.py in the tier's environment: FFmpeg 6 links, pylibobs, software GL, DEEPZOOM_LIBOBS naming the
    libobs pylibobs loads (unless env_libobs is False: then the bridge must find it alone)."""
    env = obs32_env()
    env.update(DISPLAY=display, DEEPZOOM_OBS32_HOST="1", PYTHONFAULTHANDLER="1")
    if not env_libobs:
        env.pop("DEEPZOOM_LIBOBS", None)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, str(HOST), *args], env=env, capture_output=True, text=True,
                           timeout=TIMEOUT_S, cwd=HOST.parents[2])
        out, err, rc = r.stdout, r.stderr, r.returncode
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else exc.stderr or ""
        rc = -9
        err += f"\nhost.py timed out after {TIMEOUT_S} s"
    steps = []
    for line in out.splitlines():
        try:
            steps.append(json.loads(line))
        except json.JSONDecodeError:
            steps.append({"step": "?", "text": line})
    return HostRun(list(args), rc, steps, err, time.perf_counter() - t0)


@pytest.fixture(scope="session")
def layout_run(obs32_display) -> HostRun:
    return run_host(obs32_display, "layout")


@pytest.fixture(scope="session")
def found_run(obs32_display) -> HostRun:
    """libobs started, then our bridge imported with no DEEPZOOM_LIBOBS: it must find the loaded libobs."""
    return run_host(obs32_display, "version", env_libobs=False)


@pytest.fixture(scope="session")
def user_run(obs32_display) -> HostRun:
    """Every DeepZoom kind through what a user does (host.py run)."""
    return run_host(obs32_display, "run", "--frames", "3")
