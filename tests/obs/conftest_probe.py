"""Helpers for the OBS tiers that load probe scripts into a headless OBS of their own (test_user_paths.py,
test_never_freeze.py): test media, starting OBS with extra scripts, and evidence when OBS dies or freezes."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_deepzoom.bench.obs import write_stereo_wav
from obs_deepzoom.remote import setup
from obs_deepzoom.remote.headless import HeadlessObs
from obs_deepzoom.samples import sample

from .conftest import PASSWORD, SCRIPT, media

HERE = Path(__file__).resolve().parent


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def noisy_clip(path: Path, seconds: float = 3.0, size: tuple[int, int] = (640, 360), fps: int = 30) -> Path:
    """An MJPEG clip of the sample face moving left and right, with Gaussian noise in every frame (a webcam)."""
    w, h = size
    face = cv2.imread(str(sample("single_face.jpg")))
    scale = h / face.shape[0]
    face = cv2.resize(face, (int(face.shape[1] * scale) // 2 * 2, h), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(7)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    n = int(seconds * fps)
    for i in range(n):
        frame = np.full((h, w, 3), 90, np.uint8)
        x = int((w - face.shape[1]) / 2 + 0.12 * w * np.sin(2 * np.pi * i / n))  # one sway per loop: no jump
        frame[:, x: x + face.shape[1]] = face
        noisy = frame.astype(np.float32) + rng.normal(0, 8, frame.shape)
        writer.write(np.clip(noisy, 0, 255).astype(np.uint8))
    writer.release()
    return path


def tone_wav(path: Path, seconds: float = 4.0, rate: int = 48000) -> Path:
    """Stereo 48 kHz: a voice-like harmonic tone (150 Hz and overtones, slowly varying) plus faint noise, never
    silent, so any gap in a recording of it is OBS's (or a filter's) doing. The length is a whole number of
    cycles of every component, so the loop has no seam."""
    t = np.arange(int(seconds * rate)) / rate
    x = sum(0.3 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 6))
    x = x * (0.75 + 0.25 * np.sin(2 * np.pi * 1.0 * t)) + np.random.default_rng(3).normal(0, 0.01, len(t))
    return write_stereo_wav(path, x, rate)


def mux(video: Path, audio: Path, out: Path, seconds: float) -> Path:
    """A camera with a microphone in one media file: the video looped to `seconds` (H.264, small and cheap to
    decode) with the sound (PCM). Long enough that a test's recording does not cross the loop point, where OBS's
    media source restarts and leaves a short hole in the sound."""
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", "-1", "-i", str(video), "-i", str(audio),
                    "-t", str(seconds), "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast",
                    "-crf", "30", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "pcm_s16le", str(out)], check=True)
    return out


def crash_reports(obs: HeadlessObs) -> list[str]:
    return [p.read_text(errors="replace")[:4000] for p in sorted((obs.config_dir / "crashes").glob("*"))]


def backtrace(pid: int, out: Path) -> str:
    """Every thread's native stack of a (frozen) process, by gdb; the first lines of each thread that matter."""
    if not shutil.which("gdb"):
        return "(gdb not installed)"
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "set pagination off", "-ex",
                        "thread apply all bt 80"], capture_output=True, text=True, timeout=120)
    out.write_text(r.stdout + r.stderr)
    return r.stdout


def blocked_threads(bt: str) -> list[str]:
    """The threads of a gdb dump that wait for the GIL or for a mutex, each with its named frames (innermost
    first; unnamed frames as their library) - the two sides of a deadlock."""
    out = []
    for block in bt.split("\nThread ")[1:]:
        head = block.splitlines()[0].split('"')[1] if '"' in block.splitlines()[0] else block.splitlines()[0]
        frames = [line for line in block.splitlines()[1:] if line.startswith("#")]
        top = " ".join(frames[:8])
        if any(w in top for w in ("_PyRuntime", "PyEval_RestoreThread", "PyGILState_Ensure", "take_gil")):
            wait = "the GIL"
        elif any("pthread_mutex_lock" in f for f in frames[:5]):
            wait = "a mutex"
        else:
            continue
        names = []
        for f in frames:
            fn = f.split(" in ", 1)[1].split(" (")[0] if " in " in f else f.split()[1]
            if fn == "??" and " from " in f:
                fn = "?@" + f.rsplit("/", 1)[-1]
            if fn.startswith(("_Py", "Py", "__", "futex", "lll_", "___pthread", "?@libpython", "start_thread",
                              "clone")):
                continue
            if not names or names[-1] != fn:
                names.append(fn)
        out.append(f"{head}: waits for {wait}: {' <- '.join(names[:14])}")
    return out


def pydeps() -> Path:
    """OBS's Python dependencies, and the native shim built (as conftest.obs_env does)."""
    try:
        from obs_deepzoom.obs import native
    except ImportError:  # a tree without the shim
        native = None
    if native is not None:
        native.build(progress=lambda *_: None)
    return setup.install_pydeps(setup.obs_python_version(), progress=lambda *_: None)


def require_obs() -> None:
    missing = [t for t in ("obs", "Xvfb", "ffmpeg") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: the OBS tests need Debian's obs-studio, xvfb and ffmpeg "
                    "(.ci/run installs them)")


@contextlib.contextmanager
def running_obs(home: Path, sources: list[dict], probes: list[Path], env: dict[str, str]):
    """A headless OBS with our script and the probe scripts, `env` in its environment (the probes read it)."""
    require_obs()
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    obs = HeadlessObs(home, password=PASSWORD, sources=sources, scripts=[SCRIPT, *probes], pydeps=pydeps())
    try:
        obs.start()
    except BaseException:
        obs.stop()
        raise
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        yield obs
    finally:
        obs.stop()


def alive(obs: HeadlessObs) -> bool:
    return obs.proc is not None and obs.proc.poll() is None


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def watch(obs: HeadlessObs, progress: Path, done: str, stall_s: float, timeout_s: float) -> str:
    """Wait until the probe writes `done`, OBS exits, the progress file stops growing for `stall_s` (a freeze)
    or `timeout_s` passes. Returns "done", "died", "stalled" or "timeout"."""
    t0 = last_change = time.monotonic()
    size = -1
    while True:
        text = progress.read_text() if progress.exists() else ""
        if done in text:
            return "done"
        if not alive(obs):
            return "died"
        if len(text) != size:
            size, last_change = len(text), time.monotonic()
        if time.monotonic() - last_change > stall_s:
            return "stalled"
        if time.monotonic() - t0 > timeout_s:
            return "timeout"
        time.sleep(0.5)


def evidence(obs: HeadlessObs, outcome: str, progress: Path) -> str:
    """What a failure report needs: how it ended, the probe's last lines, OBS's log tail, crash report,
    and for a freeze the threads that wait (gdb)."""
    parts = [f"outcome: {outcome} (OBS exit code {obs.proc.poll() if obs.proc else None})",
             "probe's last lines:\n  " + "\n  ".join(lines(progress)[-8:])]
    if outcome in ("stalled", "timeout") and alive(obs):
        bt = backtrace(obs.proc.pid, obs.home / "gdb-backtrace.txt")
        waits = blocked_threads(bt)
        parts.append(f"threads waiting ({obs.home / 'gdb-backtrace.txt'}):\n  " + "\n  ".join(waits))
    for faults in sorted(obs.home.rglob("*.faults")):
        text = faults.read_text(errors="replace").strip()
        if text:  # the crashing thread first, then the others
            blocks = text.split("\n\n")
            blocks.sort(key=lambda b: "Current thread" not in b)
            parts.append(f"Python stacks at the crash ({faults}):\n" + "\n\n".join(blocks)[:3000])
    crashes = crash_reports(obs)
    if crashes:
        parts.append("crash report:\n" + crashes[-1][:2500])
    parts.append("OBS log tail:\n  " + "\n  ".join(obs.log_text().splitlines()[-25:]))
    return "\n".join(parts)


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path


__all__ = ["HERE", "PASSWORD", "SCRIPT", "media", "env_float", "noisy_clip", "tone_wav", "mux", "crash_reports",
           "backtrace", "blocked_threads", "running_obs", "alive", "lines", "watch", "evidence", "write_json"]
