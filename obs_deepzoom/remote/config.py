"""Reading and changing an OBS configuration directory (~/.config/obs-studio or another one):
global.ini / user.ini, obs-websocket settings for OBS 29 (global.ini [OBSWebSocket]) and OBS >= 30
(plugin_config/obs-websocket/config.json), and the scripts of a scene collection.

Every write is atomic (a temporary file in the same directory, fsync, os.replace): a crash or a full disk
leaves either the old file or the new one, never half of one. Everything is read and written as UTF-8."""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import tempfile
from pathlib import Path

WS_SECTION = "OBSWebSocket"


def default_config_dir() -> Path:
    import sys

    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", "~")).expanduser() / "obs-studio"
    if sys.platform == "darwin":
        return Path("~/Library/Application Support/obs-studio").expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME", "~/.config")).expanduser() / "obs-studio"


# ---- atomic, UTF-8 file access -----------------------------------------------------------------------------
def atomic_write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` (UTF-8) atomically, keeping the old file's permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # make the rename itself durable (not possible on every platform)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def read_text(path: Path) -> str:
    return Path(path).read_text(encoding="utf-8-sig")  # OBS on Windows may have written a BOM


def read_json(path: Path) -> dict:
    return json.loads(read_text(path))


def write_json(path: Path, data: dict, indent: int = 4) -> None:
    atomic_write_text(path, json.dumps(data, indent=indent, ensure_ascii=False))


def _parser() -> configparser.RawConfigParser:
    p = configparser.RawConfigParser(strict=False, interpolation=None)
    p.optionxform = str  # OBS keys are case-sensitive
    return p


def read_ini(path: Path) -> configparser.RawConfigParser:
    p = _parser()
    if Path(path).exists():
        p.read_string(read_text(path))
    return p


def write_ini(path: Path, p: configparser.RawConfigParser) -> None:
    import io

    buf = io.StringIO()
    p.write(buf, space_around_delimiters=False)
    atomic_write_text(path, buf.getvalue())


def _ini_str(v: object) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def update_ini(path: Path, sections: dict[str, dict[str, object]]) -> dict[str, dict[str, str | None]]:
    """Set keys in an ini file (other sections and keys are kept); returns the previous values
    ({section: {key: old value or None when absent}})."""
    p = read_ini(path)
    previous: dict[str, dict[str, str | None]] = {}
    for section, values in sections.items():
        if not p.has_section(section):
            p.add_section(section)
        previous[section] = {k: p.get(section, k, fallback=None) for k in values}
        for k, v in values.items():
            p.set(section, k, _ini_str(v))
    write_ini(path, p)
    return previous


def ini_values(path: Path, section: str, keys) -> dict[str, str]:
    """Current values of `keys` in one section; absent keys are left out."""
    p = read_ini(path)
    return {k: p.get(section, k) for k in keys if p.has_option(section, k)}


def has_section(path: Path, section: str) -> bool:
    return read_ini(path).has_section(section)


def revert_ini(path: Path, section: str, keys, previous: dict[str, str], drop_section: bool,
               drop_file: bool) -> bool:
    """Put back `keys` of one section to `previous` (a key missing there is removed); other keys stay as they
    are now. `drop_section` removes the section if nothing else is left in it, `drop_file` the file if no
    section is left. Returns whether the file changed."""
    path = Path(path)
    if not path.exists():
        return False
    p = read_ini(path)
    changed = False
    for k in keys:
        now, old = p.get(section, k, fallback=None), previous.get(k)
        if now == old:
            continue
        if old is None:
            p.remove_option(section, k)
        else:
            if not p.has_section(section):
                p.add_section(section)
            p.set(section, k, old)
        changed = True
    if drop_section and p.has_section(section) and not p.options(section):
        p.remove_section(section)
        changed = True
    if not changed:
        return False
    if drop_file and not p.sections():
        path.unlink()
    else:
        write_ini(path, p)
    return True


def json_values(path: Path, keys) -> dict[str, object]:
    """Current values of top-level keys; absent keys are left out."""
    data = read_json(path) if Path(path).exists() else {}
    return {k: data[k] for k in keys if k in data}


def revert_json(path: Path, keys, previous: dict[str, object], drop_file: bool) -> bool:
    """Put back top-level `keys` to `previous` (a key missing there is removed); other keys stay as they are
    now. `drop_file` removes the file if nothing is left. Returns whether the file changed."""
    path = Path(path)
    if not path.exists():
        return False
    data = read_json(path)
    before = dict(data)
    for k in keys:
        if k in previous:
            data[k] = previous[k]
        else:
            data.pop(k, None)
    if data == before:
        return False
    if drop_file and not data:
        path.unlink()
    else:
        write_json(path, data, indent=1)
    return True


# ---- obs-websocket ------------------------------------------------------------------------------------------
def websocket_files(config_dir: Path) -> tuple[Path, Path]:
    return config_dir / "global.ini", config_dir / "plugin_config" / "obs-websocket" / "config.json"


def websocket_ini_values(port: int, password: str | None) -> dict[str, str]:
    return {"FirstLoad": "false", "ServerEnabled": "true", "ServerPort": str(port), "AlertsEnabled": "false",
            "AuthRequired": "true" if password else "false", "ServerPassword": password or ""}


def websocket_json_values(port: int, password: str | None) -> dict[str, object]:
    return {"first_load": False, "server_enabled": True, "server_port": port, "alerts_enabled": False,
            "auth_required": bool(password), "server_password": password or ""}


def enable_websocket(config_dir: Path, port: int, password: str | None) -> list[Path]:
    """Turn obs-websocket on (both the OBS 29 and the OBS >= 30 locations); returns the files written."""
    ini, js = websocket_files(config_dir)
    update_ini(ini, {WS_SECTION: websocket_ini_values(port, password)})
    current = read_json(js) if js.exists() else {}
    current.update(websocket_json_values(port, password))
    write_json(js, current, indent=1)
    return [ini, js]


# ---- scene collections --------------------------------------------------------------------------------------
def current_collection(config_dir: Path) -> str:
    """The current scene collection's file name (without .json). OBS >= 31 keeps it in user.ini [Basic]
    (next to global.ini; migrated from global.ini once), OBS <= 30 in global.ini [Basic]."""
    for name in ("user.ini", "global.ini"):
        value = read_ini(config_dir / name).get("Basic", "SceneCollectionFile", fallback=None)
        if value:
            return value
    return "Untitled"


def collection_file(config_dir: Path, name: str | None = None) -> Path:
    """The scene collection JSON (the current one unless named)."""
    return config_dir / "basic" / "scenes" / f"{name or current_collection(config_dir)}.json"


def has_script(collection: Path, script: Path) -> bool:
    if not collection.exists():
        return False
    scripts = read_json(collection).get("modules", {}).get("scripts-tool", [])
    return str(script) in [s.get("path") for s in scripts]


def set_script(collection: Path, script: Path, present: bool) -> bool:
    """Add (or remove) a script in the collection's scripts-tool list; everything else in the collection is
    kept. Returns whether the file changed."""
    if not collection.exists() and not present:
        return False
    data = read_json(collection) if collection.exists() else {
        "name": collection.stem, "current_scene": "Scene", "current_program_scene": "Scene",
        "scene_order": [{"name": "Scene"}],
        "sources": [{"id": "scene", "versioned_id": "scene", "name": "Scene", "settings": {"items": []}}]}
    scripts = data.setdefault("modules", {}).setdefault("scripts-tool", [])
    paths = [s.get("path") for s in scripts]
    if present == (str(script) in paths):
        return False
    if present:
        scripts.append({"path": str(script), "settings": {}})
    else:
        data["modules"]["scripts-tool"] = [s for s in scripts if s.get("path") != str(script)]
    write_json(collection, data)
    return True
