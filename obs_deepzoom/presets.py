"""Presets: a named, ordered filter chain and its settings (presets/NAME.json), validated with the field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from . import paths
from .engine.effects import AUDIO_EFFECTS, VIDEO_EFFECTS
from .errors import SettingsError
from .settings import ChainSettings, SettingsModel, format_errors

VideoName = Literal[tuple(VIDEO_EFFECTS)]  # type: ignore[valid-type]
AudioName = Literal[tuple(AUDIO_EFFECTS)]  # type: ignore[valid-type]


class Preset(SettingsModel):
    """A named, ordered filter chain and its settings, stored as presets/NAME.json."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", description="File-name-safe preset name")
    description: str = ""
    video: list[VideoName] = Field(default_factory=list, description="Video effects, in order")
    audio: list[AudioName] = Field(default_factory=list, description="Audio effects, in order")
    settings: ChainSettings = ChainSettings()


def read_preset(path: Path) -> Preset:
    """One preset file, validated (any path)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise SettingsError(f"cannot read preset {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise SettingsError(f"preset {path} is not valid JSON: {exc}") from exc
    try:
        return Preset.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(f"invalid preset {Path(path).name}: {format_errors(exc)}") from exc


def preset_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".json":
        return p
    return paths.PRESETS_DIR / f"{name_or_path}.json"


def load(name_or_path: str) -> Preset:
    """A bundled preset by name, or a preset file by path."""
    path = preset_path(name_or_path)
    if not path.exists():
        known = ", ".join(sorted(q.stem for q in paths.PRESETS_DIR.glob("*.json")))
        raise SettingsError(f"no preset '{name_or_path}' (known: {known})")
    preset = read_preset(path)
    if path.parent == paths.PRESETS_DIR and preset.name != path.stem:
        raise SettingsError(f"preset file {path.name} declares name '{preset.name}'; they must match")
    return preset


def all_presets() -> list[Preset]:
    return [load(p.stem) for p in sorted(paths.PRESETS_DIR.glob("*.json"))]


def validate_all(files: list[Path] | None = None) -> list[str]:
    """Validate the given preset files (default: every bundled preset); raises on the first invalid one."""
    files = files or sorted(paths.PRESETS_DIR.glob("*.json"))
    return [load(str(f) if f.parent != paths.PRESETS_DIR else f.stem).name for f in files]
