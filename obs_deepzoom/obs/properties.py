"""OBS property pages and settings data derived from the pydantic settings (no libobs here).

A filter shows the settings of its effect and of face tracking (when the effect uses faces). Keys are
`section.field` (e.g. `landmarks.mesh`, `face.max_faces`): the same names `--set` and presets use, and the
keys to send in obs-websocket's SetSourceFilterSettings."""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from ..errors import SettingsError


@dataclass
class PropSpec:
    key: str
    kind: str  # bool | int | float | list | text | color | path
    label: str
    tooltip: str
    default: object
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: list[str] = field(default_factory=list)


def _step(lo: float, hi: float) -> float:
    return 10 ** math.floor(math.log10(max(hi - lo, 1e-6) / 100))


def specs_for(sections: dict[str, type[BaseModel]]) -> list[PropSpec]:
    out = []
    for section, model in sections.items():
        for name, f in model.model_fields.items():
            ann = f.annotation
            lo = hi = None
            lo_open = hi_open = False  # gt / lt: the bound itself is not allowed
            for m in f.metadata:
                if lo is None and getattr(m, "ge", None) is None and getattr(m, "gt", None) is not None:
                    lo, lo_open = m.gt, True
                if hi is None and getattr(m, "le", None) is None and getattr(m, "lt", None) is not None:
                    hi, hi_open = m.lt, True
                lo = getattr(m, "ge", None) if lo is None else lo
                hi = getattr(m, "le", None) if hi is None else hi
            spec = PropSpec(f"{section}.{name}", "text", name.replace("_", " ").capitalize(),
                            f.description or "", f.default, lo, hi)
            if ann is bool:
                spec.kind = "bool"
            elif ann is int:
                spec.kind, spec.step = "int", 1
            elif ann is float:
                spec.kind = "float"
                spec.step = (f.json_schema_extra or {}).get("step") if isinstance(f.json_schema_extra, dict) else None
                spec.step = spec.step or _step(lo if lo is not None else 0, hi if hi is not None else 1)
            if spec.step and lo_open:  # a slider's ends must be valid values
                spec.minimum = lo + spec.step
            if spec.step and hi_open:
                spec.maximum = hi - spec.step
            elif typing.get_origin(ann) is typing.Literal:
                spec.kind, spec.choices = "list", [str(c) for c in typing.get_args(ann)]
            elif ann == tuple[int, int, int]:
                spec.kind = "color"
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            if ann is str and "file_filter" in extra:
                spec.kind, spec.choices = "path", [extra["file_filter"]]
            out.append(spec)
    return out


def bgr_to_obs_color(bgr: tuple[int, int, int]) -> int:
    b, g, r = bgr
    return 0xFF000000 | (b << 16) | (g << 8) | r


def obs_color_to_bgr(value: int) -> tuple[int, int, int]:
    return (value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF


def to_obs_value(spec: PropSpec, value):
    return bgr_to_obs_color(value) if spec.kind == "color" else value


def from_obs_values(specs: list[PropSpec], read: typing.Callable[[PropSpec], object],
                    models: dict[str, type[BaseModel]]) -> dict[str, BaseModel]:
    """Read every property with `read(spec)` and validate each section; raises SettingsError naming the key."""
    raw: dict[str, dict] = {section: {} for section in models}
    for spec in specs:
        section, name = spec.key.split(".", 1)
        value = read(spec)
        raw[section][name] = obs_color_to_bgr(int(value)) if spec.kind == "color" else value
    out = {}
    for section, model in models.items():
        try:
            out[section] = model.model_validate(raw[section])
        except ValidationError as exc:
            e = exc.errors()[0]
            raise SettingsError(f"{section}.{'.'.join(map(str, e['loc']))}: {e['msg']}") from exc
    return out


def obs_settings(effect: str, settings, keys: list[str] | None = None) -> dict:
    """Filter settings as OBS stores them (`section.field` -> value) from a ChainSettings; all keys, or `keys`."""
    from .kinds import sections

    out = {}
    for spec in specs_for(sections(effect)):
        if keys is None or spec.key in keys:
            section, name = spec.key.split(".", 1)
            out[spec.key] = to_obs_value(spec, getattr(getattr(settings, section), name))
    return out


def parse_overrides(effect: str, items: list[str]) -> dict:
    """Validate `section.field=value` items (a bare `field=value` means the effect's own section) for an
    effect's filter; returns only those keys, encoded for OBS. Raises SettingsError naming the field."""
    from ..settings import ChainSettings, apply_overrides
    from .kinds import sections

    allowed = sections(effect)
    normalised, keys = [], []
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip() if "." in key else f"{effect}.{key.strip()}"
        if sep and key.split(".", 1)[0] not in allowed:
            raise SettingsError(f"'{key}' is not a setting of the {effect} filter "
                                f"(its sections: {', '.join(allowed)})")
        normalised.append(f"{key}{sep}{value}")
        keys.append(key)
    settings = apply_overrides(ChainSettings(), normalised)
    return obs_settings(effect, settings, keys)
