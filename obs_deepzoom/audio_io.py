"""Reading and writing WAV/FLAC audio as float32 (channels, n), with one-line errors and atomic writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import InputError

AUDIO_EXT = {".wav", ".flac"}
RATES = (16000, 44100, 48000)
MAX_CHANNELS = 2


@dataclass
class Audio:
    samples: np.ndarray  # float32 (channels, n) in [-1, 1]
    rate: int
    subtype: str = "PCM_16"

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.rate


def _soundfile():
    try:
        import soundfile
    except ImportError as exc:  # a broken install: name the fix
        raise InputError("reading audio needs the 'soundfile' package: pip install soundfile") from exc
    return soundfile


def check_audio_path(path: Path, output: bool = False) -> Path:
    path = Path(path)
    if path.suffix.lower() not in AUDIO_EXT:
        raise InputError(f"{path}: unsupported audio file type '{path.suffix or '(none)'}' "
                         f"(use {', '.join(sorted(AUDIO_EXT))})")
    if output and not path.parent.exists():
        raise InputError(f"{path.parent}: output directory does not exist")
    if not output and not path.is_file():
        raise InputError(f"{path}: no such file")
    return path


def read_audio(path: Path, rates: tuple[int, ...] = RATES) -> Audio:
    """Mono or stereo WAV/FLAC at one of `rates`; raises InputError with the reason otherwise."""
    sf = _soundfile()
    path = check_audio_path(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
        subtype = sf.info(str(path)).subtype
    except Exception as exc:  # libsndfile's reason, first line
        raise InputError(f"{path}: not a readable audio file ({str(exc).splitlines()[0][:120]})") from exc
    if data.shape[0] == 0:
        raise InputError(f"{path}: the audio file is empty")
    if data.shape[1] > MAX_CHANNELS:
        raise InputError(f"{path}: {data.shape[1]} channels; only mono and stereo are supported")
    if rate not in rates:
        raise InputError(f"{path}: sample rate {rate} Hz is not supported (use {', '.join(map(str, rates))} Hz)")
    if not np.isfinite(data).all():
        raise InputError(f"{path}: the audio contains NaN or infinite samples")
    return Audio(np.ascontiguousarray(data.T), int(rate), subtype if subtype in ("PCM_16", "PCM_24", "FLOAT") else
                 "PCM_16")


def clipped_fraction(samples: np.ndarray, level: float = 0.999) -> float:
    """Share of samples at or beyond full scale (a clipped recording hurts every denoiser)."""
    return float(np.mean(np.abs(samples) >= level)) if samples.size else 0.0


def write_audio(path: Path, audio: Audio) -> Path:
    """Write atomically: a temporary name renamed at the end, so a failed run leaves no partial file."""
    sf = _soundfile()
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    fmt = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
    subtype = "PCM_24" if fmt == "FLAC" and audio.subtype == "FLOAT" else audio.subtype
    try:
        sf.write(str(tmp), np.clip(audio.samples, -1, 1).T, audio.rate, subtype=subtype, format=fmt)
        os.replace(tmp, path)
    except Exception as exc:
        raise InputError(f"{path}: could not write the audio ({str(exc).splitlines()[0][:120]})") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return path
