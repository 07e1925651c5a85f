"""`deepzoom obs setup`: make a user's OBS load DeepZoom, reporting every change and able to undo it.

1. installs our dependencies for OBS's embedded Python (cp3XX wheels, downloaded once into the package cache,
   then `pip install --no-index --target` from there);
2. adds obs_deepzoom/obs/script.py to a scene collection's scripts (Tools > Scripts shows it);
3. optionally enables obs-websocket (OBS 29: global.ini [OBSWebSocket]; OBS >= 30: plugin_config/
   obs-websocket/config.json; both are written).

It never loses a user's data: it refuses while OBS runs (OBS rewrites its files on exit) unless forced; every
file is written atomically; each file is copied to a backup of its own (never overwritten) before it is
changed; the undo record (what we are about to change and the values it replaces) is written before the
first change and after each one. `--undo` reverses only our own edits (our script entry; the websocket keys
we set, back to their previous values), so whatever the user changed since survives."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from .. import paths
from ..errors import DeepZoomError, last_line
from ..netguard import require_network
from . import config

OBS_DIR = Path(__file__).resolve().parents[1] / "obs"  # what OBS loads
SCRIPT = OBS_DIR / "script.py"
POINTER = OBS_DIR / ".pydeps"  # read by script.py (git-ignored)
OBS_PACKAGES = ("numpy", "opencv-python-headless", "openvino", "pydantic")
RECORD_VERSION = 2


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


def pydeps_wheels_dir(version: tuple[int, int]) -> Path:
    """The downloaded wheels the OBS dependencies are installed from (so a reinstall needs no network)."""
    return paths.wheels_dir() / f"obs-pydeps-cp{version[0]}{version[1]}"


def _pins() -> list[str]:
    return [f"{p}=={metadata.version(p)}" for p in OBS_PACKAGES]


def _target_flags(version: tuple[int, int]) -> list[str]:
    """pip's options for another interpreter's wheels (none when it is this one)."""
    if sys.version_info[:2] == version:
        return []
    return ["--python-version", f"{version[0]}.{version[1]}", "--implementation", "cp"]


def fetch_pydeps(version: tuple[int, int], progress=print) -> Path:
    """Download the wheels of OBS_PACKAGES (our venv's versions) and of their dependencies for CPython X.Y into
    the package cache, once per set of pins: `pip download --only-binary=:all:` (wheels are unpacked, never
    built, so no code of them runs). This is the only step of the OBS dependencies that needs the network."""
    wheels = pydeps_wheels_dir(version)
    pins = _pins()
    stamp = wheels / ".deepzoom-pins"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == "\n".join(pins):
        return wheels
    require_network(f"the wheels of {', '.join(pins)} for OBS's Python {version[0]}.{version[1]}")
    progress(f"downloading the wheels of {', '.join(pins)} for OBS's Python {version[0]}.{version[1]} into {wheels}")
    part = wheels.with_name(wheels.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
           *_target_flags(version), "-d", str(part), *pins]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        shutil.rmtree(part, ignore_errors=True)
        raise DeepZoomError(f"pip could not download the OBS dependencies: {last_line(r)}")
    config.atomic_write_text(part / ".deepzoom-pins", "\n".join(pins))
    shutil.rmtree(wheels, ignore_errors=True)
    part.rename(wheels)
    return wheels


def install_pydeps(version: tuple[int, int], progress=print) -> Path:
    """OBS's Python dependencies in pydeps_dir(version), installed from the cached wheels (fetch_pydeps)."""
    target = pydeps_dir(version)
    pins = _pins()
    stamp = target / ".deepzoom-pins"
    if stamp.exists() and stamp.read_text(encoding="utf-8") == "\n".join(pins):
        progress(f"dependencies for OBS's Python {version[0]}.{version[1]} already in {target}")
        return target
    wheels = fetch_pydeps(version, progress)
    progress(f"installing {', '.join(pins)} for OBS's Python {version[0]}.{version[1]} into {target}")
    cmd = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade",
           "--no-index", "--find-links", str(wheels), "--only-binary=:all:", *_target_flags(version),
           "--target", str(target), *pins]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise DeepZoomError(f"pip could not install the OBS dependencies: {last_line(r)}")
    config.atomic_write_text(stamp, "\n".join(pins))
    return target


def _record_path(config_dir: Path) -> Path:
    key = hashlib.sha1(str(config_dir.resolve()).encode("utf-8")).hexdigest()[:12]
    return paths.data_dir() / "obs-setup" / f"{key}.json"


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _backup_name(config_dir: Path, path: Path) -> str:
    """A file name that says which file it keeps: its path inside the config dir with '__' for '/'
    (global.ini and basic/profiles/X/global.ini stay apart), or a hash of the full path outside it."""
    try:
        return "__".join(path.resolve().relative_to(config_dir.resolve()).parts)
    except ValueError:
        return f"{hashlib.sha1(str(path).encode('utf-8')).hexdigest()[:8]}__{path.name}"


def _backup(record: dict, rec_path: Path, path: Path) -> Path | None:
    """Copy `path` to a new backup file (timestamp + counter: never replaces an earlier backup)."""
    if not path.exists():
        return None
    folder = rec_path.with_suffix("")
    folder.mkdir(parents=True, exist_ok=True)
    data = path.read_bytes()
    base = f"{_backup_name(Path(record['config_dir']), path)}.{time.strftime('%Y%m%d-%H%M%S')}"
    fd, tmp = tempfile.mkstemp(prefix=".backup.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        shutil.copystat(path, tmp)
        for n in itertools.count(1):
            backup = folder / f"{base}-{n}"
            try:
                os.link(tmp, backup)  # fails if the name is taken: an earlier backup is never replaced
                break
            except FileExistsError:
                continue
            except OSError:  # no hard links on this file system
                if backup.exists():
                    continue
                os.replace(tmp, backup)
                break
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    record.setdefault("backups", {}).setdefault(str(path), []).append(str(backup))
    return backup


def obs_running() -> bool:
    """OBS's process: `obs` (Linux), `OBS` (macOS), `obs64.exe` / `obs32.exe` (Windows)."""
    try:
        if sys.platform == "win32":
            out = subprocess.run(["tasklist", "/FO", "CSV", "/NH"], capture_output=True, text=True).stdout.lower()
            return '"obs64.exe"' in out or '"obs32.exe"' in out
        name = "OBS" if sys.platform == "darwin" else "obs"
        return subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0
    except OSError:
        return False


def _refuse_if_running(force: bool) -> None:
    if not force and obs_running():
        raise DeepZoomError("OBS is running: close it first (it rewrites its scene collection and settings when "
                            "it exits, overwriting these changes), or pass --force")


def _load_record(rec_path: Path) -> dict | None:
    if not rec_path.exists():
        return None
    record = config.read_json(rec_path)
    if "edits" not in record:  # a record from an earlier version: whole-file backups only
        record = _upgrade_v1(record)
    return record


def _upgrade_v1(old: dict) -> dict:
    """Turn {"files": {path: backup or None}} into edits; the values we replaced are read from the backups."""
    record = {"version": RECORD_VERSION, "config_dir": old["config_dir"], "created": old.get("created"),
              "pydeps": old.get("pydeps"), "edits": [], "backups": {}}
    ini_keys, json_keys = list(config.websocket_ini_values(0, None)), list(config.websocket_json_values(0, None))
    for path, backup in old.get("files", {}).items():
        src = Path(backup) if backup else None
        if backup:
            record["backups"][path] = [backup]
        if Path(path).name == "global.ini":
            record["edits"].append({
                "type": "ini", "file": path, "section": config.WS_SECTION, "keys": ini_keys,
                "previous": config.ini_values(src, config.WS_SECTION, ini_keys) if src else {},
                "section_created": not (src and config.has_section(src, config.WS_SECTION)),
                "created": src is None, "sha256": None})
        elif Path(path).name == "config.json":
            record["edits"].append({"type": "json", "file": path, "keys": json_keys,
                                    "previous": config.json_values(src, json_keys) if src else {},
                                    "created": src is None, "sha256": None})
        else:
            record["edits"].append({"type": "script", "file": path, "script": str(SCRIPT), "created": src is None,
                                    "sha256": None})
    return record


def _edit(record: dict, kind: str, path: Path, **new) -> dict:
    """The record's edit of this kind on this file, created (with `new`) on first use."""
    for e in record["edits"]:
        if e["type"] == kind and e["file"] == str(path):
            return e
    e = {"type": kind, "file": str(path), "created": not path.exists(), "sha256": None, **new}
    record["edits"].append(e)
    return e


def _remember(edit: dict, keys, current: dict) -> None:
    """Add `keys` to an edit; their previous values are the ones before our first change to them."""
    for k in keys:
        if k not in edit["keys"]:
            edit["keys"].append(k)
            if k in current:
                edit["previous"][k] = current[k]


def setup(config_dir: Path, collection: str | None, websocket_port: int | None, password: str | None,
          deps: bool = True, progress=print, force: bool = False) -> list[str]:
    """Apply the setup; returns the list of changes made (also printed)."""
    _refuse_if_running(force)
    changes = []
    rec_path = _record_path(config_dir)
    record = _load_record(rec_path) or {"version": RECORD_VERSION, "config_dir": str(config_dir), "edits": [],
                                        "backups": {}, "pydeps": None, "created": time.strftime("%F %T")}

    def save() -> None:
        config.write_json(rec_path, record, indent=1)

    def changing(path: Path) -> None:  # before a change: a backup, and the record of what will change
        _backup(record, rec_path, path)
        save()

    def changed(edit: dict, path: Path) -> None:  # after it: what the file looks like now
        edit["sha256"] = _sha256(path)
        save()

    if deps:
        version = obs_python_version()
        record["pydeps"] = str(pydeps_dir(version))
        save()
        target = install_pydeps(version, progress)
        config.atomic_write_text(POINTER, str(target))
        changes.append(f"dependencies for OBS's Python in {target}")
    from ..obs import native

    changes.append(f"native OBS callbacks built: {native.build(progress)}")  # also with --no-deps
    coll = config.collection_file(config_dir, collection)
    if config.has_script(coll, SCRIPT):
        progress(f"script already registered in {coll}")
    else:
        e = _edit(record, "script", coll, script=str(SCRIPT))
        changing(coll)
        config.set_script(coll, SCRIPT, True)
        changed(e, coll)
        changes.append(f"script {SCRIPT} added to scene collection {coll}")
    if websocket_port is not None:
        ini, js = config.websocket_files(config_dir)
        ini_values = config.websocket_ini_values(websocket_port, password)
        e = _edit(record, "ini", ini, section=config.WS_SECTION, keys=[], previous={},
                  section_created=not config.has_section(ini, config.WS_SECTION))
        _remember(e, ini_values, config.ini_values(ini, config.WS_SECTION, ini_values))
        changing(ini)
        config.update_ini(ini, {config.WS_SECTION: ini_values})
        changed(e, ini)
        json_values = config.websocket_json_values(websocket_port, password)
        e = _edit(record, "json", js, keys=[], previous={})
        _remember(e, json_values, config.json_values(js, json_values))
        changing(js)
        current = config.read_json(js) if js.exists() else {}
        config.write_json(js, {**current, **json_values}, indent=1)
        changed(e, js)
        auth = "password required" if password else "no password"
        changes.append(f"obs-websocket enabled on port {websocket_port} ({auth}) in {ini}, {js}")
    save()
    for c in changes:
        progress(f"changed: {c}")
    progress(f"undo with: deepzoom obs setup --undo --config-dir {config_dir}")
    return changes


def _revert(edit: dict) -> str | None:
    """Undo one edit, touching only what we changed; returns what was done (None: nothing to do)."""
    path = Path(edit["file"])
    if not path.exists():
        return None
    if edit.get("created") and edit.get("sha256") and edit["sha256"] == _sha256(path):
        path.unlink()
        return f"removed {path} (created by setup, unchanged since)"
    kind = edit["type"]
    if kind == "script" and config.set_script(path, Path(edit["script"]), False):
        return f"removed the DeepZoom script from {path}"
    if kind == "ini" and config.revert_ini(path, edit["section"], edit["keys"], edit["previous"],
                                           edit["section_created"], edit["created"]):
        return f"restored [{edit['section']}] {', '.join(edit['keys'])} in {path}"
    if kind == "json" and config.revert_json(path, edit["keys"], edit["previous"], edit["created"]):
        return f"restored {', '.join(edit['keys'])} in {path}"
    return None


def undo(config_dir: Path, progress=print, force: bool = False) -> list[str]:
    _refuse_if_running(force)
    rec_path = _record_path(config_dir)
    record = _load_record(rec_path)
    if record is None:
        raise DeepZoomError(f"no DeepZoom setup recorded for {config_dir}; nothing to undo")
    changes = [c for e in reversed(record["edits"]) if (c := _revert(e))]
    pydeps = record.get("pydeps")
    others = [p for p in rec_path.parent.glob("*.json") if p != rec_path]
    shared = any(config.read_json(p).get("pydeps") == pydeps for p in others) if pydeps else False
    if pydeps and not shared and Path(pydeps).is_dir():
        shutil.rmtree(pydeps)
        changes.append(f"removed {pydeps}")
    if pydeps and not shared and POINTER.exists() and POINTER.read_text(encoding="utf-8").strip() == pydeps:
        POINTER.unlink()
    rec_path.unlink()
    for c in changes:
        progress(f"undone: {c}")
    if not changes:
        progress("nothing to undo: our changes are no longer there")
    backups = [b for bs in record.get("backups", {}).values() for b in bs if Path(b).exists()]
    if backups:
        progress(f"the files as they were before setup are kept in {rec_path.with_suffix('')} "
                 f"({len(backups)} backups) for manual recovery")
    return changes
