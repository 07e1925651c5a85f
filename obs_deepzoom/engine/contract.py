"""The frame contract every effect keeps: what a video effect gets with a frame, what an audio effect is.

An effect class declares `name` (its key in presets, settings and the CLI), `kind` ("video" or "audio"),
`settings_type` (its pydantic settings) and `obs_title` (its name in OBS's Filters menu); `engine.effects`
collects the classes, and every list of effects elsewhere is derived from it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Protocol

import numpy as np

from .face import FaceState

Kind = Literal["video", "audio"]


@dataclass
class FrameContext:
    """What effects know about the current frame besides its pixels."""

    index: int
    timestamp: float
    faces: list[FaceState] = field(default_factory=list)
    camera: np.ndarray | None = None  # 3x3 intrinsics used for pose
    timings: dict[str, float] = field(default_factory=dict)  # ms per stage
    # what an effect that moves the picture (framing) did to it, for planes it did not see (OBS's alpha)
    warps: list[Callable[[np.ndarray], np.ndarray]] = field(default_factory=list)


class Effect(Protocol):
    name: ClassVar[str]
    kind: ClassVar[Kind]
    settings_type: ClassVar[type]
    obs_title: ClassVar[str]


class VideoEffect(Effect, Protocol):
    """Takes a BGR frame and its context, returns a frame; never raises for bad luck (a lost face)."""

    needs_faces: ClassVar[bool]
    needs_iris: ClassVar[bool]  # of the faces it needs: the iris model's output (else the tracker skips it)
    # optional: `reframes` (class) or `resizes` (instance) true when its output's geometry differs from its
    # input's; an effect that needs faces cannot follow it in a chain (the faces are tracked on the input)

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray: ...


class AudioEffect(Effect, Protocol):
    """A streaming processor: float32 blocks (channels, n) in, blocks of the same shape out, delayed by a fixed
    latency; built as cls(settings, rate, channels)."""

    rate: int
    channels: int

    @property
    def latency_ms(self) -> float: ...

    def update(self, settings) -> None: ...

    def reset(self) -> None: ...

    def process(self, block: np.ndarray) -> np.ndarray: ...
