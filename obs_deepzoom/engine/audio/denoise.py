"""Speech noise suppression for any block size, sample rate and channel count.

Per stream: the rate is converted to the network's (48 kHz for DeepFilterNet3, engine/audio/dfn.py; 16 kHz
for the others, engine/audio/nets.py) unless it is already that, the network runs hop by hop with its
recurrent state, the result is converted back; a FIFO primed with a fixed number of zeros makes the
output exactly `latency_ms` behind the input whatever the block sizes, so the output does not depend on
how the input was cut. The dry signal is delayed by the same amount for the wet/dry mix."""

from __future__ import annotations

import logging
import math

import numpy as np

from ...settings import DenoiseSettings
from ..runtime import default_precision
from .dfn import DeepFilterNet
from .nets import Dtln, Ensemble, Gtcrn, NsNet2
from .resample import StreamResampler

log = logging.getLogger(__name__)

DOWN_TAPS_PER_RATIO = 64  # minimum anti-alias filter length per unit of rate ratio (the resampler designs longer)
NETS = {  # mode -> factory(device, threads)
    "best": lambda device, threads: DeepFilterNet(device, threads, refine=True),
    "light": lambda device, threads: Dtln(False, device, threads),
    # measured alongside (deepzoom eval denoise), not offered as modes
    "dfn3": lambda device, threads: DeepFilterNet(device, threads),  # best without our refinement stage
    "dtln_gtcrn": lambda device, threads: Ensemble([Dtln(True, device, threads), Gtcrn(device, threads)]),
    "dtln": lambda device, threads: Dtln(True, device, threads),
    "gtcrn": lambda device, threads: Gtcrn(device, threads),
    "nsnet2": lambda device, threads: NsNet2(device, threads),
}


def dry_share(settings: DenoiseSettings) -> float:
    """How much of the original signal is in the output: the attenuation limit keeps 10^(-dB/20) of it
    (as DeepFilterNet does: noise is never lowered by more than the limit), the wet/dry mix the rest."""
    lim = 0.0 if settings.atten_limit_db >= 100 else 10 ** (-settings.atten_limit_db / 20)
    return 1.0 - settings.mix * (1.0 - lim)


class _Stream:
    """One mono signal at `rate` through a network at its own rate and back, `delay` output samples late."""

    def __init__(self, net, rate: int):
        self.net, self.rate = net, rate
        net_rate = net.RATE
        taps = DOWN_TAPS_PER_RATIO * max(1, math.ceil(max(rate, net_rate) / min(rate, net_rate))) - 1
        self.down = StreamResampler(rate, net_rate, taps)
        probe = StreamResampler(net_rate, rate, taps)
        wet_s = self.down.delay_s + net.latency / net_rate + probe.delay_s
        advance = (wet_s * rate - math.floor(wet_s * rate)) * probe.rate_f / rate  # whole output samples
        self.up = StreamResampler(net_rate, rate, taps, advance)
        # the priming covers the hop buffering (+ the resamplers' rounding)
        self.prime = net.HOP - 1 if rate == net_rate else math.ceil((net.HOP + 1) * rate / net_rate) + 2
        self.delay = self.prime + round((self.down.delay_s + net.latency / net_rate + self.up.delay_s) * rate)
        self._pending = np.zeros(0, np.float32)
        self._wet = np.zeros(self.prime, np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        pending = np.concatenate([self._pending, self.down(x)])
        usable = len(pending) // self.net.HOP * self.net.HOP
        self._pending = pending[usable:]
        wet = self.net(pending[:usable]) if usable else pending[:0]
        if not np.isfinite(wet).all():  # never let a bad state poison the output
            log.warning("noise suppression produced non-finite samples; resetting its state")
            self.net.reset()
            wet = np.zeros_like(wet)
        joined = np.concatenate([self._wet, self.up(wet)])
        out, self._wet = joined[: len(x)], joined[len(x):]
        return out


class Denoise:
    name = "denoise"
    kind = "audio"
    settings_type = DenoiseSettings
    obs_title = "DeepZoom Noise Suppression"

    def __init__(self, settings: DenoiseSettings | None = None, rate: int = 48000, channels: int = 2,
                 device: str = "CPU", threads: int = 0):
        self.settings = settings or DenoiseSettings()
        self.rate, self.channels, self.device, self.threads = rate, channels, device, threads
        self.reset()

    def reset(self) -> None:
        s = self.settings
        n = self.channels if s.stereo == "per_channel" else 1
        with default_precision(s.precision):  # the networks' Infer requests take it
            self.streams = [_Stream(NETS[s.mode](self.device, self.threads), self.rate) for _ in range(n)]
        self.delay = self.streams[0].delay
        self._dry = np.zeros((self.channels, self.delay), np.float32)
        self.stats = {"blocks": 0, "samples": 0, "mode": s.mode}

    @property
    def latency_ms(self) -> float:
        return 1000 * self.delay / self.rate

    def update(self, settings: DenoiseSettings) -> None:
        old, self.settings = self.settings, settings
        rebuild = (settings.mode, settings.stereo, settings.precision) != (old.mode, old.stereo, old.precision)
        if rebuild or (settings.enabled and not old.enabled):
            self.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        """block: float32 (channels, n) -> same shape, delayed by `latency_ms`."""
        block = np.asarray(block, np.float32)
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected ({self.channels}, n) float32 audio, got {block.shape}")
        if not np.isfinite(block).all():
            block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        n = block.shape[1]
        joined = np.concatenate([self._dry, block], axis=1)
        dry, self._dry = joined[:, :n], joined[:, n:]
        self.stats["blocks"] += 1
        self.stats["samples"] += n
        if not self.settings.enabled:
            return dry
        if len(self.streams) == 1:
            wet = self.streams[0](block.mean(axis=0) if self.channels > 1 else block[0])[None, :]
        else:
            wet = np.stack([stream(ch) for stream, ch in zip(self.streams, block)])
        keep = dry_share(self.settings)
        out = wet if keep <= 0 else wet + np.float32(keep) * (dry - wet)
        return np.broadcast_to(out, block.shape).copy() if out.shape != block.shape else out
