"""The package holds without an editable install: the wheel carries every data file, and installed into a fresh
venv that sees only the runtime dependencies (no test extra: no scipy, pytest, ...), `deepzoom models verify`
passes, and `deepzoom denoise --mode best` and `deepzoom process` (a short video with sound) run. Offline: the
wheel is built without build isolation."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from obs_deepzoom import paths

ROOT = paths.REPO_ROOT
_spec = importlib.util.spec_from_file_location("pin_constraints", ROOT / "tools" / "pin_constraints.py")
pin = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pin)


def _tracked() -> list[str]:
    return subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT, check=True).stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the tracked files only: a checkout's stale build/ (setuptools reuses it) or
    untracked files could otherwise slip into the wheel."""
    import shutil

    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("wheel")
    for name in _tracked():
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "--disable-pip-version-check", "-q", "-w", str(out), str(src)],
                       capture_output=True, text=True, cwd=out)
    assert r.returncode == 0, r.stderr[-2000:]
    (found,) = out.glob("obs_deepzoom-*.whl")
    return found


def test_wheel_carries_every_module_and_data_file(wheel):
    """Every tracked file of the package, modules and data alike (a folder without __init__.py once left the OBS
    adapter and the avatar engine out), and no other module (a stale build/ once put moved modules back)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = {f for f in _tracked() if f.startswith("obs_deepzoom/")}
    missing = tracked - names
    assert not missing, f"left out of the wheel: {sorted(missing)}"
    extra = {n for n in names if n.endswith(".py") and not n.startswith("obs_deepzoom/bundled/")} - tracked
    assert not extra, f"modules in the wheel that the checkout does not track: {sorted(extra)}"
    assert "obs_deepzoom/bundled/ir_models/manifest.json" in names
    presets = {p.name for p in (ROOT / "presets").glob("*.json")}
    assert {n.rsplit("/", 1)[1] for n in names if n.startswith("obs_deepzoom/bundled/presets/")} == presets


def _runtime_site(dest: Path) -> Path:
    """A folder of links to exactly the installed runtime dependencies of obs-deepzoom (no extras)."""
    from importlib import metadata

    dest.mkdir()
    for name in pin.closure(extras=()):
        dist = metadata.distribution(name)
        site = Path(dist.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            src = site / top
            if top not in ("..", "bin") and src.exists() and not (dest / top).exists():
                (dest / top).symlink_to(src)
    return dest


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "runtime-deps.pth").write_text(str(_runtime_site(root / "deps")) + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python"), "install",
                        "--no-deps", "--no-index", "--disable-pip-version-check", "-q", str(wheel)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return env_dir


def _env() -> dict:
    # the checkout's built models and cache (samples, compiled kernels); nothing is downloaded
    return {**os.environ, "DEEPZOOM_IR_DIR": str(paths.ir_dir()), "DEEPZOOM_HOME": str(paths.data_dir()),
            "DEEPZOOM_OFFLINE": "1", "PYTHONPATH": ""}


def test_installed_copy_is_not_the_checkout(installed, tmp_path):
    code = ("import obs_deepzoom, obs_deepzoom.paths as p, importlib.util as u; "
            "print(obs_deepzoom.__file__, p.IN_CHECKOUT, p.MANIFEST.is_file(), u.find_spec('scipy') is None, "
            "u.find_spec('pytest') is None)")
    out = subprocess.run([str(installed / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env=_env(), check=True).stdout.split()
    assert out[0].startswith(str(installed)), out
    assert out[1:] == ["False", "True", "True", "True"], out


def test_models_verify_on_plain_install(installed, tmp_path):
    r = subprocess.run([str(installed / "bin" / "deepzoom"), "models", "verify"], capture_output=True, text=True,
                       cwd=tmp_path, env=_env(), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert "FAIL" not in r.stdout


def test_denoise_best_on_plain_install(installed, tmp_path):
    from obs_deepzoom.samples import sample

    out = tmp_path / "clean.wav"
    r = subprocess.run([str(installed / "bin" / "deepzoom"), "denoise", str(sample("speech_librivox.wav")),
                        "-o", str(out), "--mode", "best"], capture_output=True, text=True, cwd=tmp_path,
                       env=_env(), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    assert out.stat().st_size > 10000


def test_process_video_on_plain_install(installed, tmp_path, clip_frames):
    """`deepzoom process` on 1 s of the sample clip with a voice: H.264 out, the sound kept (PyAV, the writer, is
    a runtime dependency)."""
    import av

    from obs_deepzoom.audio_io import Audio, read_audio
    from obs_deepzoom.samples import sample
    from obs_deepzoom.video_io import video_writer

    voice = read_audio(sample("speech_librivox.wav"))
    src, out = tmp_path / "in.mp4", tmp_path / "out.mp4"
    with video_writer(src, 30, (640, 360), audio=Audio(voice.samples[:, :voice.rate], voice.rate)) as write:
        for frame in clip_frames[:30]:
            write(frame)
    r = subprocess.run([str(installed / "bin" / "deepzoom"), "process", str(src), "-o", str(out), "--effects",
                        "background", "--audio-effects", "none"], capture_output=True, text=True, cwd=tmp_path,
                       env=_env(), timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    with av.open(str(out)) as c:
        assert [s.codec_context.name for s in c.streams.video] == ["h264"]
        assert len(c.streams.audio) == 1
        assert sum(1 for _ in c.decode(video=0)) == 30


def test_constraints_pin_what_this_venv_runs():
    """install.py installs constraints.txt; it must name every dependency, at the version the suite runs with."""
    pinned = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().split("\n")
                  if line and not line.startswith("#"))
    installed = pin.closure()
    assert set(installed) <= set(pinned), f"not pinned: {sorted(set(installed) - set(pinned))}"
    wrong = {n: (pinned[n], v) for n, v in installed.items() if pinned[n] != v}
    assert not wrong, f"constraints.txt pins other versions than this venv runs (pinned, installed): {wrong}"
