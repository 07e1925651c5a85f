"""`deepzoom eval automute`: the voice gate on real speech with long noise-only stretches
(audio_data.automute_set: typing, music, machines at 10 dB; babble is speech, so it is left out).

The mixture runs at 48 kHz through the streaming AutoMute in 1024-sample blocks, latency compensated.
The gate's gain is read per 1 ms as rms(output) / rms(input). Against the clean speech:
- speech frames (10 ms, clean energy within 40 dB of the utterance's peak): muted when the gain < 0.5;
- noise-only frames (outside the utterances, leaving out the lookahead before and the configured
  hangover + release after each one, which are the gate working as designed): passed when gain >= 0.5;
- onset delay: from the first 1 ms of each utterance above -40 dB to the gate's gain reaching 0.5
  (negative: the gate was already open, thanks to the lookahead)."""

from __future__ import annotations

import numpy as np

from .. import audio_data
from ..engine.audio.automute import AutoMute
from ..engine.audio.stream import process_signal
from ..settings import AutoMuteSettings

EVAL_RATE = 48000
ONSET_DB = -40.0
TARGETS = {"speech_muted_pct": 1.0, "noise_passed_pct": 10.0, "onset_delay_ms": 30.0}  # upper bounds


def _frames(x: np.ndarray, size: int) -> np.ndarray:
    n = len(x) // size
    return np.sqrt(np.mean(x[: n * size].reshape(n, size).astype(np.float64) ** 2, axis=1) + 1e-20)


def gate_gain(noisy16: np.ndarray, settings: AutoMuteSettings, frame_ms: float = 1.0) -> np.ndarray:
    x = audio_data.to_rate(noisy16, audio_data.RATE, EVAL_RATE)
    y = process_signal(AutoMute(settings, EVAL_RATE, 1), x[None])[0]
    size = int(EVAL_RATE * frame_ms / 1000)
    return _frames(y, size) / _frames(x, size)


def judge(mx: audio_data.Mixture, settings: AutoMuteSettings) -> dict:
    gain1 = gate_gain(mx.noisy, settings)  # per 1 ms
    gain10 = gain1[: len(gain1) // 10 * 10].reshape(-1, 10).mean(axis=1)
    clean10 = _frames(mx.clean, audio_data.RATE // 100)
    clean1 = _frames(mx.clean, audio_data.RATE // 1000)
    n = min(len(gain10), len(clean10))
    speech = np.zeros(n, bool)
    noise_only = np.ones(n, bool)
    noise_any = np.ones(n, bool)
    onsets = []
    before = int(np.ceil(settings.lookahead_ms / 10))
    after = int(np.ceil((settings.hangover_ms + settings.release_ms) / 10))
    for a, b in mx.spans:
        fa, fb = a // 160, b // 160 + 1
        peak = clean10[fa:fb].max()
        speech[fa:fb] |= clean10[fa:fb] > peak * 10 ** (-40 / 20)
        noise_only[max(fa - before, 0):fb + after] = False
        noise_any[fa:fb] = False
        ms_a = a // 16
        active = np.flatnonzero(clean1[ms_a:b // 16] > clean1[ms_a:b // 16].max() * 10 ** (ONSET_DB / 20))
        t0 = ms_a + int(active[0])
        window = gain1[t0 - 200:t0 + 500]
        opened = np.flatnonzero(window >= 0.5)
        onsets.append(float(opened[0] - 200) if len(opened) else 500.0)
    noise_only[n:] = False
    return {"speech_frames": int(speech[:n].sum()), "speech_muted": int((gain10[:n][speech[:n]] < 0.5).sum()),
            "noise_frames": int(noise_only[:n].sum()), "noise_passed": int((gain10[:n][noise_only[:n]] >= 0.5).sum()),
            "noise_frames_all": int(noise_any[:n].sum()),
            "noise_passed_all": int((gain10[:n][noise_any[:n]] >= 0.5).sum()), "onsets_ms": onsets}


def run(settings: AutoMuteSettings | None = None, mixtures: list | None = None, progress=print) -> dict:
    settings = settings or AutoMuteSettings()
    mixtures = mixtures if mixtures is not None else audio_data.automute_set()
    rows = []
    for mx in mixtures:
        r = judge(mx, settings)
        rows.append(r)
        progress(f"{mx.name}: speech muted {r['speech_muted']}/{r['speech_frames']} frames, noise passed "
                 f"{r['noise_passed']}/{r['noise_frames']}, onsets {', '.join(f'{o:+.0f}' for o in r['onsets_ms'])} ms")

    def pct(k, total):
        return round(100 * sum(r[k] for r in rows) / max(sum(r[total] for r in rows), 1), 2)

    onsets = [o for r in rows for o in r["onsets_ms"]]
    result = {"name": "automute", "eval_rate": EVAL_RATE, "speech_muted_pct": pct("speech_muted", "speech_frames"),
              "noise_passed_pct": pct("noise_passed", "noise_frames"),
              "noise_passed_pct_incl_hangover": pct("noise_passed_all", "noise_frames_all"),
              "onset_delay_ms": round(max(onsets), 1), "onset_delay_ms_median": round(float(np.median(onsets)), 1),
              "speech_seconds": round(sum(r["speech_frames"] for r in rows) / 100, 1),
              "noise_only_seconds": round(sum(r["noise_frames"] for r in rows) / 100, 1),
              "lookahead_ms": settings.lookahead_ms, "hangover_ms": settings.hangover_ms}
    for mx, r in zip(mixtures, rows):
        result[f"noise_passed_pct_{mx.noise}"] = round(100 * r["noise_passed"] / max(r["noise_frames"], 1), 2)
    result["targets_met"] = {k: bool(result[k] <= v) for k, v in TARGETS.items()}
    result["n"] = len(onsets)
    return result
