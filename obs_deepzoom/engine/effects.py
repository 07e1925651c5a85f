"""The effect registry: every effect class, in menu order. Presets, settings sections, OBS filter kinds, CLI
choices and audio processors are all derived from these two tuples (adding an effect: docs/design.md)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..audio_io import Audio
from ..errors import DeepZoomError
from .analytics.effect import FaceAnalytics
from .audio.automute import AutoMute
from .audio.denoise import Denoise
from .audio.stream import process_signal
from .contract import AudioEffect, VideoEffect
from .video.avatar import PhotoAvatar
from .video.background import Background
from .video.conceal import DropoutConcealment
from .video.framing import AutoFrame
from .video.gaze import GazeCorrector
from .video.landmarks import LandmarkOverlay
from .video.restore import FaceRestore
from .video.send import KeypointSend

VIDEO_EFFECTS: dict[str, type[VideoEffect]] = {e.name: e for e in (LandmarkOverlay, GazeCorrector, Background,
                                                                    FaceRestore, PhotoAvatar, AutoFrame,
                                                                    FaceAnalytics, DropoutConcealment, KeypointSend)}
AUDIO_EFFECTS: dict[str, type[AudioEffect]] = {e.name: e for e in (Denoise, AutoMute)}
EFFECTS: dict[str, type] = {**VIDEO_EFFECTS, **AUDIO_EFFECTS}


def audio_effect(name: str, settings, rate: int, channels: int) -> AudioEffect:
    """A new streaming processor of the named audio effect."""
    return AUDIO_EFFECTS[name](settings, rate, channels)


def apply_audio_effects(audio: Audio, effects: Sequence[str], settings) -> Audio:
    """Run the audio chain (e.g. `denoise`, `automute`, in order) over a whole soundtrack the way OBS would,
    latency compensated; `settings` is a ChainSettings."""
    if not effects or audio.samples.shape[1] == 0:
        return audio
    unknown = [e for e in effects if e not in AUDIO_EFFECTS]
    if unknown:
        raise DeepZoomError(f"unknown audio effect(s) {', '.join(unknown)} (available: {', '.join(AUDIO_EFFECTS)})")
    samples = audio.samples
    for name in effects:
        samples = process_signal(audio_effect(name, getattr(settings, name), audio.rate, audio.channels), samples)
    return Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), audio.rate, audio.subtype)
