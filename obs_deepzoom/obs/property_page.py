"""An effect's OBS property page, built through libobs (obs_properties_*), and its defaults and values read
back from obs_data; the page's layout and labels come from `properties` (no libobs there)."""

from __future__ import annotations

from . import libobs as obs
from .kinds import BUTTONS, sections
from .properties import (
    DEFAULT_LOCALE,
    GROUP_KEYS,
    GROUP_TITLES,
    PropSpec,
    as_label_text,
    page_layout,
    specs_for,
    text,
    to_obs_value,
)

STATUS_KEY = "deepzoom.status"


def reader(data) -> callable:
    def read(spec: PropSpec):
        key = spec.key.encode()
        if spec.kind == "bool":
            return obs.data_get_bool(data, key)
        if spec.kind in ("int", "color"):
            return obs.data_get_int(data, key)
        if spec.kind == "float":
            return obs.data_get_double(data, key)
        return (obs.data_get_string(data, key) or b"").decode("utf-8", "replace")

    return read


def set_defaults(effect: str, data) -> None:
    for spec in specs_for(sections(effect)):
        key, value = spec.key.encode(), to_obs_value(spec, spec.default)
        if spec.kind == "bool":
            obs.data_set_default_bool(data, key, bool(value))
        elif spec.kind in ("int", "color"):
            obs.data_set_default_int(data, key, int(value))
        elif spec.kind == "float":
            obs.data_set_default_double(data, key, float(value))
        else:
            obs.data_set_default_string(data, key, str(value).encode())


def obs_locale() -> str:
    """OBS's UI language (obs_get_locale), e.g. "en-US"; the page's strings come from locale/<it>.ini."""
    try:
        return (obs.get_locale() or b"").decode() or DEFAULT_LOCALE
    except Exception:
        return DEFAULT_LOCALE


def _add_group(props, keep_bytes, group: str, lang: str):
    """An empty group added to `props`; its content is filled afterwards (libobs checks names across groups).
    None if libobs refuses it (then the settings go on the page itself)."""
    content = obs.properties_create()
    p = obs.properties_add_group(props, keep_bytes(f"deepzoom.group.{group}"),
                                 keep_bytes(text(GROUP_KEYS[group], lang, GROUP_TITLES[group])), obs.GROUP_NORMAL,
                                 content)
    if not p:
        obs.properties_destroy(content)
        return None
    return content


def build_properties(effect: str, buttons: dict | None = None, status=None, lang: str | None = None):
    """obs_properties_t for an effect: the status line, the settings people change first, then the groups
    (Face tracking, Performance, Advanced), labels in OBS's language (libobs copies every string it is given);
    `buttons` maps a button's key to its (persistent) ctypes click callback; `status` is
    (text, is_error) or an error text (in red)."""
    from ..engine.runtime import available_devices

    lang = lang or obs_locale()

    def b(value: str) -> bytes:  # libobs copies each string it is given (bstrdup), so none is kept here
        return value.encode("utf-8", "replace")

    props = obs.properties_create()
    if isinstance(status, str):
        status = (status, True)
    if status and status[0]:
        p = obs.properties_add_text(props, b(STATUS_KEY), b(as_label_text(status[0])), obs.TEXT_INFO)
        obs.property_text_set_info_type(p, obs.TEXT_INFO_ERROR if status[1] else obs.TEXT_INFO_NORMAL)
    for group, specs in page_layout(specs_for(sections(effect), lang)):
        target = _add_group(props, b, group, lang) if group else props
        for spec in specs:
            _add_property(target or props, spec, b, available_devices)
        if not group:
            for key, label, _ in BUTTONS.get(effect, []):
                if buttons and key in buttons:
                    obs.properties_add_button(props, b(key), b(text(key, lang, label)), buttons[key])
    return props


def _add_property(props, spec: PropSpec, b, available_devices):
    key, label = b(spec.key), b(spec.label)
    if spec.kind == "bool":
        p = obs.properties_add_bool(props, key, label)
    elif spec.kind == "int":
        p = obs.properties_add_int_slider(props, key, label, int(spec.minimum), int(spec.maximum), 1)
    elif spec.kind == "float":
        p = obs.properties_add_float_slider(props, key, label, spec.minimum, spec.maximum, spec.step)
    elif spec.kind == "list":
        p = obs.properties_add_list(props, key, label, obs.COMBO_TYPE_LIST, obs.COMBO_FORMAT_STRING)
        items = list(zip(spec.choices, spec.choice_labels or spec.choices))
        if spec.key.endswith(".device"):  # only devices OpenVINO has here (AUTO always)
            have = {d.split(".")[0] for d in available_devices()}
            items = [(c, name) for c, name in items if c == "AUTO" or c in have]
        for value, name in items:
            obs.property_list_add_string(p, b(name), b(value))
    elif spec.kind == "color":
        p = obs.properties_add_color(props, key, label)
    elif spec.kind == "path":
        p = obs.properties_add_path(props, key, label, obs.PATH_FILE, b(spec.choices[0]), None)
    elif spec.kind == "folder":
        p = obs.properties_add_path(props, key, label, obs.PATH_DIRECTORY, None, None)
    else:
        p = obs.properties_add_text(props, key, label, obs.TEXT_DEFAULT)
    if spec.tooltip and p:
        obs.property_set_long_description(p, b(spec.tooltip))
