"""`deepzoom bench denoise|automute`: real-time factor on ONE core (OpenVINO INFERENCE_NUM_THREADS=1,
cv2.setNumThreads(1)) at 48 kHz stereo in OBS's 1024-frame blocks, on real speech mixtures, against outside
peers in the same process, each wrapped as a block filter like ours (same-size blocks in and out).

- denoise: RNNoise (Xiph's C library from the pyrnnoise wheel), compared like for like twice: on the mono mix
  (one RNNoise, as our default mode runs one network on the mix) against `best`, and one RNNoise per channel
  (as OBS's own RNNoise filter runs it) against `best` per channel.
- automute: WebRTC's voice-activity detector (webrtcvad-wheels) gating 30 ms frames of the mono mix with the
  same hangover, the usual lightweight voice gate.

Every latency is measured: the lag at which the output correlates best with the input."""

from __future__ import annotations

import time
from collections.abc import Callable

import cv2
import numpy as np

from ..engine.audio.stream import OBS_BLOCK
from ..errors import DeepZoomError
from ..evaluate import audio_data
from ..settings import AutoMuteSettings, DenoiseSettings
from . import peak_rss_mb, summary

RATE, CHANNELS = 48000, 2
MAX_LAG_MS = 200.0
RNNOISE_NAME = "RNNoise 0.2 (pyrnnoise==0.4.5 librnnoise.so)"
WEBRTCVAD_FRAME_MS = 30


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


def measure_latency_ms(process: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> float:
    """Stream x (channels, n) through a FRESH block filter and return the lag (ms) at which the output's mono
    mix correlates best with the input's, searched over 0..MAX_LAG_MS."""
    n = x.shape[1] // OBS_BLOCK * OBS_BLOCK
    out = np.concatenate([process(x[:, i:i + OBS_BLOCK]) for i in range(0, n, OBS_BLOCK)], axis=1)
    a, b = x[:, :n].mean(axis=0).astype(np.float64), out.mean(axis=0).astype(np.float64)
    size = 1 << int(np.ceil(np.log2(2 * n)))
    corr = np.fft.irfft(np.fft.rfft(b, size) * np.conj(np.fft.rfft(a, size)), size)
    max_lag = int(MAX_LAG_MS * RATE / 1000)
    return round(1000 * int(np.argmax(corr[: max_lag + 1])) / RATE, 2)


class BlockAdapter:
    """A frame-based mono processor as a block filter: same-size (channels, n) blocks in and out. Input is
    cut into whole frames; the output is one frame late (the least that always has a full block ready)."""

    def __init__(self, frame: int, channels: int, process_frames: Callable[[np.ndarray], np.ndarray]):
        self.frame, self.process_frames = frame, process_frames
        self._pending = np.zeros((channels, 0), np.float32)
        self._ready = np.zeros((channels, frame), np.float32)

    def __call__(self, block: np.ndarray) -> np.ndarray:
        pending = np.concatenate([self._pending, block], axis=1)
        n = pending.shape[1] // self.frame * self.frame
        self._pending = pending[:, n:]
        if n:
            self._ready = np.concatenate([self._ready, self.process_frames(pending[:, :n])], axis=1)
        out, self._ready = self._ready[:, : block.shape[1]], self._ready[:, block.shape[1]:]
        return out


def rnnoise_filter(per_channel: bool) -> BlockAdapter:
    """RNNoise as a stereo block filter: one instance per channel, or one on the mono mix copied to both."""
    from ..evaluate.peers import RNNOISE_FRAME, RNNoise

    if per_channel:
        peers = [RNNoise() for _ in range(CHANNELS)]
        return BlockAdapter(RNNOISE_FRAME, CHANNELS,
                            lambda fr: np.stack([p.process(ch) for p, ch in zip(peers, fr)]))
    peer = RNNoise()
    return BlockAdapter(RNNOISE_FRAME, CHANNELS,
                        lambda fr: np.repeat(peer.process(fr.mean(axis=0))[None], CHANNELS, axis=0))


class WebRtcVadGate:
    """Voice gate on WebRTC's VAD: each 30 ms frame of the mono mix is judged (aggressiveness 3); speech opens
    the gate for the frame and the hangover after it; gain changes ramp linearly across one frame."""

    def __init__(self, settings: AutoMuteSettings, rate: int = RATE, channels: int = CHANNELS,
                 aggressiveness: int = 3):
        try:
            import webrtcvad
        except ImportError as exc:
            raise DeepZoomError("bench automute's peer needs webrtcvad (the test extra: pip install -e "
                                "'.[test]'), or use --no-peer") from exc
        self.vad = webrtcvad.Vad(aggressiveness)
        self.rate, self.frame = rate, rate * WEBRTCVAD_FRAME_MS // 1000
        self.hangover = int(np.ceil(settings.hangover_ms / WEBRTCVAD_FRAME_MS))
        self._open_for, self._gain = 0, 0.0
        self._ramp = np.linspace(0, 1, self.frame, endpoint=False, dtype=np.float32)
        self.adapter = BlockAdapter(self.frame, channels, self._frames)

    @property
    def latency_ms(self) -> float:
        return float(WEBRTCVAD_FRAME_MS)

    def _frames(self, x: np.ndarray) -> np.ndarray:
        pcm = (np.clip(x.mean(axis=0), -1, 1) * 32767).astype(np.int16)
        out = np.empty_like(x)
        for k in range(0, x.shape[1], self.frame):
            speech = self.vad.is_speech(pcm[k:k + self.frame].tobytes(), self.rate)
            self._open_for = self.hangover + 1 if speech else max(self._open_for - 1, 0)
            target = 1.0 if self._open_for else 0.0
            gain = self._gain + (target - self._gain) * self._ramp
            out[:, k:k + self.frame] = x[:, k:k + self.frame] * gain
            self._gain = target
        return out

    def process(self, block: np.ndarray) -> np.ndarray:
        return self.adapter(block)


def _peer_times(make: Callable[[], Callable], x: np.ndarray, rounds: int) -> tuple[dict, float]:
    """Block timings of a fresh peer on x (after a warm-up) and its measured latency on another fresh one."""
    process = make()
    _time_blocks(process, x[:, : 20 * OBS_BLOCK], 1)
    figs = _figures(_time_blocks(process, x, rounds))
    return figs, measure_latency_ms(make(), x[:, : 5 * RATE])


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

    def make(settings):
        if effect == "denoise":
            return Denoise(settings, RATE, CHANNELS, threads=1)
        return AutoMute(settings, RATE, CHANNELS)

    result: dict = {"name": effect, "rate": RATE, "channels": CHANNELS, "block": OBS_BLOCK,
                    "audio_seconds": round(x.shape[1] / RATE, 1), "rounds": rounds, "threads": 1}
    per: dict[str, dict] = {}
    for name, settings in configs.items():
        fx = make(settings)
        _time_blocks(fx.process, x[:, : 20 * OBS_BLOCK], 1)  # warm-up
        per[name] = {**_figures(_time_blocks(fx.process, x, rounds)), "latency_ms": round(fx.latency_ms, 2),
                     "latency_ms_measured": measure_latency_ms(make(settings).process, x[:, : 5 * RATE])}
        progress(f"{effect} {name}: {per[name]['ms_median']:.3f} ms per {OBS_BLOCK}-frame block, "
                 f"RTF {per[name]['rtf']:.4f}, latency {per[name]['latency_ms']} ms "
                 f"(measured {per[name]['latency_ms_measured']} ms)")
    main = "best" if effect == "denoise" else "default"
    default = per[main]
    result.update({k: default[k] for k in ("ms_median", "ms_p95", "fps", "rtf", "rtf_mean", "latency_ms",
                                           "latency_ms_measured")})
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)  # ours only: before the peer runs
    for name, figs in per.items():
        for k in ("ms_median", "rtf", "latency_ms", "latency_ms_measured"):
            result[f"{k}_{name}"] = figs[k]
    if not peer:
        return result
    if effect == "denoise":
        mono, mono_lat = _peer_times(lambda: rnnoise_filter(per_channel=False), x, rounds)
        both, both_lat = _peer_times(lambda: rnnoise_filter(per_channel=True), x, rounds)
        result.update({"peer": f"{RNNOISE_NAME}, one on the mono mix (like best)", "peer_kind": "outside",
                       "peer_ms_median": mono["ms_median"], "peer_ms_p95": mono["ms_p95"], "peer_rtf": mono["rtf"],
                       "peer_latency_ms": mono_lat, "peer_ratio": round(default["ms_median"] / mono["ms_median"], 3),
                       "peer_per_channel": f"{RNNOISE_NAME}, one per channel (like best_per_channel and OBS's "
                                           "RNNoise filter)",
                       "peer_per_channel_ms_median": both["ms_median"], "peer_per_channel_ms_p95": both["ms_p95"],
                       "peer_per_channel_rtf": both["rtf"], "peer_per_channel_latency_ms": both_lat,
                       "peer_ratio_per_channel": round(per["best_per_channel"]["ms_median"] / both["ms_median"], 3)})
        for name in per:  # like for like: per-channel configurations against the per-channel peer
            ref = both if name.endswith("per_channel") else mono
            result[f"peer_ratio_{name}"] = round(per[name]["ms_median"] / ref["ms_median"], 3)
        progress(f"peer RNNoise, mono mix: {mono['ms_median']:.3f} ms per block, RTF {mono['rtf']:.4f}, "
                 f"latency {mono_lat} ms; per channel: {both['ms_median']:.3f} ms, RTF {both['rtf']:.4f}")
    else:
        settings = configs[main]
        figs, lat = _peer_times(lambda: WebRtcVadGate(settings).process, x, rounds)
        result.update({"peer": f"webrtcvad {_webrtcvad_version()} (WebRTC VAD, aggressiveness 3) gating "
                               f"{WEBRTCVAD_FRAME_MS} ms frames of the mono mix, same hangover",
                       "peer_kind": "outside", "peer_ms_median": figs["ms_median"], "peer_ms_p95": figs["ms_p95"],
                       "peer_rtf": figs["rtf"], "peer_latency_ms": lat,
                       "peer_ratio": round(default["ms_median"] / figs["ms_median"], 3)})
        progress(f"peer webrtcvad gate: {figs['ms_median']:.3f} ms per block, RTF {figs['rtf']:.4f}, "
                 f"latency {lat} ms")
    return result


def _webrtcvad_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("webrtcvad-wheels", "webrtcvad"):
        try:
            return f"{dist}=={version(dist)}"
        except PackageNotFoundError:
            continue
    return "(unknown version)"
