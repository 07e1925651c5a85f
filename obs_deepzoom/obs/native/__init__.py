"""The native shim (deepzoom_native.c): DeepZoom's real-time OBS callbacks, which never take Python's GIL.

`build()` compiles it once per source version with the `ziglang` wheel's C compiler (a pip dependency, so no
system compiler is needed; it also targets Windows and macOS) or, failing that, the system's `cc`; the
library lands in the data dir, named by the hash of the source. `load()` (inside OBS) opens it, types its
functions and hands it the addresses of the libobs functions it calls. No libobs import at top level."""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
from ctypes import POINTER, Structure, c_char_p, c_double, c_int, c_int32, c_uint8, c_uint32, c_uint64
from pathlib import Path

from ...cbuild import compile_library, library_suffix
from ...errors import DeepZoomError

SOURCE = Path(__file__).resolve().parent / "deepzoom_native.c"
ABI_VERSION = 6
P = ctypes.c_void_p
MAX_AV_PLANES = 8
VIDEO_STATS = ["frames_in", "frames_out", "applied", "passed", "dropped", "submitted", "done", "failed",
               "abandoned", "renders", "readbacks", "uploads", "chained", "size_drops", "native_ns", "wait_ns",
               "readback_ns", "upload_ns", "synthetic"]
AUDIO_STATS = ["calls", "frames", "processed", "raw", "max_ns", "total_ns"]


class Job(Structure):
    """struct dz_job: one frame for a worker."""

    _fields_ = [("slot", c_int32), ("format", c_int32), ("width", c_uint32), ("height", c_uint32),
                ("seq", c_uint64), ("data", POINTER(c_uint8)), ("out", POINTER(c_uint8)),
                ("linesize", c_uint32 * MAX_AV_PLANES), ("offset", c_uint32 * MAX_AV_PLANES),
                ("rows", c_uint32 * MAX_AV_PLANES), ("planes", c_int32), ("render", c_int32)]


# name -> (restype, argtypes) of every function the shim exports
SIGNATURES = {
    "dz_abi_version": (c_int, []),
    "dz_is_hot_thread": (c_int, [c_uint64]),
    "dz_init": (None, [P]),
    "dz_log": (None, [c_int, c_char_p]),
    "dz_video_new": (P, [P]),
    "dz_video_configure": (None, [P, c_int, c_int, c_int, c_int, c_int]),
    "dz_video_stats": (None, [P, POINTER(c_uint64), c_int]),
    "dz_video_wait": (c_int, [P, POINTER(Job), c_int, c_uint64]),
    "dz_video_settings_gen": (c_uint64, [P]),
    "dz_video_finish": (None, [P, c_int, c_int]),
    "dz_video_free_gpu": (None, [P]),
    "dz_video_close": (None, [P]),
    "dz_video_free": (None, [P]),
    "dz_video_set_info": (None, [P, c_char_p]),
    "dz_video_resets": (c_uint64, [P]),
    "dz_video_idle_ms": (ctypes.c_int64, [P]),
    "dz_video_unseen_ms": (ctypes.c_int64, [P]),
    "dz_video_conceal": (c_int, [P, POINTER(c_uint8), c_uint32, c_uint32, c_int]),
    "dz_video_conceal_off": (None, [P]),
    "dz_video_frame_color": (c_int, [P, POINTER(ctypes.c_float)]),
    "dz_audio_new": (P, [c_int, c_uint32, c_uint32]),
    "dz_audio_ring": (POINTER(ctypes.c_float), [P, c_int, c_int]),
    "dz_audio_written": (c_uint64, [P]),
    "dz_audio_set_latency": (None, [P, c_uint64]),
    "dz_audio_commit": (None, [P, c_uint64]),
    "dz_audio_restart": (None, [P, c_uint64, c_uint64]),
    "dz_audio_wait": (c_int, [P, c_uint64, c_int]),
    "dz_audio_stats": (None, [P, POINTER(c_uint64), c_int]),
    "dz_audio_time_quantile": (c_double, [P, c_double]),
    "dz_audio_close": (None, [P]),
    "dz_audio_free": (None, [P]),
    "dz_tap_new": (P, [c_int, c_uint32]),
    "dz_tap_ring": (POINTER(ctypes.c_float), [P]),
    "dz_tap_written": (c_uint64, [P]),
    "dz_tap_calls": (c_uint64, [P]),
    "dz_tap_free": (None, [P]),
}
# the callbacks OBS calls directly (addresses go into obs_source_info / the capture callback list)
CALLBACKS = ["dz_get_name", "dz_video_update", "dz_filter_video", "dz_filter_remove", "dz_video_render",
             "dz_filter_audio", "dz_tap_capture", "dz_vendor_get", "dz_vendor_reset"]


def library_path() -> Path:
    from ... import paths

    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    return paths.data_dir() / "native" / f"deepzoom_native-{digest}{library_suffix()}"


def build(progress=print, force: bool = False) -> Path:
    """Compile the shim unless this source version is already built; returns the library's path."""
    target = library_path()
    if target.exists() and not force:
        return target
    inputs = [str(SOURCE)] if sys.platform == "win32" else ["-lpthread", str(SOURCE)]
    return compile_library(target, ["-O2", "-shared", "-fPIC", "-fvisibility=hidden"], inputs,
                           "the native OBS callbacks",
                           "no C compiler for DeepZoom's native OBS callbacks: pip install ziglang (or install cc)",
                           progress)


def find() -> Path | None:
    """The built library of this source version (env DEEPZOOM_NATIVE overrides), or None."""
    explicit = os.environ.get("DEEPZOOM_NATIVE")
    if explicit:
        return Path(explicit)
    path = library_path()
    return path if path.exists() else None


def open_library(path: Path):
    lib = ctypes.CDLL(str(path))
    for name, (restype, argtypes) in SIGNATURES.items():
        f = getattr(lib, name)
        f.restype = restype
        f.argtypes = argtypes
    if lib.dz_abi_version() != ABI_VERSION:
        raise DeepZoomError(f"{path} is another version of the native shim (ABI {lib.dz_abi_version()})")
    return lib


def load(obs):
    """Open the shim inside OBS and give it libobs's functions (`obs` = the bound libobs module)."""
    path = find()
    if path is None:
        raise DeepZoomError("DeepZoom's native OBS callbacks are not built for this version: run "
                            "`deepzoom obs setup` (it builds them)")
    lib = open_library(path)
    table = (P * len(obs.NATIVE_API))(*[obs.address(name) for name in obs.NATIVE_API])
    lib.dz_init(ctypes.cast(table, P))
    lib._deepzoom_api_table = table  # libobs addresses are copied, but keep it for clarity
    obs.use_native_log(lib.dz_log)
    return lib


def callback_address(lib, name: str) -> int:
    return ctypes.cast(getattr(lib, name), P).value
