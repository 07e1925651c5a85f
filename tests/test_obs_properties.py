"""Property pages without OBS: human labels from the locale file, display names for list values, the settings
people change first at the top, the rest in groups, the status line first, translations with an English
fallback. build_properties runs against a fake libobs that records the page it builds."""

from __future__ import annotations

import importlib
import sys
import types
import typing

import pytest

from obs_deepzoom.obs import abi, properties
from obs_deepzoom.obs.kinds import ALL_KINDS, BUTTONS, sections
from obs_deepzoom.obs.properties import (
    GROUPS,
    LOCALE_DIR,
    locale,
    page_layout,
    parse_ini,
    specs_for,
    status_line,
)
from obs_deepzoom.settings import ChainSettings

# spelled out, not read from the registry it checks
FACE_EFFECTS = {"landmarks", "gaze", "restore", "avatar", "framing", "analytics", "conceal", "send"}


def every_field():
    from obs_deepzoom.obs.kinds import SOURCE_SECTIONS

    models = {section: ref.annotation for section, ref in ChainSettings.model_fields.items()}
    models |= {section: model for sections in SOURCE_SECTIONS.values() for section, model in sections.items()}
    for section, model in models.items():
        for name, f in model.model_fields.items():
            yield section, name, f


def test_every_setting_has_a_label_and_every_list_value_a_display_name():
    strings = parse_ini((LOCALE_DIR / "en-US.ini").read_text(encoding="utf-8"))
    missing = []
    for section, name, f in every_field():
        key = f"{section}.{name}"
        if key not in strings:
            missing.append(key)
        if typing.get_origin(f.annotation) is typing.Literal:
            for v in typing.get_args(f.annotation):
                if f"{key}.{v}" not in strings and f"Value.{v}" not in strings:
                    missing.append(f"{key}.{v}")
    assert not missing, f"en-US.ini lacks: {missing}"


def test_the_locale_file_has_no_stray_keys():
    """Every key names a setting, a list value, a group, a status text or a button (a renamed field fails here)."""
    strings = parse_ini((LOCALE_DIR / "en-US.ini").read_text(encoding="utf-8"))
    known = {f"Group.{k.split('.')[1]}" for k in properties.GROUP_KEYS.values()}
    known |= {key for buttons in BUTTONS.values() for key, _, _ in buttons}
    for section, name, f in every_field():
        known |= {f"{section}.{name}", f"{section}.{name}.Tooltip"}
        if typing.get_origin(f.annotation) is typing.Literal:
            known |= {f"{section}.{name}.{v}" for v in typing.get_args(f.annotation)}
            known |= {f"Value.{v}" for v in typing.get_args(f.annotation)}
    stray = [k for k in strings if k not in known and not k.startswith("Status.")]
    assert not stray, stray


@pytest.mark.parametrize("effect", list(ALL_KINDS))
def test_pages_read_like_obs_own(effect):
    specs = specs_for(sections(effect))
    layout = page_layout(specs)
    top = layout[0][1]
    assert layout[0][0] == "" and 1 <= len(top) <= 7, [s.key for s in top]
    assert [g for g, _ in layout[1:]] == [g for g in GROUPS if g in {g for g, _ in layout[1:]}]
    groups = {g for g, _ in layout[1:]}
    assert "performance" in groups
    assert ("face" in groups) == (effect in FACE_EFFECTS)
    assert sum(len(items) for _, items in layout) == len(specs)  # every setting is somewhere, once
    for s in specs:
        assert "_" not in s.label and ":" not in s.label and s.label[0].isupper(), (s.key, s.label)
        assert s.tooltip, s.key
        if s.kind == "list":
            assert len(s.choice_labels) == len(s.choices) and all(s.choice_labels), s.key
        if s.key.endswith(".device") or s.key.startswith(("filter.", "audio_filter.")):
            assert s.group == "performance", s.key
        if s.key.startswith("face.") and s.key != "face.device":  # devices: all under Performance
            assert s.group == "face", s.key


def test_labels_have_units_and_list_values_names():
    specs = {s.key: s for s in specs_for(sections("denoise"))}
    assert specs["denoise.atten_limit_db"].label == "Attenuation limit (dB)"
    stereo = specs["denoise.stereo"]
    assert stereo.choices == ["mono_mix", "per_channel"] and stereo.choice_labels == ["Mix to mono",
                                                                                      "Each channel separately"]
    face = {s.key: s for s in specs_for(sections("gaze"))}
    assert face["face.device"].choice_labels[0] == "Automatic" and face["face.device"].choices[0] == "AUTO"
    assert face["face.smooth_beta"].label == "Smoothing speed response"


def test_a_translation_overrides_english_and_falls_back_per_key(tmp_path, monkeypatch):
    (tmp_path / "en-US.ini").write_text((LOCALE_DIR / "en-US.ini").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "de-DE.ini").write_text('; Deutsch\ndenoise.atten_limit_db="Dämpfungsgrenze (dB)"\n'
                                        'Group.Advanced="Erweitert"\ndenoise.stereo.mono_mix="Mono"\n'
                                        'denoise.mix.Tooltip="Mischung: \\"1\\" = nur entrauscht"\n',
                                        encoding="utf-8")
    monkeypatch.setattr(properties, "LOCALE_DIR", tmp_path)
    properties.locale.cache_clear()
    try:
        specs = {s.key: s for s in specs_for(sections("denoise"), "de-DE")}
        assert specs["denoise.atten_limit_db"].label == "Dämpfungsgrenze (dB)"
        assert specs["denoise.mode"].label == "Method"  # not translated: English
        assert specs["denoise.stereo"].choice_labels == ["Mono", "Each channel separately"]
        assert specs["denoise.mix"].tooltip == 'Mischung: "1" = nur entrauscht'
        assert properties.text("Group.Advanced", "de-DE") == "Erweitert"
        assert locale("xx-XX") == locale("en-US")  # unknown: English
        assert locale("../../etc/passwd") == locale("en-US")
    finally:
        properties.locale.cache_clear()


def test_without_the_locale_file_labels_fall_back_to_field_names(tmp_path, monkeypatch):
    monkeypatch.setattr(properties, "LOCALE_DIR", tmp_path)
    properties.locale.cache_clear()
    try:
        specs = {s.key: s for s in specs_for(sections("denoise"))}
        assert specs["denoise.atten_limit_db"].label == "Atten limit db"
        assert specs["denoise.stereo"].choice_labels == ["mono_mix", "per_channel"]
    finally:
        properties.locale.cache_clear()


def test_status_line():
    settings = {s: getattr(ChainSettings(), s) for s in sections("background")}
    line, error = status_line("background", settings, {"applied": 90, "passed": 5, "dropped": 5,
                                                       "effect_ms_median": 12.34}, None)
    assert not error
    assert line == ("Selfie segmentation (Landscape (16:9)) · device Automatic · 12.3 ms per frame · "
                    "effect on 90 % of frames")
    line, error = status_line("background", settings, {"applied": 0}, "processing failed: boom")
    assert error and line == "Error: processing failed: boom"
    audio = {s: getattr(ChainSettings(), s) for s in sections("denoise")}
    line, _ = status_line("denoise", audio, {"processed": 300, "raw": 100, "latency_ms": 104.0}, None)
    assert line == "Noise suppression (Best (DeepFilterNet3, 48 kHz)) · 75 % of the audio processed · " \
                   "104 ms added latency"


# ---- build_properties against a fake libobs ----

class FakeObs(types.ModuleType):
    """Records the page: every obs_properties_t is a list of property dicts; groups hold their content."""

    def __init__(self):
        super().__init__("obs_deepzoom.obs.libobs")
        for name in dir(abi):
            if name.isupper():
                setattr(self, name, getattr(abi, name))
        self.pages = []

    def properties_create(self):
        page = {"props": []}
        self.pages.append(page)
        return page

    def _add(self, props, kind, name, desc, **extra):
        assert isinstance(name, bytes) and isinstance(desc, bytes)
        p = {"type": kind, "name": name.decode(), "label": desc.decode(), **extra}
        props["props"].append(p)
        return p

    def properties_add_text(self, props, name, desc, t):
        return self._add(props, "text", name, desc)

    def property_text_set_info_type(self, p, t):
        p["info_type"] = t

    def properties_add_bool(self, props, name, desc):
        return self._add(props, "bool", name, desc)

    def properties_add_int_slider(self, props, name, desc, lo, hi, step):
        return self._add(props, "int", name, desc, range=[lo, hi])

    def properties_add_float_slider(self, props, name, desc, lo, hi, step):
        return self._add(props, "float", name, desc, range=[lo, hi])

    def properties_add_list(self, props, name, desc, t, fmt):
        return self._add(props, "list", name, desc, items=[])

    def property_list_add_string(self, p, name, value):
        p["items"].append((name.decode(), value.decode()))

    def properties_add_color(self, props, name, desc):
        return self._add(props, "color", name, desc)

    def properties_add_path(self, props, name, desc, t, filt, default):
        return self._add(props, "path", name, desc)

    def properties_add_button(self, props, name, desc, cb):
        return self._add(props, "button", name, desc)

    def properties_add_group(self, props, name, desc, t, content):
        assert t == abi.GROUP_NORMAL
        return self._add(props, "group", name, desc, content=content)

    def properties_destroy(self, props):
        pass

    def property_set_long_description(self, p, text):
        p["tooltip"] = text.decode()

    def get_locale(self):
        return b"en-US"


LIBOBS_USERS = ("obs_deepzoom.obs.property_page", "obs_deepzoom.obs.filters", "obs_deepzoom.obs.audio_tap")


@pytest.fixture
def fake_page(monkeypatch):
    """obs.property_page imported over a fake libobs that records the page it builds."""
    fake = FakeObs()
    monkeypatch.setitem(sys.modules, "obs_deepzoom.obs.libobs", fake)
    for mod in LIBOBS_USERS:
        monkeypatch.delitem(sys.modules, mod, raising=False)
    import obs_deepzoom.obs as pkg

    monkeypatch.setattr(pkg, "libobs", fake, raising=False)
    page = importlib.import_module("obs_deepzoom.obs.property_page")
    yield page, fake
    for mod in LIBOBS_USERS:
        sys.modules.pop(mod, None)


@pytest.mark.parametrize("effect", list(ALL_KINDS))
def test_build_properties_groups_the_page(fake_page, effect):
    builder, fake = fake_page
    buttons = {key: object() for key, _, _ in BUTTONS.get(effect, [])}
    page = builder.build_properties(effect, buttons, ("Selfie segmentation · 12.3 ms per frame", False))
    props = page["props"]
    assert props[0]["name"] == builder.STATUS_KEY and props[0]["info_type"] == abi.TEXT_INFO_NORMAL
    groups = [p for p in props if p["type"] == "group"]
    titles = [g["label"] for g in groups]
    assert "Performance" in titles and ("Face tracking" in titles) == (effect in FACE_EFFECTS)
    assert props.index(groups[0]) > max(i for i, p in enumerate(props) if p["type"] != "group")  # groups last
    flat = [p for p in props if p["type"] != "group"] + [q for g in groups for q in g["content"]["props"]]
    names = [p["name"] for p in flat]
    assert sorted(names) == sorted([builder.STATUS_KEY] + [s.key for s in specs_for(sections(effect))]
                                   + list(buttons))
    assert len([p for p in props if p["type"] != "group"]) <= 9  # status + the first settings + buttons
    for p in flat:
        assert p["label"] and "_" not in p["label"].split("(")[0], p
        if p["type"] == "list":
            assert p["items"] and all(name != value or name in ("CPU",) for name, value in p["items"]), p


def test_an_error_status_is_red(fake_page):
    builder, fake = fake_page
    page = builder.build_properties("denoise", None, "processing failed: boom")
    assert page["props"][0]["label"] == "processing failed: boom"
    assert page["props"][0]["info_type"] == abi.TEXT_INFO_ERROR
    page = builder.build_properties("denoise", None, None)
    assert page["props"][0]["name"] != builder.STATUS_KEY


def test_locale_files_with_a_bom_or_bad_bytes_still_load(tmp_path, monkeypatch):
    from obs_deepzoom.obs import properties

    (tmp_path / "en-US.ini").write_text('gaze.enabled="Eye contact"\nGroup.Advanced="Advanced"\n')
    bom = "\ufeffgaze.enabled=\"Blickkontakt\"\n".encode()
    (tmp_path / "de-DE.ini").write_bytes(bom + b'Group.Advanced="Erw\xe4"\n')  # not UTF-8
    monkeypatch.setattr(properties, "LOCALE_DIR", tmp_path)
    properties.locale.cache_clear()
    try:
        de = properties.locale("de-DE")
        assert de["gaze.enabled"] == "Blickkontakt" and de["Group.Advanced"].startswith("Erw")
        assert properties.locale("xx-XX")["gaze.enabled"] == "Eye contact"
    finally:
        properties.locale.cache_clear()


def test_markup_in_a_status_reads_as_written():
    from obs_deepzoom.obs.properties import as_label_text

    assert as_label_text("12.3 ms per frame") == "12.3 ms per frame"
    shown = as_label_text("TypeError: <class 'str'> & co")
    assert shown == "<html>TypeError: &lt;class &#x27;str&#x27;&gt; &amp; co</html>"
