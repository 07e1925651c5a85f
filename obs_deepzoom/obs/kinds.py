"""Which filter kinds DeepZoom registers in OBS and which settings sections each one shows (no libobs)."""

from __future__ import annotations

from ..engine.effects import AUDIO_EFFECTS, EFFECTS, VIDEO_EFFECTS
from ..settings import AudioFilterSettings, FaceTrackingSettings, FilterSettings, ReceiverSettings

# effect name -> (filter kind id, display name in OBS's Filters menu)
VIDEO_KINDS = {e: (f"deepzoom_{e}", cls.obs_title) for e, cls in VIDEO_EFFECTS.items()}
AUDIO_KINDS = {e: (f"deepzoom_{e}", cls.obs_title) for e, cls in AUDIO_EFFECTS.items()}
ALL_KINDS = {**VIDEO_KINDS, **AUDIO_KINDS}
# sources (not filters) DeepZoom registers: name -> (kind id, display name in OBS's Sources menu), settings
SOURCE_KINDS = {"receiver": ("deepzoom_keypoint_receiver", "DeepZoom Keypoint Receiver")}
SOURCE_SECTIONS = {"receiver": {"receiver": ReceiverSettings}}
# effect -> buttons on its property page: (property key, label, method of the effect to call)
BUTTONS = {"avatar": [("avatar.recalibrate", "Recalibrate: look at the camera with a neutral face, then click",
                       "recalibrate")]}


# obs-websocket vendor requests the DeepZoom script registers (obs/vendor.py; read by remote/commands.py)
VENDOR = "obs-deepzoom"
GET_ANALYTICS, RESET_ANALYTICS = "GetAnalytics", "ResetAnalytics"


def is_audio(effect: str) -> bool:
    return effect in AUDIO_KINDS


def sections(effect: str) -> dict:
    """Settings sections shown by an effect's filter: the effect, face tracking if it uses faces, runtime (a
    source's: its own)."""
    if effect in SOURCE_SECTIONS:
        return dict(SOURCE_SECTIONS[effect])
    if is_audio(effect):
        return {effect: EFFECTS[effect].settings_type, "audio_filter": AudioFilterSettings}
    out = {effect: EFFECTS[effect].settings_type}
    if VIDEO_EFFECTS[effect].needs_faces:
        out["face"] = FaceTrackingSettings
    out["filter"] = FilterSettings
    return out


def effect_of_kind(kind: str) -> str | None:
    return next((e for e, (k, _) in ALL_KINDS.items() if k == kind), None)


def table() -> list[dict]:
    """Our filter kinds, then our source kinds (type "source")."""
    return [{"effect": e, "kind": k, "name": n, "type": "audio" if is_audio(e) else "video"}
            for e, (k, n) in ALL_KINDS.items()] + [{"effect": e, "kind": k, "name": n, "type": "source"}
                                                   for e, (k, n) in SOURCE_KINDS.items()]
