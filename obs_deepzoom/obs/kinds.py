"""Which filter kinds DeepZoom registers in OBS and which settings sections each one shows (no libobs)."""

from __future__ import annotations

from ..settings import AUDIO_EFFECTS, VIDEO_EFFECTS, AudioFilterSettings, FaceTrackingSettings, FilterSettings

# effect name -> (filter kind id, display name in OBS's Filters menu)
VIDEO_KINDS = {"landmarks": ("deepzoom_landmarks", "DeepZoom Face Landmarks"),
               "gaze": ("deepzoom_gaze", "DeepZoom Eye Contact"),
               "background": ("deepzoom_background", "DeepZoom Background"),
               "restore": ("deepzoom_restore", "DeepZoom Face Restore"),
               "avatar": ("deepzoom_avatar", "DeepZoom Photo Avatar")}
AUDIO_KINDS = {"denoise": ("deepzoom_denoise", "DeepZoom Noise Suppression"),
               "automute": ("deepzoom_automute", "DeepZoom Auto-Mute")}
ALL_KINDS = {**VIDEO_KINDS, **AUDIO_KINDS}
# effect -> buttons on its property page: (property key, label, method of the effect to call)
BUTTONS = {"avatar": [("avatar.recalibrate", "Recalibrate: look at the camera with a neutral face, then click",
                       "recalibrate")]}


def is_audio(effect: str) -> bool:
    return effect in AUDIO_KINDS


def sections(effect: str) -> dict:
    """Settings sections shown by an effect's filter: the effect, face tracking if it uses faces, runtime."""
    if is_audio(effect):
        return {effect: AUDIO_EFFECTS[effect], "audio_filter": AudioFilterSettings}
    from ..engine.video import VIDEO_EFFECTS as ENGINE_EFFECTS

    out = {effect: VIDEO_EFFECTS[effect]}
    if ENGINE_EFFECTS[effect].needs_faces:
        out["face"] = FaceTrackingSettings
    out["filter"] = FilterSettings
    return out


def effect_of_kind(kind: str) -> str | None:
    return next((e for e, (k, _) in ALL_KINDS.items() if k == kind), None)


def table() -> list[dict]:
    return [{"effect": e, "kind": k, "name": n, "type": "audio" if is_audio(e) else "video"}
            for e, (k, n) in ALL_KINDS.items()]
