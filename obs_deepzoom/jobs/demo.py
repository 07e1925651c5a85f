"""`deepzoom demo`: a preset over the sample clip, written as a video, a side-by-side PNG, the sound before and a
timing summary. Its input: the sample clip, and, because its own soundtrack is only room tone, a voice in noise
for the audio chain to clean (the speech sample of `deepzoom samples fetch` plus a fan-like noise made here;
nothing is downloaded)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio_io import Audio, read_audio, write_audio
from ..video_io import AUDIO_RATE, read_soundtrack, to_rate

SPEECH_DBFS = -40.0  # a soundtrack whose loudest 100 ms stay below this holds no speech
DEMO_VOICE = "speech_librivox.wav"
NOISE_SNR_DB = 5.0
NOISE_SEED = 14


@dataclass
class FrameSequence:
    """Frames held in memory, read like a VideoSource."""

    name: str
    fps: float
    frame_list: list[np.ndarray]

    @property
    def frame_count(self) -> int:
        return len(self.frame_list)

    def frames(self) -> Iterator[np.ndarray]:
        return iter(self.frame_list)


def loudest_dbfs(audio: Audio, window_s: float = 0.1) -> float:
    """Level of the loudest `window_s` of a soundtrack, in dB of full scale."""
    n = max(1, round(window_s * audio.rate))
    x = audio.samples.mean(axis=0)
    blocks = x[: len(x) // n * n].reshape(-1, n) if len(x) >= n else x[None, :]
    return float(20 * np.log10(np.sqrt((blocks.astype(np.float64) ** 2).mean(axis=1)).max() + 1e-12))


def fan_noise(n: int, rate: int = AUDIO_RATE, seed: int = NOISE_SEED) -> np.ndarray:
    """A steady fan-like noise, float32 (n,) at unit RMS: pink noise above 60 Hz plus a little mains hum."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / rate)
    spectrum *= np.where(f > 60, 1 / np.sqrt(np.maximum(f, 1.0)), 0.0)
    x = np.fft.irfft(spectrum, n)
    x /= np.sqrt((x**2).mean()) + 1e-12
    t = np.arange(n) / rate
    x += 0.3 * np.sin(2 * np.pi * 100 * t) + 0.15 * np.sin(2 * np.pi * 150 * t)
    return (x / np.sqrt((x**2).mean())).astype(np.float32)


def noisy_voice(voice: Audio, snr_db: float = NOISE_SNR_DB) -> Audio:
    """Mono 48 kHz voice with fan noise `snr_db` below its speech level (the louder half of its 20 ms frames)."""
    v = to_rate(voice).samples.mean(axis=0)
    frames = v[: len(v) // 960 * 960].reshape(-1, 960)
    energy = np.sort((frames.astype(np.float64) ** 2).mean(axis=1))
    speech_rms = float(np.sqrt(energy[len(energy) // 2:].mean()))
    mix = v + fan_noise(len(v)) * speech_rms * 10 ** (-snr_db / 20)
    mix *= min(1.0, 0.9 / (np.abs(mix).max() + 1e-12))
    return Audio(mix[None, :].astype(np.float32), AUDIO_RATE)


def boomerang(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    """`n` frames playing `frames` forwards, then backwards, and so on (no jump cut)."""
    if len(frames) < 2:
        return [frames[0]] * n
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(n)]


def demo_input(source, clip: Path) -> tuple[object, Audio, dict]:
    """(frames, soundtrack, notes for the summary): the clip with its own sound when that holds speech; else
    the speech sample in fan noise, with the clip played forwards and backwards for as long as the voice."""
    from ..samples import sample

    track = read_soundtrack(clip)
    if track is not None and loudest_dbfs(track) > SPEECH_DBFS:
        return source, track, {"sound": "the clip's own soundtrack"}
    voice = read_audio(sample(DEMO_VOICE))
    noisy = noisy_voice(voice)
    frames = list(source.frames())
    n = math.ceil(noisy.seconds * source.fps)
    clip_sound = "no sound" if track is None else f"only room tone, {loudest_dbfs(track):.0f} dBFS"
    notes = {"sound": f"{DEMO_VOICE} (the clip has {clip_sound}) in fan noise at {NOISE_SNR_DB:g} dB SNR",
             "clip_frames": len(frames),
             "frames_note": f"the {len(frames)}-frame clip played forwards and backwards for the "
                            f"{noisy.seconds:.1f} s of the voice"}
    return FrameSequence(source.name, source.fps, boomerang(frames, n)), noisy, notes


def run(chain, out_dir: Path, encoding, audio_effects: list[str], preset: str) -> dict:
    """The demo into the existing `out_dir`: `chain` over the demo input, its sound through `audio_effects`.
    Nothing is left behind when it fails. Returns the paths written (video, sound_before, side_by_side, timing)
    and the timing summary (summary)."""
    from ..engine.effects import apply_audio_effects
    from ..media import VideoSource
    from ..samples import DEMO_CLIP, sample
    from .video import process_video

    t = time.perf_counter()
    source = VideoSource.open_file(sample(DEMO_CLIP))
    source, audio, about = demo_input(source, sample(DEMO_CLIP))
    cleaned = apply_audio_effects(audio, audio_effects, chain.settings)
    video = out_dir / ("demo.mkv" if encoding.lossless else "demo.mp4")
    png = out_dir / "demo_side_by_side.png"
    # the demo clip's frames, decoded by OpenCV (played back and forth)
    summary = process_video(chain, source, video, 0, side_by_side=png, encoding=encoding, audio=cleaned,
                            opencv_video=True)
    # only once the video is written (a failed demo leaves nothing), under a temporary name renamed at the end
    try:
        before = write_audio(out_dir / "demo_sound_before.wav", audio)
    except BaseException:
        for done in (video, png):
            done.unlink(missing_ok=True)
        raise
    summary.update({"preset": preset, "effects": chain.names, "audio_effects": audio_effects,
                    "input": str(sample(DEMO_CLIP)), "video": encoding.describe(video), **about,
                    "wall_s": round(time.perf_counter() - t, 2)})
    timing = out_dir / "demo_timing.json"
    tmp = timing.with_name(f".{timing.stem}.partial{timing.suffix}")
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, timing)
    return {"video": video, "sound_before": before, "side_by_side": png, "timing": timing, "summary": summary}
