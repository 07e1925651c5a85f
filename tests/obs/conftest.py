"""A real headless OBS 29 (Xvfb + llvmpipe) with our script, shared by the OBS integration tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from obs_deepzoom.bench.obs import speech_clip as speech_with_pauses  # noqa: F401 (used by tests)
from obs_deepzoom.obs import native
from obs_deepzoom.remote import setup
from obs_deepzoom.remote.client import ObsClient
from obs_deepzoom.remote.headless import HeadlessObs
from obs_deepzoom.samples import sample

PASSWORD = "deepzoom-test-secret"
SCRIPT = setup.SCRIPT


def media(name: str, path: Path, **extra) -> dict:
    return {"id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": name, "mixers": 255,
            "settings": {"is_local_file": True, "local_file": str(path), "looping": True,
                         "restart_on_activate": True, "hw_decode": False, **extra}}


def still_clip(path: Path, image: np.ndarray, frames: int = 150) -> Path:
    """A short MJPEG video of one still frame: an async (media) source whose frames are all identical."""
    h, w = image.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w - w % 2, h - h % 2))
    for _ in range(frames):
        writer.write(image[: h - h % 2, : w - w % 2])
    writer.release()
    return path


@pytest.fixture(scope="session")
def obs_env(tmp_path_factory):
    missing = [t for t in ("obs", "Xvfb") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not installed: the OBS tests need Debian's obs-studio and xvfb "
                    "(.ci/run installs them)")
    pydeps = setup.install_pydeps(setup.obs_python_version(), progress=lambda *_: None)
    native.build(progress=lambda *_: None)
    home = tmp_path_factory.mktemp("obs-home")
    portrait = cv2.imread(str(sample("single_face.jpg")))
    sources = [
        {"id": "image_source", "versioned_id": "image_source", "name": "Portrait",
         "settings": {"file": str(sample("single_face.jpg"))}},
        media("Still", still_clip(home / "still.avi", portrait)),
        media("Clip", sample("single_face.mp4")),
        {"id": "color_source_v3", "versioned_id": "color_source_v3", "name": "Color",
         "settings": {"color": 4278190335, "width": 320, "height": 240}},
        media("Speech", speech_with_pauses(home / "speech.wav")),
    ]
    # the script is listed twice (a second path to the same file): the second load is a reload in the same
    # process, which must neither register twice nor break the filters
    alias = home / "deepzoom_script_alias.py"
    alias.symlink_to(SCRIPT)
    obs = HeadlessObs(home, password=PASSWORD, sources=sources, scripts=[SCRIPT, alias], pydeps=pydeps)
    os.environ["DEEPZOOM_STATS_S"] = "1"  # inherited by OBS: each filter logs its counters every second
    try:
        obs.start()
    finally:
        os.environ.pop("DEEPZOOM_STATS_S", None)
    yield obs
    obs.stop()


@pytest.fixture
def client(obs_env):
    if obs_env.proc is None or obs_env.proc.poll() is not None:
        crashes = sorted((obs_env.config_dir / "crashes").glob("*"))
        crash = crashes[-1].read_text(errors="replace")[:3000] if crashes else "no crash report"
        pytest.fail(f"OBS is not running (exit code {obs_env.proc.returncode if obs_env.proc else None}); "
                    f"log: {obs_env.log_tail(30)}\ncrash report: {crash}")
    with ObsClient("127.0.0.1", obs_env.port, PASSWORD) as c:
        yield c


def pytest_collection_modifyitems(items):
    """The test that shuts the shared OBS down runs after every other test that uses it."""
    last = [i for i in items if i.name == "test_filters_survive_removal_and_obs_shuts_down_cleanly"]
    items[:] = [i for i in items if i not in last] + last
