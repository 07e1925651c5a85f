"""`deepzoom avatar`: a portrait animated by a driver video or camera, or by a voice recording alone, written
as a video (H.264 unless lossless) carrying the voice, or else the driver video's own sound, through the
preset's audio effects."""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..audio_io import Audio, read_audio
from ..engine.chain import Chain
from ..engine.contract import FrameContext
from ..engine.effects import apply_audio_effects
from ..errors import InputError
from ..media import VideoSource, check_output
from ..video_io import Encoding, output_format, read_soundtrack, to_rate
from .frames import ms_stats, run_frames

AUDIO_ONLY_FPS = 30.0


def _frames_with_audio(frames, fps: float, audio: Audio | None, feed):
    """Yield the frames, feeding each frame's share of the audio (up to the frame's end) first."""
    fed = 0
    for i, frame in enumerate(frames):
        if audio is not None:
            end = min(audio.samples.shape[1], round((i + 1) / fps * audio.rate))
            if end > fed:
                feed(audio.samples[:, fed:end], audio.rate)
                fed = end
        yield frame


def animate(settings, output: Path, driver: Path | None = None, camera: int | None = None,
            audio_path: Path | None = None, size: tuple[int, int] = (1280, 720), max_frames: int = 0,
            side_by_side: bool = False, progress=print, encoding: Encoding | None = None,
            audio_effects: list[str] | None = ()) -> dict:
    """Render the avatar of `settings.avatar.source` to `output`; returns a summary. The soundtrack is the voice
    `audio_path`, else the driver video's sound, through `audio_effects` (None: no soundtrack)."""
    from ..engine.video.avatar import PhotoAvatar

    output = check_output(Path(output), "video")
    encoding = encoding or Encoding()
    output_format(output, encoding)
    if driver is None and camera is None and audio_path is None:
        raise InputError("give a driver (--driver VIDEO or --camera N) and/or --audio WAV")
    if not settings.avatar.source:
        raise InputError("--source: give the portrait photo to animate")
    audio = read_audio(audio_path) if audio_path is not None else None
    if audio is not None and audio.samples.shape[1] == 0:
        raise InputError(f"{audio_path}: no audio samples")
    if driver is not None or camera is not None:
        source = VideoSource.open_file(driver) if driver is not None else VideoSource.open_camera(camera)
        chain = Chain(["avatar"], settings)
        avatar = chain.effects[0]
        fps, frames, total = source.fps, source.frames(), source.frame_count or None

        def step(i, t, frame):
            return chain.process(frame, t)
    else:  # voice only: the portrait at `size`
        avatar = PhotoAvatar(settings.avatar)
        fps = AUDIO_ONLY_FPS
        total = math.ceil(audio.seconds * fps)
        blank = np.zeros((size[1], size[0], 3), np.uint8)
        frames = (blank for _ in range(total))

        def step(i, t, frame):
            ctx = FrameContext(i, t)
            return avatar.process(frame, ctx), ctx

    sound = None
    if audio_effects is not None:
        sound = to_rate(audio) if audio is not None else read_soundtrack(driver) if driver is not None else None
        if sound is not None:
            if max_frames:
                sound = Audio(sound.samples[:, :math.ceil(max_frames / fps * sound.rate)], sound.rate)
            sound = apply_audio_effects(sound, audio_effects, settings)
    modes: Counter = Counter()

    def compose(i, frame, out):
        modes[avatar.mode] += 1
        return np.hstack([frame, out]) if side_by_side and (driver is not None or camera is not None) else out

    run = run_frames(_frames_with_audio(frames, fps, audio, avatar.feed_audio), fps, step, output, count=total,
                     max_frames=max_frames, desc=output.name, encoding=encoding, audio=sound, compose=compose,
                     empty="no frames could be read from the driver")
    ms_median, ms_p95 = ms_stats(run.step_ms, 2)
    return {"output": str(output), "frames": run.frames, "fps": round(fps, 2), "driven_by": dict(modes),
            "video": encoding.describe(output), "sound_track": sound is not None,
            "audio_effects": list(audio_effects or []) if sound is not None else [],
            "ms_median": ms_median, "ms_p95": ms_p95}
