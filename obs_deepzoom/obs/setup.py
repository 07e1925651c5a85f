"""`deepzoom obs setup`: make a user's OBS load DeepZoom, reporting every change and able to undo it.

1. installs our dependencies for OBS's embedded Python (cp3XX wheels, `pip install --target`);
2. adds obs_deepzoom/obs/script.py to a scene collection's scripts (Tools > Scripts shows it);
3. optionally enables obs-websocket (OBS 29: global.ini [OBSWebSocket]; OBS >= 30: plugin_config/
   obs-websocket/config.json; both are written).
Originals are backed up; `--undo` puts them back and removes the dependencies."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

from .. import paths
from ..errors import DeepZoomError
from . import config

SCRIPT = Path(__file__).resolve().parent / "script.py"
POINTER = Path(__file__).resolve().parent / ".pydeps"  # read by script.py (git-ignored)
OBS_PACKAGES = ("numpy", "opencv-python-headless", "openvino", "pydantic")


def obs_python_version() -> tuple[int, int]:
    """The Python OBS embeds, read from libobs-scripting's link to libpython3.X (Linux); 3.11 otherwise."""
    for lib in sorted(Path("/usr/lib").glob("**/libobs-scripting.so*"))[:1]:
        try:
            out = subprocess.run(["ldd", str(lib)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            break
        m = re.search(r"libpython(\d)\.(\d+)", out)
        if m:
            return int(m.group(1)), int(m.group(2))
    return 3, 11


def pydeps_dir(version: tuple[int, int]) -> Path:
    return paths.data_dir() / f"obs-pydeps-cp{version[0]}{version[1]}"


def install_pydeps(version: tuple[int, int], progress=print) -> Path:
    target = pydeps_dir(version)
    pins = [f"{p}=={metadata.version(p)}" for p in OBS_PACKAGES]
    stamp = target / ".deepzoom-pins"
    if stamp.exists() and stamp.read_text() == "\n".join(pins):
        progress(f"dependencies for OBS's Python {version[0]}.{version[1]} already in {target}")
        return target
    progress(f"installing {', '.join(pins)} for OBS's Python {version[0]}.{version[1]} into {target}")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade",
           "--target", str(target), *pins]
    if sys.version_info[:2] != version:  # another interpreter: ask pip for that one's wheels
        cmd += ["--only-binary=:all:", "--python-version", f"{version[0]}.{version[1]}", "--implementation", "cp"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DeepZoomError(f"pip could not install the OBS dependencies: {(r.stderr or r.stdout).strip()[-300:]}")
    stamp.write_text("\n".join(pins))
    return target


def _record_path(config_dir: Path) -> Path:
    key = hashlib.sha1(str(config_dir.resolve()).encode()).hexdigest()[:12]
    return paths.data_dir() / "obs-setup" / f"{key}.json"


def _backup(record: dict, path: Path) -> None:
    if str(path) in record["files"]:
        return
    backup = None
    if path.exists():
        backup = _record_path(Path(record["config_dir"])).with_suffix("") / path.name
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, backup)
    record["files"][str(path)] = str(backup) if backup else None


def obs_running() -> bool:
    try:
        return subprocess.run(["pgrep", "-x", "obs"], capture_output=True).returncode == 0
    except OSError:
        return False


def setup(config_dir: Path, collection: str | None, websocket_port: int | None, password: str | None,
          deps: bool = True, progress=print) -> list[str]:
    """Apply the setup; returns the list of changes made (also printed)."""
    if obs_running():
        progress("warning: OBS is running; it rewrites its scene collection on exit. Close OBS, then run this "
                 "again for the script registration to stick.")
    changes = []
    rec_path = _record_path(config_dir)
    record = json.loads(rec_path.read_text()) if rec_path.exists() else {
        "config_dir": str(config_dir), "files": {}, "pydeps": None, "created": time.strftime("%F %T")}
    if deps:
        version = obs_python_version()
        target = install_pydeps(version, progress)
        POINTER.write_text(str(target))
        record["pydeps"] = str(target)
        changes.append(f"dependencies for OBS's Python in {target}")
    coll = config.collection_file(config_dir, collection)
    _backup(record, coll)
    if config.set_script(coll, SCRIPT, True):
        changes.append(f"script {SCRIPT} added to scene collection {coll}")
    else:
        progress(f"script already registered in {coll}")
    if websocket_port is not None:
        for f in config.websocket_files(config_dir):
            _backup(record, f)
        written = config.enable_websocket(config_dir, websocket_port, password)
        auth = "password required" if password else "no password"
        changes.append(f"obs-websocket enabled on port {websocket_port} ({auth}) in " + ", ".join(map(str, written)))
    rec_path.parent.mkdir(parents=True, exist_ok=True)
    rec_path.write_text(json.dumps(record, indent=1))
    for c in changes:
        progress(f"changed: {c}")
    progress(f"undo with: deepzoom obs setup --undo --config-dir {config_dir}")
    return changes


def undo(config_dir: Path, progress=print) -> list[str]:
    rec_path = _record_path(config_dir)
    if not rec_path.exists():
        raise DeepZoomError(f"no DeepZoom setup recorded for {config_dir}; nothing to undo")
    record = json.loads(rec_path.read_text())
    changes = []
    for path, backup in record["files"].items():
        if backup:
            shutil.copy2(backup, path)
            changes.append(f"restored {path}")
        elif Path(path).exists():
            Path(path).unlink()
            changes.append(f"removed {path} (did not exist before)")
    if record.get("pydeps") and Path(record["pydeps"]).is_dir():
        shutil.rmtree(record["pydeps"])
        changes.append(f"removed {record['pydeps']}")
    POINTER.unlink(missing_ok=True)
    shutil.rmtree(rec_path.with_suffix(""), ignore_errors=True)
    rec_path.unlink()
    for c in changes:
        progress(f"undone: {c}")
    return changes
