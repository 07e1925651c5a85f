"""Which filter kinds DeepZoom registers in OBS and which settings sections each one shows (no libobs)."""

from __future__ import annotations

from ..settings import FaceTrackingSettings, FilterSettings
from ..settings import VIDEO_EFFECTS as EFFECT_SETTINGS

# effect name -> (filter kind id, display name in OBS's Filters menu)
VIDEO_KINDS = {"landmarks": ("deepzoom_landmarks", "DeepZoom Face Landmarks")}


def sections(effect: str) -> dict:
    """Settings sections shown by an effect's filter: the effect, face tracking if it uses faces, runtime."""
    from ..engine.video import VIDEO_EFFECTS

    out = {effect: EFFECT_SETTINGS[effect]}
    if VIDEO_EFFECTS[effect].needs_faces:
        out["face"] = FaceTrackingSettings
    out["filter"] = FilterSettings
    return out


def effect_of_kind(kind: str) -> str | None:
    return next((e for e, (k, _) in VIDEO_KINDS.items() if k == kind), None)


def table() -> list[dict]:
    return [{"effect": e, "kind": k, "name": n, "type": "video"} for e, (k, n) in VIDEO_KINDS.items()]
