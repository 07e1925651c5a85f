"""Motion from the voice when no face drives the avatar (camera off, face lost): the mouth opens with the
speech level, closes on fricatives and in silence, spreads on bright vowels; the head sways a little and nods
with emphasis; the eyes blink every few seconds. Without audio the same idle life (blinks, sway) continues
with the mouth closed.

Features per video frame from the last WINDOW of audio: level in dB against a slowly decaying peak, the share
of energy above 4 kHz (fricatives: s, f, sh) and the spectral centroid. An attack/release follower smooths
the opening (a mouth opens fast and closes a little slower)."""

from __future__ import annotations

import math

import numpy as np

from .motion import Motion
from .topology import CHIN, LIP_CENTRE, LIPS_INNER_LOWER, LIPS_INNER_UPPER, LIPS_OUTER_LOWER, MOUTH_CORNERS, from_euler

WINDOW_S = 0.04
STARVED_FRAMES = 6  # frames without new audio after which the voice counts as silent (the sound stopped)
RANGE_DB = 18.0  # from closed to fully open below the running peak
GATE_DB = 12.0  # the level must be this far above the noise floor to count as voice
OPEN_MAX_IOD = 0.25  # lower lip drop at full opening, inter-ocular distances
ATTACK_S, RELEASE_S = 0.03, 0.09
PEAK_DECAY_DB_S = 3.0
BLINK_S = 0.16
SWAY_DEG = (1.6, 1.0, 0.8)  # yaw, pitch, roll amplitude
SWAY_PERIOD_S = (7.3, 5.1, 11.7)
NOD_DEG = 2.5


def mouth_basis(mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """From a neutral mesh in the face frame (iod units, x along the eyes, y down): the offsets that open the
    jaw by one unit (lower lip drop in iod) and that spread the mouth corners by one unit, 468 x 3 each."""
    x, y = mesh[:, 0], mesh[:, 1]
    cx = mesh[list(MOUTH_CORNERS), 0].mean()
    opening = mesh[list(LIP_CENTRE), 1].mean()  # where the lips meet
    chin = mesh[CHIN, 1]
    jaw = np.zeros_like(mesh)
    below = np.clip((y - opening) / 0.12, 0, 1)  # reaches 1 about a centimetre under the lips
    lower_lip = np.r_[LIPS_INNER_LOWER[1:-1], LIPS_OUTER_LOWER[1:-1]]
    below[lower_lip] = 1.0
    across = np.exp(-(((x - cx) / 0.95) ** 2))
    beyond = np.clip(1 - 0.25 * (y - opening) / max(chin - opening, 1e-3), 0.75, 1)  # the chin moves a bit less
    jaw[:, 1] = below * across * beyond
    jaw[LIPS_INNER_UPPER[1:-1], 1] = -0.12  # the upper lip lifts a little
    corners = [MOUTH_CORNERS[0], MOUTH_CORNERS[1], LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1]]
    jaw[corners, 1] = 0.3
    spread = np.zeros_like(mesh)
    for c in MOUTH_CORNERS:
        d = np.linalg.norm(mesh[:, :2] - mesh[c, :2], axis=1)
        spread[:, 0] += np.sign(mesh[c, 0] - cx) * np.exp(-((d / 0.35) ** 2))
    return jaw, spread


class SpeechDriver:
    """Feed audio with `feed`, then ask `motion(t)` once per video frame (t in seconds, increasing)."""

    def __init__(self, rate: int = 48000, seed: int = 7):
        self.rate = rate
        self._buf = np.zeros(int(WINDOW_S * rate), np.float32)
        self._rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self._buf[:] = 0
        self.fed = False
        self.peak_db, self.floor_db = -30.0, -70.0
        self.open = 0.0
        self.spread = 0.0
        self._t: float | None = None
        self._starved = 0  # video frames since audio last arrived
        self._next_blink = 2.0 + self._rng.uniform(0, 2)
        self._blink_at = -10.0
        self._basis: tuple[np.ndarray, np.ndarray] | None = None
        self._basis_key: int | None = None

    @property
    def live(self) -> bool:
        """Audio is arriving (fed within the last STARVED_FRAMES frames)."""
        return self.fed and self._starved <= STARVED_FRAMES

    def feed(self, samples: np.ndarray) -> None:
        """Mono (or channels x n) float audio at `rate`, in time order."""
        x = np.asarray(samples, np.float32)
        if x.ndim == 2:
            x = x.mean(0)
        if not len(x):
            return
        self.fed = True
        self._starved = 0
        n = len(self._buf)
        if len(x) >= n:
            self._buf[:] = x[-n:]
        else:
            self._buf[:-len(x)] = self._buf[len(x):]
            self._buf[-len(x):] = x

    def features(self) -> tuple[float, float, float]:
        """Level (dBFS), share of energy above 4 kHz and spectral centroid (Hz) of the last window."""
        x = self._buf
        level = 10 * math.log10(float(np.mean(x * x)) + 1e-12)
        spec = np.abs(np.fft.rfft(x * np.hanning(len(x)).astype(np.float32))) ** 2
        freqs = np.fft.rfftfreq(len(x), 1 / self.rate)
        band = (freqs > 80) & (freqs < 8000)
        total = float(spec[band].sum()) + 1e-12
        hf = float(spec[(freqs >= 4000) & band].sum()) / total
        centroid = float((spec[band] * freqs[band]).sum()) / total
        return level, hf, centroid

    def _follow(self, dt: float) -> None:
        level, hf, centroid = self.features()
        self.peak_db = max(level, self.peak_db - PEAK_DECAY_DB_S * dt, -40.0)
        # noise floor: follows quiet levels quickly, loud ones very slowly
        rate = 2.0 if level < self.floor_db else 0.05
        self.floor_db += (level - self.floor_db) * min(1.0, rate * dt)
        voiced = np.clip((level - self.floor_db - GATE_DB) / 6.0, 0, 1)
        target = np.clip((level - (self.peak_db - RANGE_DB)) / RANGE_DB, 0, 1) ** 1.5 * voiced
        target *= 1 - 0.7 * np.clip((hf - 0.25) / 0.35, 0, 1)  # fricatives: teeth together
        spread = float(np.clip((centroid - 1400) / 1600, 0, 1)) * voiced
        tau = ATTACK_S if target > self.open else RELEASE_S
        k = 1 - math.exp(-dt / tau)
        self.open += k * (float(target) - self.open)
        self.spread += k * (spread - self.spread)

    def motion(self, t: float, neutral: np.ndarray, talking: bool = True) -> Motion:
        """Motion at time t for a portrait whose neutral mesh in the face frame (iod units) is `neutral`."""
        dt = 1 / 30 if self._t is None else float(np.clip(t - self._t, 1e-3, 0.5))
        self._t = t
        self._starved += 1
        if talking and self.live:
            self._follow(dt)
        else:
            self.open *= math.exp(-dt / RELEASE_S)
            self.spread *= math.exp(-dt / RELEASE_S)
        if self._basis is None or self._basis_key != id(neutral):
            self._basis, self._basis_key = mouth_basis(neutral), id(neutral)
        jaw, spread = self._basis
        expression = jaw * (self.open * OPEN_MAX_IOD) + spread * (0.06 * self.spread)
        sway = [a * math.sin(2 * math.pi * t / p + i) for i, (a, p) in enumerate(zip(SWAY_DEG, SWAY_PERIOD_S))]
        sway[1] -= NOD_DEG * self.open
        rot = from_euler(np.radians(sway))
        return Motion(rotation=rot, expression=expression, eye_open=np.full(2, self._blink(t)))

    def _blink(self, t: float) -> float:
        if t >= self._next_blink:
            self._blink_at = t
            self._next_blink = t + self._rng.uniform(2.5, 5.5)
        phase = (t - self._blink_at) / BLINK_S
        return 1.0 if not 0 <= phase <= 1 else float(1 - math.sin(math.pi * phase))
