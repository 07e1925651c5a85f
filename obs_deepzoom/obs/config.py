"""Reading and changing an OBS configuration directory (~/.config/obs-studio or another one):
global.ini, obs-websocket settings for OBS 29 (global.ini [OBSWebSocket]) and OBS >= 30
(plugin_config/obs-websocket/config.json), and the scripts of a scene collection."""

from __future__ import annotations

import configparser
import json
from pathlib import Path


def default_config_dir() -> Path:
    import os
    import sys

    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", "~")).expanduser() / "obs-studio"
    if sys.platform == "darwin":
        return Path("~/Library/Application Support/obs-studio").expanduser()
    return Path(os.environ.get("XDG_CONFIG_HOME", "~/.config")).expanduser() / "obs-studio"


def _parser() -> configparser.RawConfigParser:
    p = configparser.RawConfigParser(strict=False, interpolation=None)
    p.optionxform = str  # OBS keys are case-sensitive
    return p


def read_ini(path: Path) -> configparser.RawConfigParser:
    p = _parser()
    if path.exists():
        p.read_string(path.read_text(encoding="utf-8-sig"))
    return p


def update_ini(path: Path, sections: dict[str, dict[str, object]]) -> None:
    p = read_ini(path)
    for section, values in sections.items():
        if not p.has_section(section):
            p.add_section(section)
        for k, v in values.items():
            p.set(section, k, str(v).lower() if isinstance(v, bool) else str(v))
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        p.write(f, space_around_delimiters=False)


def websocket_files(config_dir: Path) -> tuple[Path, Path]:
    return config_dir / "global.ini", config_dir / "plugin_config" / "obs-websocket" / "config.json"


def enable_websocket(config_dir: Path, port: int, password: str | None) -> list[Path]:
    """Turn obs-websocket on (both the OBS 29 and the OBS >= 30 locations); returns the files written."""
    ini, js = websocket_files(config_dir)
    update_ini(ini, {"OBSWebSocket": {"FirstLoad": "false", "ServerEnabled": "true", "ServerPort": port,
                                      "AlertsEnabled": "false", "AuthRequired": "true" if password else "false",
                                      "ServerPassword": password or ""}})
    js.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(js.read_text()) if js.exists() else {}
    current.update({"first_load": False, "server_enabled": True, "server_port": port, "alerts_enabled": False,
                    "auth_required": bool(password), "server_password": password or ""})
    js.write_text(json.dumps(current, indent=1))
    return [ini, js]


def collection_file(config_dir: Path, name: str | None = None) -> Path:
    """The scene collection JSON (the current one from global.ini unless named)."""
    if name is None:
        name = read_ini(config_dir / "global.ini").get("Basic", "SceneCollectionFile", fallback="Untitled")
    return config_dir / "basic" / "scenes" / f"{name}.json"


def set_script(collection: Path, script: Path, present: bool) -> bool:
    """Add (or remove) a script in the collection's scripts-tool list; returns whether the file changed."""
    data = json.loads(collection.read_text()) if collection.exists() else {
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
    collection.parent.mkdir(parents=True, exist_ok=True)
    collection.write_text(json.dumps(data, indent=4))
    return True
