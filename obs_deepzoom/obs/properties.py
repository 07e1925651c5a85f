"""OBS property pages and settings data derived from the pydantic settings (no libobs here).

A filter shows the settings of its effect and of face tracking (when the effect uses faces). Keys are
`section.field` (e.g. `landmarks.mesh`, `face.max_faces`): the same names `--set` and presets use, and the
keys to send in obs-websocket's SetSourceFilterSettings.

Labels come from locale files in OBS's format (`locale/en-US.ini`, `Key="Text"`), keyed by the same names:
`section.field` is a setting's label, `section.field.VALUE` (or `Value.VALUE` for values shared by many
settings, such as devices) a list value's display name, `section.field.Tooltip` an optional translated
tooltip (else the field's description), `Group.NAME` a group's title. Each field's `group` (settings.py)
places it: the effect's own fields at the top unless `advanced`; face tracking, devices and OBS runtime
settings in their groups."""

from __future__ import annotations

import functools
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import SettingsError


@dataclass
class PropSpec:
    key: str
    kind: str  # bool | int | float | list | text | color | path | folder
    label: str
    tooltip: str
    default: object
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: list[str] = field(default_factory=list)
    choice_labels: list[str] = field(default_factory=list)
    group: str = ""  # "" (top of the page) | face | performance | advanced


LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LOCALE = "en-US"
GROUPS = ["face", "performance", "advanced"]  # in page order, after the top-level settings
GROUP_KEYS = {"face": "Group.FaceTracking", "performance": "Group.Performance", "advanced": "Group.Advanced"}
GROUP_TITLES = {"face": "Face tracking", "performance": "Performance", "advanced": "Advanced"}  # without a locale
RUNTIME_SECTIONS = ("filter", "audio_filter")  # OBS runtime settings: always under Performance


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value.replace("\\n", "\n").replace('\\"', '"')


def parse_ini(text: str) -> dict[str, str]:
    """OBS's locale format: `Key="Text"` per line; `;` / `#` comments and `[sections]` are ignored."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in ";#[" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out[key.strip()] = _unquote(value)
    return out


def _read_ini(path: Path) -> dict[str, str]:
    """A locale file's strings; {} when it is missing or unreadable (a BOM is fine, bad bytes are replaced)."""
    try:
        return parse_ini(path.read_text(encoding="utf-8-sig", errors="replace"))
    except OSError:
        return {}


@functools.lru_cache(maxsize=8)
def locale(name: str = DEFAULT_LOCALE) -> dict[str, str]:
    """The strings of a locale (e.g. "de-DE", as obs_get_locale() names it) over en-US's: a key missing in a
    translation falls back to English. An unknown locale is English; without en-US.ini (an install that left
    package data out) labels fall back to the field names, values still work."""
    out = _read_ini(LOCALE_DIR / f"{DEFAULT_LOCALE}.ini")
    if name != DEFAULT_LOCALE and name.replace("-", "").isalnum():
        out.update(_read_ini(LOCALE_DIR / f"{name}.ini"))
    return out


def as_label_text(message: str) -> str:
    """Text for an OBS info label, which Qt shows as rich text when it looks like markup: such text (an error
    naming `<class ...>`, say) is escaped inside <html> so it reads as written."""
    if "<" in message or "&" in message:
        import html

        return "<html>" + html.escape(message).replace("\n", "<br>") + "</html>"
    return message


def text(key: str, lang: str = DEFAULT_LOCALE, default: str | None = None) -> str:
    return locale(lang).get(key, key if default is None else default)


def label_key(section: str, name: str) -> str:
    return f"{section}.{name}"


def choice_label(section: str, name: str, value: str, lang: str = DEFAULT_LOCALE) -> str:
    strings = locale(lang)
    return strings.get(f"{section}.{name}.{value}", strings.get(f"Value.{value}", value))


def group_of(section: str, name: str, extra: dict) -> str:
    if section in RUNTIME_SECTIONS or name == "device":
        return "performance"
    if section == "face":
        return "face"
    return extra.get("group", "")


def _step(lo: float, hi: float) -> float:
    return 10 ** math.floor(math.log10(max(hi - lo, 1e-6) / 100))


def specs_for(sections: dict[str, type[BaseModel]], lang: str = DEFAULT_LOCALE) -> list[PropSpec]:
    """Every setting of these sections in settings order, with its label, tooltip and group in `lang`."""
    strings = locale(lang)
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
            extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
            key = label_key(section, name)
            spec = PropSpec(key, "text", strings.get(key, name.replace("_", " ").capitalize()),
                            strings.get(f"{key}.Tooltip", f.description or ""), f.default, lo, hi,
                            group=group_of(section, name, extra))
            if ann is bool:
                spec.kind = "bool"
            elif ann is int:
                spec.kind, spec.step = "int", 1
            elif ann is float:
                spec.kind = "float"
                spec.step = extra.get("step")
                spec.step = spec.step or _step(lo if lo is not None else 0, hi if hi is not None else 1)
            if spec.step and lo_open:  # a slider's ends must be valid values
                spec.minimum = lo + spec.step
            if spec.step and hi_open:
                spec.maximum = hi - spec.step
            elif typing.get_origin(ann) is typing.Literal:
                spec.kind, spec.choices = "list", [str(c) for c in typing.get_args(ann)]
                spec.choice_labels = [choice_label(section, name, c, lang) for c in spec.choices]
            elif ann == tuple[int, int, int]:
                spec.kind = "color"
            if ann is str and "file_filter" in extra:
                spec.kind, spec.choices = "path", [extra["file_filter"]]
            elif ann is str and extra.get("folder"):
                spec.kind = "folder"
            out.append(spec)
    return out


def page_layout(specs: list[PropSpec]) -> list[tuple[str, list[PropSpec]]]:
    """The page's sections in order: ("", the settings at the top), then each non-empty group."""
    out = [("", [s for s in specs if not s.group])]
    out += [(g, [s for s in specs if s.group == g]) for g in GROUPS]
    return [(g, items) for g, items in out if items or not g]


def status_line(effect: str, settings: dict, stats: dict, error: str | None,
                lang: str = DEFAULT_LOCALE) -> tuple[str, bool]:
    """The line at the top of a filter's page: (text, is_error). `settings` are the filter's validated
    sections; `stats` its counters (VideoFilter/AudioFilter.stats())."""
    if error:
        return text("Status.Error", lang, "Error: %1").replace("%1", error), True
    own = settings.get(effect)
    model = {"background": "model", "restore": "model", "denoise": "mode"}.get(effect)
    parts = [text(f"Status.Model.{effect}", lang, effect)]
    if model and own is not None:
        value = str(getattr(own, model))
        parts[0] += f" ({choice_label(effect, model, value, lang)})"
    device = getattr(own, "device", None) or getattr(settings.get("face"), "device", None)
    if device:
        parts.append(text("Status.Device", lang, "device %1").replace("%1", choice_label(effect, "device",
                                                                                           device, lang)))
    if "effect_ms_median" in stats:
        parts.append(text("Status.Ms", lang, "%1 ms per frame").replace("%1", f"{stats['effect_ms_median']:.1f}"))
    def share(done: int, total: int, key: str, default: str, none_key: str, none_default: str) -> str:
        if not total:
            return text(none_key, lang, none_default)
        return text(key, lang, default).replace("%1", f"{100 * done / total:.0f}")

    if "applied" in stats:
        seen = stats["applied"] + stats.get("passed", 0) + stats.get("dropped", 0)
        parts.append(share(stats["applied"], seen, "Status.Applied", "effect on %1 % of frames",
                           "Status.NoFrames", "no frames yet"))
    if "processed" in stats:
        parts.append(share(stats["processed"], stats["processed"] + stats.get("raw", 0), "Status.AudioApplied",
                           "%1 % of the audio processed", "Status.NoAudio", "no audio yet"))
        if "latency_ms" in stats:
            parts.append(text("Status.Latency", lang, "%1 ms added latency")
                         .replace("%1", f"{stats['latency_ms']:.0f}"))
    return " · ".join(parts), False


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
