"""Noise-suppression networks as 16 kHz mono frame-by-frame streams with explicit recurrent state.

Each takes whole hops of 16 kHz audio and returns the same number of samples, delayed by `latency`
(samples): what the network's framing needs before a sample is final."""

from __future__ import annotations

import numpy as np

from ..runtime import Infer

RATE = 16000


def _hann(n: int) -> np.ndarray:
    return np.hanning(n + 1)[:-1].astype(np.float32)  # periodic


class _FramedNet:
    """Shared streaming frame: a WIN-sample analysis window advanced by HOP samples; each frame's output
    (WIN samples, already windowed) is overlap-added and the oldest HOP samples leave. Subclasses give
    `_frame(window_of_input) -> output frame` and the recurrent inputs to clear on reset."""

    RATE = RATE
    WIN = HOP = 0

    def __init__(self, infers: list):
        self.infers = infers
        self.latency = self.WIN - self.HOP
        self.reset()

    def reset(self) -> None:
        for infer in self.infers:
            for buf in infer.inputs[1:]:
                buf[...] = 0
        self._in = np.zeros(self.WIN, np.float32)
        self._out = np.zeros(self.WIN, np.float32)

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for k in range(0, len(x), self.HOP):
            self._in[: -self.HOP] = self._in[self.HOP:]
            self._in[-self.HOP:] = x[k:k + self.HOP]
            self._out[: -self.HOP] = self._out[self.HOP:]
            self._out[-self.HOP:] = 0
            self._out += self._frame(self._in)
            out[k:k + self.HOP] = self._out[: self.HOP]
        return out


def _carry(infer: Infer, new_states) -> None:
    """Feed a model's output states back into its state inputs (inputs[1:])."""
    for buf, value in zip(infer.inputs[1:], new_states):
        buf[...] = value


class Dtln(_FramedNet):
    """DTLN (Westhausen & Meyer 2020): 512-sample blocks every 128 samples. Stage 1 masks the block's
    magnitude spectrum; stage 2 refines the masked block in a learned basis; blocks are overlap-added.
    Without stage 2 (`refine=False`) the masked blocks are Hann-windowed and overlap-added instead."""

    WIN, HOP = 512, 128

    def __init__(self, refine: bool = True, device: str = "CPU", threads: int = 0):
        self.refine = refine
        self.stage1 = Infer("dtln_1", device, threads)
        self.stage2 = Infer("dtln_2", device, threads) if refine else None
        self.window = _hann(self.WIN) * np.float32(self.HOP / self.WIN * 2)  # Hann at hop N/4 sums to 2
        super().__init__([i for i in (self.stage1, self.stage2) if i is not None])

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frame)
        np.abs(spec, out=self.stage1.inputs[0][0, 0], casting="unsafe")
        mask, *state = self.stage1.run()
        _carry(self.stage1, state)
        block = np.fft.irfft(spec * mask[0, 0]).astype(np.float32)
        if not self.refine:
            return block * self.window
        self.stage2.inputs[0][0, 0] = block
        block, *state = self.stage2.run()
        _carry(self.stage2, state)
        return block[0, 0]


class NsNet2(_FramedNet):
    """NSNet2 (Microsoft DNS challenge baseline): 20 ms sqrt-Hann frames every 10 ms, log-power features,
    a gain per frequency bin; GRU states carried between calls."""

    WIN, HOP = 320, 160

    MIN_GAIN = np.float32(1e-4)  # -80 dB, as the package's own enhancer

    def __init__(self, device: str = "CPU", threads: int = 0):
        self.infer = Infer("nsnet2_16k", device, threads)
        self.window = np.sqrt(_hann(self.WIN))
        super().__init__([self.infer])

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frame * self.window)
        power = spec.real ** 2 + spec.imag ** 2
        np.log10(np.maximum(power, 1e-12), out=self.infer.inputs[0][0, 0], casting="unsafe")
        gain, *state = self.infer.run()
        _carry(self.infer, state)
        return np.fft.irfft(spec * np.clip(gain[0, 0], self.MIN_GAIN, 1.0)).astype(np.float32) * self.window


class Gtcrn(_FramedNet):
    """GTCRN (Rong et al. 2024, 48k parameters): 512-point sqrt-Hann STFT every 256 samples; the network
    maps one complex frame to its enhanced version with its convolution and recurrent caches."""

    WIN, HOP = 512, 256

    def __init__(self, device: str = "CPU", threads: int = 0):
        self.infer = Infer("gtcrn", device, threads)
        self.window = np.sqrt(_hann(self.WIN))
        super().__init__([self.infer])

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frame * self.window)
        frame_in = self.infer.inputs[0]
        frame_in[0, :, 0, 0], frame_in[0, :, 0, 1] = spec.real, spec.imag
        enh, *caches = self.infer.run()
        _carry(self.infer, caches)
        return np.fft.irfft(enh[0, :, 0, 0] + 1j * enh[0, :, 0, 1]).astype(np.float32) * self.window


class Ensemble:
    """The average of several networks' outputs. Each runs on its own hop; each output is delayed to the
    common latency max(latency + hop - 1), which also absorbs the hop buffering, so the ensemble takes and
    returns any number of samples (HOP = 1). Independent networks make different errors: the mean is
    cleaner (measured: DTLN + GTCRN gain ~0.1 PESQ over either)."""

    HOP = 1

    def __init__(self, nets: list):
        self.RATE = nets[0].RATE
        self.nets = nets
        self.latency = max(n.latency + n.HOP - 1 for n in nets)
        self.reset()

    def reset(self) -> None:
        for n in self.nets:
            n.reset()
        self._pending = [np.zeros(0, np.float32) for _ in self.nets]
        self._ready = [np.zeros(self.latency - n.latency, np.float32) for n in self.nets]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        for i, net in enumerate(self.nets):
            pending = np.concatenate([self._pending[i], x])
            usable = len(pending) // net.HOP * net.HOP
            self._pending[i] = pending[usable:]
            if usable:
                self._ready[i] = np.concatenate([self._ready[i], net(pending[:usable])])
        n = len(x)  # always available: the priming covers every network's hop buffering
        out = np.mean([r[:n] for r in self._ready], axis=0).astype(np.float32)
        self._ready = [r[n:] for r in self._ready]
        return out
