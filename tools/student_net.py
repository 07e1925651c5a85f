"""A distilled student of denoise `best` for mode "light" (development only: NOT shipped, it did not beat DTLN's
first stage on PESQ-WB; docs/audio.md "Distilled student (light mode)"): a small network of our own (weights
in tools/student_weights.npz, trained by tools/train_student.py on the output of DeepFilterNet3 + our
refinement, the `best` mode, over our own mixtures), built as an OpenVINO model from the weights here.

16 kHz, 320-point STFT (Vorbis window, whose square overlap-adds to one) every 160 samples (10 ms), one frame
of lookahead. Per hop, from the newest noisy frame: the levels of its 32 ERB bands and of its lowest NLOW bins
(dB minus an exponential mean per band, α = 0.99) -> dense (ReLU) -> GRU (state carried between calls as an
explicit input/output) -> for the frame one hop back:

    out[f] = g[band(f)] * noisy_t[f] + sum_k c_k[f] * noisy_{t-2+k}[f]     (k = 0..3: frames t-2..t+1; f < NDF)
    out[f] = g[band(f)] * noisy_t[f]                                       (f >= NDF)

32 band gains g in [0, GAIN_MAX] and a complex 4-tap filter c over frames t-2..t+1 for the lowest NDF bins
(DeepFilterNet's deep filter, as a residual on the gains). Latency: 20 ms at 16 kHz (one hop of window overlap
+ one of lookahead), plus the hop buffering and the resamplers of the effect."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("student_weights.npz")
RATE, WIN, HOP = 16000, 320, 160
BINS = WIN // 2 + 1  # 161: 0..8 kHz at 50 Hz
BANDS = 32
NLOW = 64  # bins whose own levels are inputs too (0..3.2 kHz)
NDF, ORDER, LOOK = 64, 4, 1  # deep filter: bins, taps (frames t-2..t+1), lookahead (frames)
ALPHA = 0.99
MEAN0 = -10.0  # the exponential mean's start (dB of the unscaled rfft power)
FLOOR = 1e-8
GAIN_MAX = 1.2
POWER = 1.0  # band gains are applied as g ** POWER (> 1: more suppression where g < 1; chosen on validation)


def band_widths() -> np.ndarray:
    """32 bands over bins 0..160, equal steps on the ERB scale, at least 2 bins each (as dnpost)."""
    return np.array([2] * 20 + [3, 6, 7, 7, 8, 8, 10, 12, 12, 14, 16, 18])


def band_of_bin() -> np.ndarray:
    return np.repeat(np.arange(BANDS), band_widths())


def band_matrix() -> np.ndarray:
    """(BINS, BANDS): power per bin -> mean power per band."""
    w = band_widths()
    return ((band_of_bin()[:, None] == np.arange(BANDS)) / w).astype(np.float32)


def vorbis_window(n: int = WIN) -> np.ndarray:
    return np.sin(0.5 * np.pi * np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 2).astype(np.float32)


def levels(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(band dB (..., BANDS), low-bin dB (..., NLOW)) of power spectra (..., BINS)."""
    band = 10 * np.log10(power @ band_matrix() + FLOOR)
    low = 10 * np.log10(power[..., :NLOW] + FLOOR)
    return band, low


def features(band_db: np.ndarray, low_db: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """The network's input (..., BANDS + NLOW) from the levels and the running mean of the band levels."""
    low_mean = mean[..., band_of_bin()[:NLOW]]
    return np.concatenate([(band_db - mean) / 40, (low_db - low_mean) / 40], axis=-1).astype(np.float32)


@lru_cache(maxsize=2)
def load(path: str = str(WEIGHTS)) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k].astype(np.float32) for k in z.files}


def parameters(w: dict[str, np.ndarray]) -> int:
    return int(sum(v.size for k, v in w.items() if v.ndim))


def build_model(w: dict[str, np.ndarray]):
    """OpenVINO model: (features [1, BANDS + NLOW], GRU state [1, H]) -> (band gains [1, BANDS],
    deep-filter taps [1, ORDER * NDF * 2] (tap, bin, re/im), the new GRU state [1, H])."""
    import openvino as ov
    import openvino.opset13 as op

    H = w["gru_uh"].shape[1]
    x = op.parameter([1, w["in_w"].shape[1]], np.float32, name="features")
    h = op.parameter([1, H], np.float32, name="state_in_0")

    def dense(t, weight, bias):
        return op.add(op.matmul(t, op.constant(np.ascontiguousarray(weight.T)), False, False), op.constant(bias[None]))

    a = op.relu(dense(x, w["in_w"], w["in_b"]))
    # GRU with PyTorch's convention (reset gate applied after the recurrent product): OpenVINO's
    # linear_before_reset; gate order z, r, candidate in both; bias = [bz, br, b_input_c, b_recurrent_c]
    bi, bh = w["gru_bi"], w["gru_bh"]
    bias = np.concatenate([bi[:2 * H] + bh[:2 * H], bi[2 * H:], bh[2 * H:]]).astype(np.float32)
    h_new = op.gru_cell(a, h, op.constant(w["gru_wi"]), op.constant(w["gru_uh"]), op.constant(bias), H,
                        linear_before_reset=True)
    o = dense(op.concat([h_new, a], 1), w["out_w"], w["out_b"])

    def cols(t, lo, hi):
        return op.slice(t, np.array([lo]), np.array([hi]), np.array([1]), np.array([1]))

    gains = op.multiply(op.sigmoid(cols(o, 0, BANDS)), op.constant(np.float32(GAIN_MAX)))
    taps = cols(o, BANDS, BANDS + ORDER * NDF * 2)
    outs = [op.result(gains), op.result(taps), op.result(h_new)]
    for t, name in zip(outs, ("gains", "taps", "state_out_0")):
        t.output(0).get_tensor().set_names({name})
    return ov.Model(outs, [x, h], "denoise_student")


@lru_cache(maxsize=4)
def _compiled(device: str, threads: int, path: str):
    from obs_deepzoom.engine.runtime import core, resolve_device

    dev = resolve_device(device)
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if dev in ("CPU", "AUTO"):
        config["INFERENCE_PRECISION_HINT"] = "f32"
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
    return core().compile_model(build_model(load(path)), dev, config)


class Student:
    """The student as a 16 kHz mono stream (the interface of engine/audio/nets._FramedNet, so denoise.NETS can
    take it: tools/train_student.py registers it there): whole hops in, as many samples
    out, `latency` samples late; the GRU state is an explicit input/output of the model, carried here."""

    RATE, WIN, HOP = RATE, WIN, HOP

    def __init__(self, device: str = "CPU", threads: int = 0, weights: Path = WEIGHTS, power: float = POWER):
        import openvino as ov

        self.power = power
        w = load(str(weights))
        self.hidden = w["gru_uh"].shape[1]
        self.request = _compiled(device, threads, str(weights)).create_infer_request()
        self._x = np.zeros((1, w["in_w"].shape[1]), np.float32)
        self._h = np.zeros((1, self.hidden), np.float32)
        self.request.set_input_tensor(0, ov.Tensor(self._x, shared_memory=True))
        self.request.set_input_tensor(1, ov.Tensor(self._h, shared_memory=True))
        self.window = vorbis_window()
        self._bands = band_matrix()
        self._low_band = band_of_bin()[:NLOW]
        self._bin_band = band_of_bin()
        self.latency = WIN - HOP + LOOK * HOP
        self.reset()

    def reset(self) -> None:
        self._h[...] = 0
        self.mean = np.full(BANDS, MEAN0, np.float32)
        self._in = np.zeros(WIN, np.float32)
        self._out = np.zeros(WIN, np.float32)
        self._spec = np.zeros((ORDER, BINS), np.complex64)  # noisy frames t-3..t (the output is for t-1)

    def _frame(self, frame: np.ndarray) -> np.ndarray:
        spec = np.fft.rfft(frame * self.window)
        self._spec[:-1] = self._spec[1:]
        self._spec[-1] = spec
        power = spec.real ** 2 + spec.imag ** 2
        band = 10 * np.log10(power @ self._bands + FLOOR)
        self.mean = band * (1 - ALPHA) + self.mean * ALPHA
        x = self._x[0]
        x[:BANDS] = (band - self.mean) * (1 / 40)
        x[BANDS:] = (10 * np.log10(power[:NLOW] + FLOOR) - self.mean[self._low_band]) * (1 / 40)
        self.request.infer()
        gains = self.request.get_output_tensor(0).data[0]
        if self.power != 1.0:
            gains = gains ** self.power
        taps = self.request.get_output_tensor(1).data[0].reshape(ORDER, NDF, 2)
        self._h[...] = self.request.get_output_tensor(2).data
        out = self._spec[ORDER - 1 - LOOK] * gains[self._bin_band]
        out[:NDF] += np.sum((taps[..., 0] + 1j * taps[..., 1]) * self._spec[:, :NDF], axis=0)
        return np.fft.irfft(out, WIN).astype(np.float32) * self.window

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        for k in range(0, len(x), HOP):
            self._in[:-HOP] = self._in[HOP:]
            self._in[-HOP:] = x[k:k + HOP]
            self._out[:-HOP] = self._out[HOP:]
            self._out[-HOP:] = 0
            self._out += self._frame(self._in)
            out[k:k + HOP] = self._out[:HOP]
        return out
