"""`deepzoom eval automute`: the voice gate on real speech with long noise-only stretches
(audio_data.automute_set: typing, music, machines at 10 dB; babble is speech, so it is left out).

Three sets: the issue's proof (two utterances per noise, 6 onsets), a wider one, every one of the 20
utterances in each noise (60 onsets, keys ending in `_all`) -- both were used while tuning the gate -- and the
held-out report set (keys starting `report_`): half of the utterances (every other one of each voice), in noise
from the other half of each recording (typing: the other keys) and another seed, never used to choose anything.
`onset_threshold` is chosen by `tune()` on the tune set (the other half of everything), by a fixed rule
(`choose_onset_threshold`).

The mixture runs at 48 kHz through the streaming AutoMute in 1024-sample blocks, latency compensated.
The gate's gain is read per 1 ms as rms(output) / rms(input). Against the clean speech of each utterance,
"active" means energy above max(peak - 40 dB, recording floor + 15 dB), the floor being the 5th percentile
of the utterance's 10 ms frames (LibriVox recordings have room noise 30-40 dB under the peak, which is not
speech; the Asterisk prompts' floor is ~-70 dB, so there the -40 dB term decides):
- speech frames (10 ms, active): muted when the gain < 0.5;
- noise-only frames (outside the utterances, leaving out the lookahead before and the configured
  hangover + release after each one, which are the gate working as designed): passed when gain >= 0.5;
  frames of digital silence (the typing noise's gaps between key presses) are not counted: 0/0 is no gain;
- onset delay: from the first active 1 ms of the utterance (t0) to the first 1 ms at or after t0 whose gain
  is >= 0.5. If the gate is already open at t0, the delay is negative: minus how long the open stretch
  containing t0 had lasted (at most 200 ms; informative only: a gate opened by noise shows as -200)."""

from __future__ import annotations

import warnings

import numpy as np

from ..engine.audio.automute import AutoMute
from ..engine.audio.stream import process_signal
from ..settings import AutoMuteSettings
from . import audio_data

EVAL_RATE = 48000
PEAK_DB, FLOOR_DB, FLOOR_PCT = -40.0, 15.0, 5
TARGETS = {"speech_muted_pct": 1.0, "noise_passed_pct": 10.0, "onset_delay_ms": 30.0}  # upper bounds
LEAD_MS = 200  # how far before t0 an open gate is traced back
SILENT = 1e-6  # input rms (-120 dBFS) below which a frame is digital silence


def _frames(x: np.ndarray, size: int) -> np.ndarray:
    n = len(x) // size
    return np.sqrt(np.mean(x[: n * size].reshape(n, size).astype(np.float64) ** 2, axis=1) + 1e-20)


def active_level(clean_utterance: np.ndarray) -> float:
    """RMS above which the clean utterance counts as speech (see the module docstring)."""
    rms10 = _frames(clean_utterance, audio_data.RATE // 100)
    return float(max(rms10.max() * 10 ** (PEAK_DB / 20), np.percentile(rms10, FLOOR_PCT) * 10 ** (FLOOR_DB / 20)))


def onset_delay(gain1: np.ndarray, t0: int) -> float:
    """ms from t0 until the per-ms gain reaches 0.5; negative when already open (see the module docstring)."""
    is_open = gain1 >= 0.5
    if is_open[t0]:
        closed = np.flatnonzero(~is_open[max(t0 - LEAD_MS, 0):t0])
        return -float(LEAD_MS if not len(closed) else min(t0, LEAD_MS) - closed[-1] - 1)
    after = np.flatnonzero(is_open[t0:])
    return float(after[0]) if len(after) else float(len(gain1) - t0)


def gate_gain(noisy16: np.ndarray, settings: AutoMuteSettings, frame_ms: float = 1.0) -> np.ndarray:
    """The gate's gain per frame; NaN where the input is digital silence (the typing noise has gaps of
    exact zeros between key presses: nothing to gate there, and 0/0 says nothing about the gate)."""
    x = audio_data.to_rate(noisy16, audio_data.RATE, EVAL_RATE)
    y = process_signal(AutoMute(settings, EVAL_RATE, 1), x[None])[0]
    size = int(EVAL_RATE * frame_ms / 1000)
    rms_in = _frames(x, size)
    return np.where(rms_in > SILENT, _frames(y, size) / rms_in, np.nan)


def _ffill(x: np.ndarray) -> np.ndarray:
    """NaN -> the last value before it (0 at the start)."""
    idx = np.where(np.isnan(x), 0, np.arange(len(x)))
    return np.nan_to_num(x[np.maximum.accumulate(idx)])


def judge(mx: audio_data.Mixture, settings: AutoMuteSettings) -> dict:
    gain1 = gate_gain(mx.noisy, settings)  # per 1 ms, NaN in digital silence
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-silent 10 ms frames: NaN, judged neither way
        gain10 = np.nanmean(gain1[: len(gain1) // 10 * 10].reshape(-1, 10), axis=1)
    silent10 = np.isnan(gain10)
    gain1 = _ffill(gain1)
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
        level = active_level(mx.clean[a:b])
        fa, fb = a // 160, b // 160 + 1
        speech[fa:fb] |= clean10[fa:fb] > level
        noise_only[max(fa - before, 0):fb + after] = False
        noise_any[fa:fb] = False
        t0 = a // 16 + int(np.flatnonzero(clean1[a // 16:b // 16] > level)[0])
        onsets.append(onset_delay(gain1, t0))
    noise_only[n:] = False
    noise_only[:n] &= ~silent10[:n]
    noise_any[:n] &= ~silent10[:n]
    return {"speech_frames": int(speech[:n].sum()), "speech_muted": int((gain10[:n][speech[:n]] < 0.5).sum()),
            "noise_frames": int(noise_only[:n].sum()), "noise_passed": int((gain10[:n][noise_only[:n]] >= 0.5).sum()),
            "noise_frames_all": int(noise_any[:n].sum()),
            "noise_passed_all": int((gain10[:n][noise_any[:n]] >= 0.5).sum()), "onsets_ms": onsets}


def _summary(mixtures: list, rows: list[dict]) -> dict:
    def pct(k, total):
        return round(100 * sum(r[k] for r in rows) / max(sum(r[total] for r in rows), 1), 2)

    onsets = [o for r in rows for o in r["onsets_ms"]]
    out = {"speech_muted_pct": pct("speech_muted", "speech_frames"),
           "noise_passed_pct": pct("noise_passed", "noise_frames"),
           "noise_passed_pct_incl_hangover": pct("noise_passed_all", "noise_frames_all"),
           "onset_delay_ms": round(max(onsets), 1), "onset_delay_ms_median": round(float(np.median(onsets)), 1),
           "onset_delay_ms_p90": round(float(np.percentile(onsets, 90)), 1),
           "onsets_over_30ms": int(sum(o > TARGETS["onset_delay_ms"] for o in onsets)),
           "speech_seconds": round(sum(r["speech_frames"] for r in rows) / 100, 1),
           "noise_only_seconds": round(sum(r["noise_frames"] for r in rows) / 100, 1)}
    for mx, r in zip(mixtures, rows):
        out[f"noise_passed_pct_{mx.noise}"] = round(100 * r["noise_passed"] / max(r["noise_frames"], 1), 2)
    out["targets_met"] = {k: bool(out[k] <= v) for k, v in TARGETS.items()}
    out["n"] = len(onsets)
    return out


def _rows(mixtures: list, settings: AutoMuteSettings, progress) -> list[dict]:
    rows = []
    for mx in mixtures:
        r = judge(mx, settings)
        rows.append(r)
        progress(f"{mx.name}: speech muted {r['speech_muted']}/{r['speech_frames']} frames, noise passed "
                 f"{r['noise_passed']}/{r['noise_frames']}, onsets {', '.join(f'{o:+.0f}' for o in r['onsets_ms'])} ms")
    return rows


# ---- honest tuning: a tune set and a report set that share no utterance, no noise segment and no seed --------
TUNE, REPORT = "tune", "report"
SPLIT_SEEDS = {TUNE: 101, REPORT: 202}  # noise draws (offsets, typing rhythm) of each part
SPLIT_DRAWS = 2  # each utterance of a part appears once per draw and noise (in another order, over other noise)
ONSET_CANDIDATES = (0.08, 0.10, 0.12, 0.15, 0.20, 0.25)  # onset_threshold values tried on the tune set
# the rule that picks onset_threshold on the tune set, fixed before the report set was looked at: fewest onsets
# later than 30 ms among the values whose noise passed stays <= NOISE_BUDGET_PCT (three quarters of the 10 %
# target, room for other recordings) and speech muted <= the target; ties go to the higher (quieter) value
NOISE_BUDGET_PCT = 7.5
CHOSEN_ONSET_THRESHOLD = 0.15  # what tune() chose (re-run 2026-12-03 after the VAD resampler change; 0.2 before)


def split_utterances(part: str) -> list[str]:
    """Every other utterance of each voice (US English, Italian, LibriVox) for `part`: the two parts share none."""
    groups: dict[str, list[str]] = {}
    for name in audio_data.utterances():
        groups.setdefault(name.split("/")[0] if "/" in name else "librivox", []).append(name)
    first = part == TUNE
    return [n for names in groups.values() for i, n in enumerate(names) if (i % 2 == 0) == first]


def noise_segment(kind: str, part: str) -> tuple[int, int]:
    """Sample range [a, b) of the music track / the machine loop that `part` draws its noise from (the halves)."""
    n = len(audio_data.music_noise() if kind == "music" else audio_data.machine_noise())
    return (0, n // 2) if part == TUNE else (n // 2, n)


def split_keys(part: str) -> list[int]:
    """Indices of the key sounds (bucklespring: one per key) that `part`'s typing uses (every other key)."""
    press, _ = audio_data.key_sounds()
    return [k for k in range(len(press)) if (k % 2 == 0) == (part == TUNE)]


def _typing(n: int, keys: list[int], rng: np.random.Generator) -> np.ndarray:
    """Key presses and releases of `keys` only: bursts of 5-8 keys/s with pauses of 0.4-0.9 s."""
    press, release = audio_data.key_sounds()
    out = np.zeros(n + audio_data.RATE, np.float32)
    t = int(rng.integers(audio_data.RATE // 5))
    while t < n:
        k = keys[int(rng.integers(len(keys)))]
        up = t + int(rng.uniform(0.05, 0.12) * audio_data.RATE)
        for snd, at in ((press[k], t), (release[min(k, len(release) - 1)], up)):
            m = min(len(snd), len(out) - at)
            out[at:at + m] += snd[:m] * rng.uniform(0.6, 1.0)
        pause = rng.uniform(0.4, 0.9) if rng.random() < 0.1 else rng.uniform(0.12, 0.2)
        t += int(pause * audio_data.RATE)
    return out[:n]


def split_noise(kind: str, part: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n samples of `kind` from `part`'s own half of the recording (typing: its own keys), random offset."""
    if kind == "typing":
        return _typing(n, split_keys(part), rng)
    a, b = noise_segment(kind, part)
    src = (audio_data.music_noise() if kind == "music" else audio_data.machine_noise())[a:b]
    start = int(rng.integers(len(src)))
    return np.tile(src, (start + n) // len(src) + 1)[start:start + n].astype(np.float32)


def split_set(part: str, draws: int = SPLIT_DRAWS, noises: tuple[str, ...] = ("typing", "music", "machines"),
              snr_db: float = 10.0, gap_s: float = 3.0) -> list[audio_data.Mixture]:
    """`part`'s mixtures: per draw and noise, each of its utterances once (order rotated per draw and noise)
    between gap_s noise-only stretches, at snr_db, noise from its own segment and seed."""
    rng = np.random.default_rng(SPLIT_SEEDS[part])
    names = split_utterances(part)
    gap = np.zeros(int(gap_s * audio_data.RATE), np.float32)
    out = []
    for d in range(draws):
        for j, kind in enumerate(noises):
            shift = (3 * j + 5 * d) % len(names)
            parts, spans, t = [gap], [], len(gap)
            for name in names[shift:] + names[:shift]:
                x = audio_data.speech(name)
                parts += [x, gap]
                spans.append((t, t + len(x)))
                t += len(x) + len(gap)
            clean = np.concatenate(parts)
            c, y = audio_data.mix(clean, split_noise(kind, part, len(clean), rng), snr_db, spans)
            out.append(audio_data.Mixture(f"automute_{part}{d}_{kind}_{snr_db:g}dB", c, y, snr_db, kind,
                                          "+".join(names[shift:] + names[:shift]), spans))
    return out


def choose_onset_threshold(scores: dict[float, dict]) -> float:
    """The rule above over {onset_threshold: summary on the tune set}."""
    ok = {v: s for v, s in scores.items()
          if s["noise_passed_pct"] <= NOISE_BUDGET_PCT and s["speech_muted_pct"] <= TARGETS["speech_muted_pct"]}
    if not ok:
        raise ValueError("no onset_threshold keeps the tune set within the noise budget")
    return min(ok, key=lambda v: (ok[v]["onsets_over_30ms"], -v))


def tune(settings: AutoMuteSettings | None = None, draws: int = SPLIT_DRAWS, progress=print) -> dict:
    """onset_threshold chosen on the tune set only; every candidate's figures there."""
    settings = settings or AutoMuteSettings()
    mixtures = split_set(TUNE, draws)
    scores = {}
    for v in ONSET_CANDIDATES:
        scores[v] = _summary(mixtures, _rows(mixtures, settings.model_copy(update={"onset_threshold": v}),
                                             lambda *_: None))
        progress(f"tune set, onset_threshold {v:.2f}: {scores[v]['onsets_over_30ms']}/{scores[v]['n']} onsets "
                 f"> 30 ms (worst {scores[v]['onset_delay_ms']:.0f}), noise passed {scores[v]['noise_passed_pct']} %, "
                 f"speech muted {scores[v]['speech_muted_pct']} %")
    return {"chosen": choose_onset_threshold(scores), "scores": scores}


def report(settings: AutoMuteSettings | None = None, draws: int = SPLIT_DRAWS, progress=print) -> dict:
    """The report set (never used to choose anything) under `settings`."""
    settings = settings or AutoMuteSettings()
    mixtures = split_set(REPORT, draws)
    return _summary(mixtures, _rows(mixtures, settings, progress))


def run(settings: AutoMuteSettings | None = None, mixtures: list | None = None, wide: bool = True,
        split: bool = True, progress=print) -> dict:
    """The issue's set (or `mixtures`), plus the every-utterance set under `_all` keys when `wide`, plus the
    held-out report set under `report_` keys when `split` (the default settings; `tune()` chose their
    onset_threshold on the tune set)."""
    settings = settings or AutoMuteSettings()
    mixtures = mixtures if mixtures is not None else audio_data.automute_set()
    result = {"name": "automute", "eval_rate": EVAL_RATE, **_summary(mixtures, _rows(mixtures, settings, progress)),
              "lookahead_ms": settings.lookahead_ms, "hangover_ms": settings.hangover_ms,
              "onset_threshold": settings.onset_threshold, "threshold": settings.threshold}
    if wide:
        every = audio_data.automute_set(talks=None)
        result.update({f"{k}_all": v for k, v in _summary(every, _rows(every, settings, progress)).items()})
    if split:
        result.update({f"report_{k}": v for k, v in report(settings, progress=progress).items()})
    return result
