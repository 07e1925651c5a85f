import json

import pytest

from obs_deepzoom import presets
from obs_deepzoom.errors import SettingsError
from obs_deepzoom.presets import read_preset
from obs_deepzoom.settings import ChainSettings, FaceTrackingSettings, apply_overrides


def test_defaults_are_valid_and_ranged():
    s = FaceTrackingSettings()
    assert s.max_faces == 1 and s.detector == "short"
    schema = FaceTrackingSettings.model_json_schema()["properties"]
    assert schema["max_faces"]["minimum"] == 1 and schema["max_faces"]["maximum"] == 4
    assert all(p.get("description") for p in schema.values()), "every setting needs a tooltip"


def test_override_parses_json_values_and_strings():
    s = apply_overrides(ChainSettings(), ["face.max_faces=3", "face.detector=full", "landmarks.color=[0,0,255]"])
    assert s.face.max_faces == 3 and s.face.detector == "full" and s.landmarks.color == (0, 0, 255)


@pytest.mark.parametrize(
    "item, words",
    [
        ("face.max_faces=9", ["face.max_faces", "less than or equal to 4"]),
        ("face.nope=1", ["'face' has no setting 'nope'"]),
        ("sparkles.size=1", ["unknown effect 'sparkles'"]),
        ("max_faces=2", ["expected effect.field=value"]),
        ("landmarks.color=[0,0,300]", ["color"]),
    ],
)
def test_invalid_override_names_the_field(item, words):
    with pytest.raises(SettingsError) as err:
        apply_overrides(ChainSettings(), [item])
    for w in words:
        assert w in str(err.value)


def test_bundled_presets_validate():
    names = presets.validate_all()
    assert "default" in names


def test_invalid_preset_file_names_the_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"name": "bad", "video": ["landmarks"], "settings": {"face": {"detect_every": 0}}}))
    with pytest.raises(SettingsError, match=r"settings\.face\.detect_every"):
        read_preset(bad)
    bad.write_text("{not json")
    with pytest.raises(SettingsError, match="not valid JSON"):
        read_preset(bad)
    bad.write_text(json.dumps({"name": "bad", "video": ["sparkles"]}))
    with pytest.raises(SettingsError, match=r"video\.0"):
        read_preset(bad)


def test_unknown_preset_lists_known_ones():
    with pytest.raises(SettingsError, match="known: .*default"):
        presets.load("no-such-preset")


def test_settings_reference_doc_is_current():
    from pathlib import Path

    from obs_deepzoom.settings_doc import markdown

    doc = Path(__file__).parent.parent / "docs" / "settings.md"
    assert doc.read_text().strip() == markdown().strip(), "run: deepzoom settings --markdown > docs/settings.md"


def test_every_registered_effect_has_its_settings_section_and_menu_entry():
    """The registry is the one list: each effect's settings type is its ChainSettings section, presets accept
    exactly the registered names, and OBS kinds are derived from it."""
    from obs_deepzoom.engine.effects import AUDIO_EFFECTS, EFFECTS, VIDEO_EFFECTS
    from obs_deepzoom.obs.kinds import ALL_KINDS
    from obs_deepzoom.presets import Preset

    for name, cls in EFFECTS.items():
        assert cls.name == name and cls.kind == ("audio" if name in AUDIO_EFFECTS else "video")
        assert ChainSettings.model_fields[name].annotation is cls.settings_type
        assert ALL_KINDS[name] == (f"deepzoom_{name}", cls.obs_title) and cls.obs_title.startswith("DeepZoom ")
    assert Preset(name="x", video=list(VIDEO_EFFECTS), audio=list(AUDIO_EFFECTS))
    with pytest.raises(ValueError):
        Preset(name="x", video=["denoise"])


def test_obs_kind_ids_and_titles_never_change():
    """Users' scene collections store these ids: spelled out here, not derived from the registry."""
    from obs_deepzoom.obs.kinds import ALL_KINDS

    assert ALL_KINDS == {"landmarks": ("deepzoom_landmarks", "DeepZoom Face Landmarks"),
                         "gaze": ("deepzoom_gaze", "DeepZoom Eye Contact"),
                         "background": ("deepzoom_background", "DeepZoom Background"),
                         "restore": ("deepzoom_restore", "DeepZoom Face Restore"),
                         "avatar": ("deepzoom_avatar", "DeepZoom Photo Avatar"),
                         "framing": ("deepzoom_framing", "DeepZoom Auto Frame"),
                         "analytics": ("deepzoom_analytics", "DeepZoom Face Analytics"),
                         "conceal": ("deepzoom_conceal", "DeepZoom Dropout Concealment"),
                         "send": ("deepzoom_send", "DeepZoom Keypoint Sender"),
                         "denoise": ("deepzoom_denoise", "DeepZoom Noise Suppression"),
                         "automute": ("deepzoom_automute", "DeepZoom Auto-Mute")}
