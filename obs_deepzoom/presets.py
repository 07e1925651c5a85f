"""Preset files (presets/NAME.json), validated by settings.Preset."""

from __future__ import annotations

from pathlib import Path

from . import paths
from .errors import SettingsError
from .settings import Preset, load_preset


def preset_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".json":
        return p
    return paths.PRESETS_DIR / f"{name_or_path}.json"


def load(name_or_path: str) -> Preset:
    path = preset_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(q.stem for q in paths.PRESETS_DIR.glob("*.json")))
        raise SettingsError(f"no preset '{name_or_path}' (known: {known})")
    preset = load_preset(path)
    if path.parent == paths.PRESETS_DIR and preset.name != path.stem:
        raise SettingsError(f"preset file {path.name} declares name '{preset.name}'; they must match")
    return preset


def all_presets() -> list[Preset]:
    return [load(p.stem) for p in sorted(paths.PRESETS_DIR.glob("*.json"))]


def validate_all(files: list[Path] | None = None) -> list[str]:
    """Validate the given preset files (default: every bundled preset); raises on the first invalid one."""
    files = files or sorted(paths.PRESETS_DIR.glob("*.json"))
    return [load(str(f) if f.parent != paths.PRESETS_DIR else f.stem).name for f in files]
