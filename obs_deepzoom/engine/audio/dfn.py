"""DeepFilterNet3 (Schröter et al. 2023) at 48 kHz, frame by frame: the signal path of DeepFilterNet's libDF
(features, ERB gains, deep filter), written here in numpy around its three networks (dfn3_enc,
dfn3_erb_dec, dfn3_df_dec in ir_models/manifest.json).

Each 10 ms hop: a 960-point STFT with a Vorbis window (scaled by 1/960); features of the new frame, i.e.
32 ERB-band powers in dB minus their exponential mean, / 40, and the lowest 96 bins divided by the square
root of an exponential mean of their magnitude; the encoder (given its two previous feature frames), the
ERB decoder (32 band gains) and the deep-filter decoder (a complex 5-tap filter per low bin, from the
encoder's last five `c0` frames). The networks look two hops ahead, so their output is for the frame two
hops back: that frame is multiplied by the band gains, its lowest 96 bins are replaced by the deep filter
over frames t-4..t, and it is overlap-added back (the window's square sums to one)."""

from __future__ import annotations

import numpy as np

from ..runtime import Infer
from .dnpost import DnPost
from .nets import _FramedNet

SR, FFT, HOP = 48000, 960, 480
NB_ERB, NB_DF, ORDER, LOOKAHEAD = 32, 96, 5, 2
ALPHA = np.float32(0.99)  # exponential-mean factor per hop: exp(-10 ms / 1 s), rounded as libDF does
SILENT_MS, SILENT_HOPS = 1e-7, 5  # libDF: after 5 hops with mean square < 1e-7 the output is silence


def _freq2erb(f):
    return 9.265 * np.log1p(f / (24.7 * 9.265))


def _erb2freq(e):
    return 24.7 * 9.265 * (np.exp(e / 9.265) - 1)


def erb_widths(sr: int = SR, fft: int = FFT, bands: int = NB_ERB, min_bins: int = 2) -> np.ndarray:
    """Bins per band for `bands` bands equally spaced on the ERB scale up to Nyquist, each at least
    `min_bins` wide (a band made wider takes its extra bins from the next one); they cover all fft/2+1."""
    step = _freq2erb(np.float32(sr / 2)) / bands
    widths, prev, over = [], 0, 0
    for i in range(1, bands + 1):
        edge = int(np.round(_erb2freq(np.float32(i * step)) / np.float32(sr / fft)))
        n = edge - prev - over
        over = max(min_bins - n, 0)
        widths.append(max(n, min_bins))
        prev = edge
    widths[-1] += 1 - max(sum(widths) + 1 - (fft // 2 + 1), 0)
    return np.array(widths)


def vorbis_window(n: int = FFT) -> np.ndarray:
    """sin(pi/2 sin^2(pi (i + 0.5) / n)): its square and its half-shifted square sum to one."""
    return np.sin(0.5 * np.pi * np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 2).astype(np.float32)


class DeepFilterNet(_FramedNet):
    """DeepFilterNet3 as a 48 kHz stream (RATE): 960-sample frames every 480 samples; latency 30 ms (one hop
    of framing, two of lookahead)."""

    RATE, WIN, HOP = SR, FFT, HOP

    def __init__(self, device: str = "CPU", threads: int = 0, refine: bool = False):
        self.post = DnPost(LOOKAHEAD) if refine else None  # our refinement stage (dnpost.py), or DFN3 alone
        self.enc = Infer("dfn3_enc", device, threads)
        self.erb_dec = Infer("dfn3_erb_dec", device, threads)
        self.df_dec = Infer("dfn3_df_dec", device, threads)
        self.window = vorbis_window()
        self.widths = erb_widths()
        self._starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        self._io = {id(i): ({p.get_any_name(): k for k, p in enumerate(i.compiled.inputs)},
                            {p.get_any_name(): k for k, p in enumerate(i.compiled.outputs)})
                    for i in (self.enc, self.erb_dec, self.df_dec)}
        super().__init__([self.enc, self.erb_dec, self.df_dec])
        self.latency = FFT - HOP + LOOKAHEAD * HOP

    def reset(self) -> None:
        super().reset()
        for infer in self.infers:
            for buf in infer.inputs:
                buf[...] = 0
        self._mean = np.linspace(-60, -90, NB_ERB, dtype=np.float32)  # libDF's initial norm states
        self._unit = np.linspace(0.001, 0.0001, NB_DF, dtype=np.float32)
        self._spec = np.zeros((ORDER, FFT // 2 + 1), np.complex64)  # noisy frames t-4..t
        self._quiet = 0
        if self.post is not None:
            self.post.reset()

    def _port(self, infer: Infer, name: str) -> np.ndarray:
        return infer.inputs[self._io[id(infer)][0][name]]

    def _result(self, infer: Infer, outs: list, name: str) -> np.ndarray:
        return outs[self._io[id(infer)][1][name]]

    def _features(self, spec: np.ndarray) -> None:
        """Shift the encoder's feature windows and write the new frame's features as the last one."""
        power = spec.real ** 2 + spec.imag ** 2
        db = 10 * np.log10(np.add.reduceat(power, self._starts) / self.widths + 1e-10)
        self._mean = db * (1 - ALPHA) + self._mean * ALPHA
        erb = self._port(self.enc, "feat_erb")[0, 0]
        erb[:-1] = erb[1:]
        erb[-1] = (db - self._mean) / 40
        low = spec[:NB_DF]
        self._unit = np.abs(low) * (1 - ALPHA) + self._unit * ALPHA
        low = low / np.sqrt(np.maximum(self._unit, 1e-30))
        cplx = self._port(self.enc, "feat_spec")[0]
        cplx[:, :-1] = cplx[:, 1:]
        cplx[0, -1], cplx[1, -1] = low.real, low.imag

    def _run(self, infer: Infer, states: int) -> list:
        """Infer, then carry its `states` recurrent states over to the next call."""
        outs = infer.run()
        for k in range(states):
            self._port(infer, f"state_in_{k}")[...] = self._result(infer, outs, f"state_out_{k}")
        return outs

    def _networks(self) -> tuple[np.ndarray, np.ndarray]:
        """(32 band gains, (96 bins, 5 taps) complex filter) for the frame LOOKAHEAD hops back."""
        enc, erb_dec, df_dec = self.enc, self.erb_dec, self.df_dec
        outs = self._run(enc, 1)
        for name in ("e0", "e1", "e2", "e3", "emb"):
            self._port(erb_dec, name)[...] = self._result(enc, outs, name)
        self._port(df_dec, "emb")[...] = self._result(enc, outs, "emb")
        c0 = self._port(df_dec, "c0")[0]
        c0[:, :-1] = c0[:, 1:]
        c0[:, -1] = self._result(enc, outs, "c0")[0, :, 0]
        gains = self._result(erb_dec, self._run(erb_dec, 2), "m").reshape(NB_ERB)
        coefs = self._result(df_dec, self._run(df_dec, 2), "coefs").reshape(NB_DF, ORDER, 2)
        return gains, coefs[..., 0] + 1j * coefs[..., 1]

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frame * self.window) * np.float32(1 / FFT)
        self._spec[:-1] = self._spec[1:]
        if float(np.mean(np.square(frame[-HOP:]))) < SILENT_MS:
            self._quiet += 1
        else:
            self._quiet = 0
        if self._quiet > SILENT_HOPS:  # digital silence or nearly: keep the states, output nothing
            self._spec[-1] = 0
            return np.zeros(FFT, np.float32)
        self._spec[-1] = spec
        self._features(spec)
        gains, taps = self._networks()
        out = self._spec[ORDER - 1 - LOOKAHEAD] * np.repeat(gains, self.widths)
        out[:NB_DF] = np.sum(self._spec[:, :NB_DF].T * taps, axis=1)
        if self.post is not None:
            out = self.post(spec, self._spec[ORDER - 1 - LOOKAHEAD], out)
        return (np.fft.irfft(out, FFT) * np.float32(FFT)).astype(np.float32) * self.window
