"""The demo's input: the sample clip, and, because its own soundtrack is only room tone, a voice in noise for the
audio chain to clean (the speech sample of `deepzoom samples fetch` plus a fan-like noise made here; nothing
is downloaded)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio_io import Audio, read_audio
from .video_io import AUDIO_RATE, read_soundtrack, to_rate

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
    from .samples import sample

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
