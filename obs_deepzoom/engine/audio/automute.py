"""Voice-activity auto-mute: silero VAD (OpenVINO) judges 32 ms windows of 16 kHz audio every 16 ms (two
interleaved VAD streams, each with its own state, half a window apart) whether someone talks; the audio,
delayed by a short lookahead, is gated with smooth fades so word onsets are not clipped.

Timeline: every input sample has an absolute index; the gate keeps the runs of indices it must pass. A
window judged speech (probability >= `threshold`, then >= threshold - 0.15 while speech lasts) opens the
gate from its first sample (minus the attack fade) to its last sample plus the hangover; a window that only
reaches `onset_threshold` opens it just for itself, so a soft first syllable passes before the VAD is sure
(a false alarm in noise costs one window). The output lags the input by the lookahead, so by the time a
sample leaves, the VAD has normally judged it; if not (lookahead shorter than a window), the gate keeps its
current state for it."""

from __future__ import annotations

import numpy as np

from ...settings import AutoMuteSettings
from ..models import SileroVad
from .resample import StreamResampler

HYSTERESIS = 0.15
VAD_ATTEN_DB = 60.0  # stopband of the resampler that feeds the voice detector
HOP = SileroVad.CHUNK // 2  # 16 ms at 16 kHz: a decision every half window


class AutoMute:
    name = "automute"
    kind = "audio"
    settings_type = AutoMuteSettings
    obs_title = "DeepZoom Auto-Mute"

    def __init__(self, settings: AutoMuteSettings | None = None, rate: int = 48000, channels: int = 2,
                 device: str = "CPU"):
        self.settings = settings or AutoMuteSettings()
        self.rate, self.channels = rate, channels
        self.device = device
        self.vad = SileroVad(device, streams=2, precision=self.settings.precision)
        self.reset()

    def reset(self) -> None:
        self.vad.reset()
        # the resampled sound only feeds the voice detector (the output is the input, delayed and gated): 60 dB
        # of stopband is plenty there, and its shorter filter keeps the gate's timing independent of OBS's
        # 1024-frame blocks at the default lookahead
        self.resampler = StreamResampler(self.rate, SileroVad.RATE, atten_db=VAD_ATTEN_DB)
        self.lookahead = int(round(self.settings.lookahead_ms * self.rate / 1000))
        self._tail = np.zeros((self.channels, self.lookahead), np.float32)
        self._pending = np.zeros(0, np.float32)  # 16 kHz samples from the next window's start on
        self._judged_16k = 0  # 16 kHz index of the next window's start
        self._in = 0  # input samples received so far
        self._out = 0  # output samples produced (output sample i = input sample i - lookahead)
        self._runs: list[list[int]] = []  # [from, until) input-index runs of an open gate not yet all output
        self._judged_until = 0  # input index up to which the VAD has spoken
        self._gain = self._floor()
        self.speaking = False
        self.last_prob = 0.0
        self.stats = {"chunks": 0, "speech_chunks": 0, "onset_chunks": 0}

    @property
    def latency_ms(self) -> float:
        return 1000 * self.lookahead / self.rate

    def _floor(self) -> float:
        s = self.settings
        return 0.0 if s.mode == "mute" else 10 ** (-s.duck_db / 20)

    def update(self, settings: AutoMuteSettings) -> None:
        relatch = settings.lookahead_ms != self.settings.lookahead_ms
        if settings.precision != self.settings.precision:
            self.vad = SileroVad(self.device, streams=2, precision=settings.precision)
            relatch = True
        self.settings = settings
        if relatch:
            self.reset()

    def _judge(self, mono: np.ndarray) -> None:
        s = self.settings
        self._pending = np.concatenate([self._pending, self.resampler(mono)])
        delay = self.resampler.delay_s
        attack, hangover = int(s.attack_ms * self.rate / 1000), int(s.hangover_ms * self.rate / 1000)
        while len(self._pending) >= SileroVad.CHUNK:
            stream = (self._judged_16k // HOP) % 2  # windows alternate between the two VAD streams
            p = self.vad(self._pending[: SileroVad.CHUNK], stream)
            self._pending = self._pending[HOP:]
            self.last_prob = p
            start_s = self._judged_16k / SileroVad.RATE - delay
            end_s = start_s + SileroVad.CHUNK / SileroVad.RATE
            self._judged_16k += HOP
            start, end = int(start_s * self.rate), int(end_s * self.rate)
            self.speaking = p >= (s.threshold - HYSTERESIS if self.speaking else s.threshold)
            self.stats["chunks"] += 1
            if self.speaking or p >= s.onset_threshold:
                until = end + (hangover if self.speaking else 0)
                if self._runs and self._runs[-1][1] >= start:  # the current run goes on
                    self._runs[-1][1] = max(self._runs[-1][1], until)
                else:  # the gate opens
                    self._runs.append([start - attack, until])
                self.stats["speech_chunks" if self.speaking else "onset_chunks"] += 1
            self._judged_until = end

    def _targets(self, first: int, n: int) -> np.ndarray:
        """Gate target (1 or the floor) for input samples first .. first + n."""
        idx = np.arange(first, first + n)
        opened = np.zeros(n, bool)
        for a, b in self._runs:
            opened |= (idx >= a) & (idx < b)
        self._runs = [r for r in self._runs[:-1] if r[1] > first + n] + self._runs[-1:]  # drop runs output
        unknown = idx >= self._judged_until  # not judged yet: keep the current state
        opened |= unknown & self.speaking
        return np.where(opened, 1.0, self._floor()).astype(np.float32)

    def _smooth(self, targets: np.ndarray) -> np.ndarray:
        """One-pole fades towards each run of constant target (closed form per run, no per-sample loop)."""
        s = self.settings
        out = np.empty_like(targets)
        change = np.flatnonzero(np.diff(targets)) + 1
        bounds = np.concatenate([[0], change, [len(targets)]])
        g = self._gain
        for a, b in zip(bounds[:-1], bounds[1:]):
            target = float(targets[a])
            tau = (s.attack_ms if target > g else s.release_ms) / 1000 * self.rate / 3  # ~95 % in the fade time
            t = np.arange(1, b - a + 1, dtype=np.float32)
            out[a:b] = target + (g - target) * np.exp(-t / max(tau, 1e-3))
            g = float(out[b - 1])
        self._gain = g
        return out

    def process(self, block: np.ndarray) -> np.ndarray:
        """block: float32 (channels, n) -> same shape, delayed by `latency_ms`."""
        block = np.asarray(block, np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) float32 audio, got {block.shape}")
        n = block.shape[1]
        self._judge(block.mean(axis=0))
        self._in += n
        joined = np.concatenate([self._tail, block], axis=1)
        delayed, self._tail = joined[:, :n], joined[:, n:]
        first_input = self._out - self.lookahead  # input index of the first output sample
        self._out += n
        if not self.settings.enabled:
            return delayed
        gains = self._smooth(self._targets(first_input, n))
        return delayed * gains
