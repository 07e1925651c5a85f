"""`deepzoom bench denoise|automute`: real-time factor on ONE core (OpenVINO INFERENCE_NUM_THREADS=1,
cv2.setNumThreads(1)) at 48 kHz stereo in OBS's 1024-frame blocks, on real speech mixtures, against RNNoise
(Xiph's C library from the pyrnnoise wheel) in the same process: one RNNoise per channel, as OBS's own
RNNoise filter runs it; for auto-mute the peer is RNNoise too (its frame call returns the voice probability)."""

from __future__ import annotations

import time

import cv2
import numpy as np

from .. import audio_data
from ..engine.audio.stream import OBS_BLOCK
from ..settings import AutoMuteSettings, DenoiseSettings
from . import peak_rss_mb, summary

RATE, CHANNELS = 48000, 2


def _signal(seconds: float) -> np.ndarray:
    """Stereo 48 kHz speech in noise: the evaluation mixtures end to end, right channel 3 ms later."""
    parts, total = [], 0.0
    for mx in audio_data.denoise_set(24):
        parts.append(mx.noisy)
        total += len(mx.noisy) / audio_data.RATE
        if total >= seconds:
            break
    mono = audio_data.to_rate(np.concatenate(parts), audio_data.RATE, RATE)[: int(seconds * RATE)]
    return np.stack([mono, np.roll(mono, int(0.003 * RATE))]).astype(np.float32)


def _time_blocks(process, x: np.ndarray, rounds: int) -> list[float]:
    ms = []
    for _ in range(rounds):
        for i in range(0, x.shape[1] - OBS_BLOCK + 1, OBS_BLOCK):
            block = x[:, i:i + OBS_BLOCK]
            t = time.perf_counter()
            process(block)
            ms.append((time.perf_counter() - t) * 1e3)
    return ms


def _figures(ms: list[float]) -> dict:
    s = summary(ms)
    s["rtf"] = round(float(np.median(ms)) / (1000 * OBS_BLOCK / RATE), 4)
    s["rtf_mean"] = round(float(np.mean(ms)) / (1000 * OBS_BLOCK / RATE), 4)
    return s


def _rnnoise_peer():
    from ..evaluate.peers import RNNoise

    peers = [RNNoise() for _ in range(CHANNELS)]
    return lambda block: [p.process(ch) for p, ch in zip(peers, block)]


def run(effect: str = "denoise", seconds: float = 20.0, rounds: int = 3, peer: bool = True, progress=print) -> dict:
    from ..engine.audio.automute import AutoMute
    from ..engine.audio.denoise import Denoise

    cv2.setNumThreads(1)
    x = _signal(seconds)
    configs = ({"best": DenoiseSettings(mode="best"), "light": DenoiseSettings(mode="light"),
                "best_per_channel": DenoiseSettings(mode="best", stereo="per_channel"),
                # `best` without its refinement stage (DeepFilterNet3 alone)
                "dfn3": DenoiseSettings().model_copy(update={"mode": "dfn3"}),
                # the previous best mode (DTLN + GTCRN ensemble), measured alongside
                "dtln_gtcrn": DenoiseSettings().model_copy(update={"mode": "dtln_gtcrn"})}
               if effect == "denoise" else {"default": AutoMuteSettings()})
    result: dict = {"name": effect, "rate": RATE, "channels": CHANNELS, "block": OBS_BLOCK,
                    "audio_seconds": round(x.shape[1] / RATE, 1), "rounds": rounds, "threads": 1}
    per: dict[str, dict] = {}
    for name, settings in configs.items():
        cls = Denoise if effect == "denoise" else AutoMute
        fx = cls(settings, RATE, CHANNELS, threads=1) if effect == "denoise" else cls(settings, RATE, CHANNELS)
        _time_blocks(fx.process, x[:, : 20 * OBS_BLOCK], 1)  # warm-up
        per[name] = {**_figures(_time_blocks(fx.process, x, rounds)), "latency_ms": round(fx.latency_ms, 2)}
        progress(f"{effect} {name}: {per[name]['ms_median']:.3f} ms per {OBS_BLOCK}-frame block, "
                 f"RTF {per[name]['rtf']:.4f}, latency {per[name]['latency_ms']} ms")
    default = per["best" if effect == "denoise" else "default"]
    result.update({k: default[k] for k in ("ms_median", "ms_p95", "fps", "rtf", "rtf_mean", "latency_ms")})
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)  # ours only: before the peer runs
    for name, figs in per.items():
        for k in ("ms_median", "rtf", "latency_ms"):
            result[f"{k}_{name}"] = figs[k]
    if peer:
        process = _rnnoise_peer()
        _time_blocks(process, x[:, : 20 * OBS_BLOCK], 1)
        p = _figures(_time_blocks(process, x, rounds))
        result.update({"peer": "RNNoise 0.2 (pyrnnoise==0.4.5 librnnoise.so), one per channel",
                       "peer_ms_median": p["ms_median"], "peer_ms_p95": p["ms_p95"], "peer_rtf": p["rtf"],
                       "peer_latency_ms": 20.0, "peer_ratio": round(result["ms_median"] / p["ms_median"], 3)})
        for name in per:
            result[f"peer_ratio_{name}"] = round(per[name]["ms_median"] / p["ms_median"], 3)
        progress(f"peer RNNoise: {p['ms_median']:.3f} ms per block, RTF {p['rtf']:.4f}")
    return result
