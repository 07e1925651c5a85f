"""PESQ-WB (ITU-T P.862.2) without installing the `pesq` package: its C files (the ITU reference code) are read
out of the pesq 0.0.4 sdist (pinned by the archive's sha256, no code of it run), compiled with the project's C
compiler (obs/native: `python -m ziglang cc` or `cc`; no Python headers) into a library cached by source hash,
and called through ctypes the way the package's Cython wrapper (cypesq.pyx, _pesq.py) calls it: 16 kHz,
wide band, both signals scaled by their common peak and passed as float32.

The reference code keeps its state in globals (hence one lock) and has fixed-size tables: ERROR_INFO holds
50 utterances and id_searchwindows / id_utterances write past them without a check, and the bad-interval
tables of the psychoacoustic model hold 1000. `pesq_wb` therefore refuses, with a DeepZoomError, what could
reach those limits (longer than 9.6 s: 2550 VAD frames of 64 samples, at least 51 per utterance counted) and
what the code cannot score (under 0.25 s, NaN/inf, not 1-D, silence or a level so low that its gain comes out
infinite, which the package turns into NaN), before calling it."""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import threading
from ctypes import POINTER, Structure, c_char, c_char_p, c_float, c_int, c_long, c_short
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import paths
from ..cbuild import compile_library, library_suffix
from ..downloads import PackageFile
from ..errors import DeepZoomError
from ..netguard import require_network

SDIST = "pesq==0.0.4"
SDIST_SHA256 = "b724b28f73fb638522982bd68e8c3c0957e2f45210639a460233b17aa7fc890b"  # pesq-0.0.4.tar.gz
FILES = {  # the ITU-T P.862 reference code as the sdist carries it (the Cython wrapper is not used)
    "dsp.c": "263f5ee44c9406cc6931d3236016ef51230672b04344b7020b230c469031d742",
    "pesqdsp.c": "95c73b862f8896a43173b2fbd07a948a090a59427b1b06605672c516ba6b09ed",
    "pesqmod.c": "e760c30214082ee30d19151f50cd5bd90a82affd4bdfb1a62d10b6119d41b685",
    "dsp.h": "c8205fadbeb46f7931fda9cf45ecd57cbcb8f2b76a5b866b190b4c6d6dafbf60",
    "pesq.h": "a9884b11d3b977963a0542d1c1f5427aa075b08376d106a43ba19e3dab33c58b",
    "pesqio.h": "65c32ddceb0934377926123356074d996f0925e6b7714ccd6b654eb44be7769a",
    "pesqmain.h": "559094deaa267ae6becd471a59f3810281af80ef9da3d4a17b3afea3de161e23",
    "pesqpar.h": "cfa8ae4b5dc00d4b3f50f7a453a06152d95b810113b1dcca01f85eb30a6f61f5",
}
SOURCES = {name: PackageFile(package=SDIST, kind="sdist", archive_sha256=SDIST_SHA256, file=f"pesq/{name}",
                             sha256=sha) for name, sha in FILES.items()}
COMPILED = ("dsp.c", "pesqdsp.c", "pesqmod.c")
# Ours: pesqio.h and pesqmain.h define select_rate and pesq_measure (the Cython module includes them the same
# way); everything is compiled hidden and only these forwarders are exported, so the reference code's global
# names (Fs, Nb, safe_malloc, ...) never meet another library's.
GLUE = r"""/* obs-deepzoom: the two entry points the pesq package's Cython wrapper calls, exported. */
#include <math.h>   /* before pesq.h, whose `#define gamma` would break it (Python.h does this for cypesq) */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include "pesqio.h"
#include "pesqmain.h"
#ifdef _WIN32
#define DZ_EXPORT __declspec(dllexport)
#else
#define DZ_EXPORT __attribute__((visibility("default")))
#endif
DZ_EXPORT void dzpesq_select_rate(long rate, long *flag, char **type) { select_rate(rate, flag, type); }
DZ_EXPORT void dzpesq_measure(SIGNAL_INFO *ref, SIGNAL_INFO *deg, ERROR_INFO *err, long *flag, char **type) {
    pesq_measure(ref, deg, err, flag, type);
}
/* 1 when fix_power_level (run on a copy, as pesq_measure runs it) leaves finite samples: its gain is
   sqrt(1e7 / power above 300 Hz) with that power cast to float, which is 0 for a silent or very faint signal */
DZ_EXPORT int dzpesq_level_ok(float *x, long n, long max_nsamples) {
    SIGNAL_INFO s;
    long flag = 0, i, ok = 1;
    char *kind = "";
    memset(&s, 0, sizeof s);
    s.Nsamples = n;
    s.data = x;
    load_src(&flag, &kind, &s);
    if (flag == 0) {
        fix_power_level(&s, "level check", max_nsamples);
        for (i = 0; i < s.Nsamples && ok; i++) ok = isfinite(s.data[i]);
    }
    if (s.data != x) safe_free(s.data);
    safe_free(s.VAD);
    safe_free(s.logVAD);
    return flag == 0 && ok;
}
DZ_EXPORT void dzpesq_layout(long *out) {
    out[0] = sizeof(SIGNAL_INFO); out[1] = offsetof(SIGNAL_INFO, data); out[2] = sizeof(ERROR_INFO);
    out[3] = offsetof(ERROR_INFO, mapped_mos); out[4] = offsetof(ERROR_INFO, mode); out[5] = MAXNUTTERANCES;
}
"""
GLUE_NAME = "dz_pesq_glue.c"
# -ffp-contract=off: no fused multiply-adds (zig cc targets the host CPU), so the numbers match the package's
# gcc build; -w: the 2005 reference code's warnings are not ours to fix
FLAGS = ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off", "-w"]
STEP = "PESQ (pesq 0.0.4 sdist, compiled)"

RATE = 16000
MAXNUTTERANCES = 50
DOWNSAMPLE = 64  # Downsample_16k
SEARCHBUFFER = 75
MIN_SAMPLES = RATE // 4
# id_searchwindows/id_utterances index ERROR_INFO's 50-entry tables by the utterance count; an utterance counts
# when it spans >= 51 VAD frames, so <= 50 * 51 = 2550 frames (the signal plus 2 * SEARCHBUFFER) never reach
# index 50
MAX_SAMPLES = (MAXNUTTERANCES * 51 - 2 * SEARCHBUFFER) * DOWNSAMPLE  # 153600 = 9.6 s
NB_MODE, WB_MODE = 0, 1
ERRORS = {-1: "unknown error", -2: "invalid sample rate", -3: "out of memory (reference)",
          -4: "out of memory (degraded)", -5: "out of memory (temporary buffer)",
          -6: "a signal is shorter than 1/4 s", -7: "no utterances detected"}


class SignalInfo(Structure):
    """SIGNAL_INFO of pesq.h."""

    _fields_ = [("path_name", c_char * 512), ("file_name", c_char * 128), ("Nsamples", c_long),
                ("apply_swap", c_long), ("input_filter", c_long), ("data", POINTER(c_float)),
                ("VAD", POINTER(c_float)), ("logVAD", POINTER(c_float))]


class ErrorInfo(Structure):
    """ERROR_INFO of pesq.h."""

    _fields_ = [("Nutterances", c_long), ("Largest_uttsize", c_long), ("Nsurf_samples", c_long),
                ("Crude_DelayEst", c_long), ("Crude_DelayConf", c_float),
                ("UttSearch_Start", c_long * MAXNUTTERANCES), ("UttSearch_End", c_long * MAXNUTTERANCES),
                ("Utt_DelayEst", c_long * MAXNUTTERANCES), ("Utt_Delay", c_long * MAXNUTTERANCES),
                ("Utt_DelayConf", c_float * MAXNUTTERANCES), ("Utt_Start", c_long * MAXNUTTERANCES),
                ("Utt_End", c_long * MAXNUTTERANCES), ("pesq_mos", c_float), ("mapped_mos", c_float),
                ("mode", c_short)]


SIGNATURES = {
    "dzpesq_select_rate": (None, [c_long, POINTER(c_long), POINTER(c_char_p)]),
    "dzpesq_measure": (None, [POINTER(SignalInfo), POINTER(SignalInfo), POINTER(ErrorInfo), POINTER(c_long),
                              POINTER(c_char_p)]),
    "dzpesq_level_ok": (c_int, [POINTER(c_float), c_long, c_long]),
    "dzpesq_layout": (None, [POINTER(c_long)]),
}
_LOCK = threading.Lock()  # the reference code's state is global (Fs, Nb, the band tables)


def source_dir() -> Path:
    return paths.data_dir() / "sources" / "pesq-0.0.4"


def library_path() -> Path:
    """The compiled library, named by the hash of what goes into it (pinned sources, glue, flags)."""
    key = "\n".join([*(f"{n} {s}" for n, s in sorted(FILES.items())), GLUE, " ".join(FLAGS)])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return paths.data_dir() / "native" / f"pesq-0.0.4-{digest}{library_suffix()}"


def build(progress=print, force: bool = False) -> Path:
    """Fetch the sdist's C files (cached, checked) and compile them unless this version is built; the path."""
    from ..downloads import extract

    target = library_path()
    if target.exists() and not force:
        return target
    src = source_dir()
    for name, pf in SOURCES.items():
        extract(pf, src / name)
    glue, part = src / GLUE_NAME, src / f".{GLUE_NAME}.{os.getpid()}.part"
    part.write_text(GLUE)
    os.replace(part, glue)  # whole, even with another process building at the same time
    inputs = ["-I", str(src), str(glue), *(str(src / n) for n in COMPILED)]
    if sys.platform != "win32":
        inputs.append("-lm")
    return compile_library(target, FLAGS, inputs, "the PESQ library (ITU-T P.862 code of pesq 0.0.4)",
                                  "no C compiler for the PESQ library: pip install ziglang (or install cc)",
                                  progress)


@lru_cache(maxsize=1)
def _library():
    path = library_path()
    if not path.exists():
        require_network(f"the PESQ library ({STEP})")  # offline: the fetch step should have built it
        build(progress=lambda *_: None)
    lib = ctypes.CDLL(str(path))
    for name, (restype, argtypes) in SIGNATURES.items():
        f = getattr(lib, name)
        f.restype, f.argtypes = restype, argtypes
    layout = (c_long * 6)()
    lib.dzpesq_layout(layout)
    want = [ctypes.sizeof(SignalInfo), SignalInfo.data.offset, ctypes.sizeof(ErrorInfo), ErrorInfo.mapped_mos.offset,
            ErrorInfo.mode.offset, MAXNUTTERANCES]
    if list(layout) != want:
        raise DeepZoomError(f"{path}: the PESQ structs do not match their ctypes mirror ({list(layout)} != {want})")
    return lib


def _checked(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 1:
        raise DeepZoomError(f"PESQ: the {what} signal must be one channel (1-D), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise DeepZoomError(f"PESQ: the {what} signal must be numbers, got {x.dtype}")
    if len(x) < MIN_SAMPLES:
        raise DeepZoomError(f"PESQ: the {what} signal is {len(x) / RATE:.3f} s; it needs at least 0.25 s")
    if len(x) > MAX_SAMPLES:
        raise DeepZoomError(f"PESQ: the {what} signal is {len(x) / RATE:.2f} s; the reference code takes at most "
                            f"{MAX_SAMPLES / RATE:g} s per call (its utterance tables are fixed): score shorter parts")
    if not np.all(np.isfinite(x)):
        raise DeepZoomError(f"PESQ: the {what} signal has NaN or infinite samples")
    return x


def _signal(name: bytes, data: np.ndarray) -> SignalInfo:
    info = SignalInfo()
    info.path_name = info.file_name = name
    info.Nsamples, info.apply_swap, info.input_filter = len(data), 0, 2  # 2: the wide-band input filter
    info.data = data.ctypes.data_as(POINTER(c_float))
    return info


def pesq_wb(ref, deg, rate: int = RATE) -> float:
    """PESQ-WB MOS-LQO of `deg` against `ref` (1-D, 16 kHz), the number `pesq.pesq(16000, ref, deg, 'wb')` gives."""
    if rate != RATE:
        raise DeepZoomError(f"PESQ-WB is scored at {RATE} Hz here, got {rate} Hz: resample first")
    ref, deg = _checked(ref, "reference"), _checked(deg, "degraded")
    # as the package's _pesq_inner: both scaled by their common peak, then float32
    max_val = max(np.max(np.abs(ref / 1.0)), np.max(np.abs(deg / 1.0)))
    r = np.ascontiguousarray((ref / max_val).astype(np.float32))
    d = np.ascontiguousarray((deg / max_val).astype(np.float32))
    for x, what in ((r, "reference"), (d, "degraded")):
        if not np.any(x):
            raise DeepZoomError(f"PESQ: the {what} signal is silent")
    lib = _library()
    flag, kind = c_long(0), c_char_p(b"unknown")
    ref_info, deg_info = _signal(b"reference-signal", r), _signal(b"degrade-signal", d)
    err = ErrorInfo()
    err.mode = WB_MODE
    with _LOCK:
        lib.dzpesq_select_rate(RATE, ctypes.byref(flag), ctypes.byref(kind))
        if flag.value != 0:
            raise DeepZoomError(f"PESQ: {ERRORS[-2]}")
        max_n = max(len(r), len(d)) + 2 * SEARCHBUFFER * DOWNSAMPLE  # pesq_measure's maxNsamples
        for x, what in ((r, "reference"), (d, "degraded")):
            if not lib.dzpesq_level_ok(x.ctypes.data_as(POINTER(c_float)), len(x), max_n):
                raise DeepZoomError(f"PESQ: the {what} signal is too faint to score (its level above 300 Hz "
                                    "is zero in the reference code's float precision)")
        lib.dzpesq_measure(ctypes.byref(ref_info), ctypes.byref(deg_info), ctypes.byref(err), ctypes.byref(flag),
                           ctypes.byref(kind))
    if flag.value != 0:
        detail = ERRORS.get(flag.value, f"error {flag.value}")
        raise DeepZoomError(f"PESQ could not score this pair: {detail}")
    if not np.isfinite(err.mapped_mos):
        raise DeepZoomError("PESQ could not score this pair: the reference code returned no finite score")
    return float(err.mapped_mos)
