"""The libobs of the running OBS, bound with the types of abi.SIGNATURES (every call typed).

Bound with ctypes.CDLL, which releases the GIL during every call: libobs may block on its graphics or filter
mutex while another OBS thread waits for the GIL. Only importable inside a process that has libobs loaded
(OBS, or a host of libobs such as the OBS 32 test tier); nothing else in obs_deepzoom imports it at top level.

Which libobs: the one the process already loaded, never another copy (OBS >= 30 ships libobs.so.30+, a
second copy would be a second, uninitialised libobs). `DEEPZOOM_LIBOBS` may name it explicitly."""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_char_p, c_float, c_int, c_uint8

from . import abi
from .abi import *  # noqa: F403  (constants, structs and prototypes are part of this module's interface)
from .locate import choose


def _opener(name: str | None):
    if name is None:
        return ctypes.CDLL(None)
    if sys.platform == "win32":
        return ctypes.CDLL(name)  # an already loaded DLL of this name is returned, not loaded again
    return ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)


def bind(lib) -> dict[str, object]:
    """Every function of abi.SIGNATURES with its restype and argtypes set, by our attribute name."""
    out = {}
    for symbol, (attr, restype, argtypes) in abi.SIGNATURES.items():
        f = getattr(lib, symbol)
        f.restype = restype
        f.argtypes = list(argtypes)
        out[attr] = f
    return out


lib, LIB_NAME = choose(sys.platform, _opener, os.environ.get("DEEPZOOM_LIBOBS"))
globals().update(bind(lib))
VERSION = get_version_string().decode()  # noqa: F405 (bound just above)


def address(symbol: str) -> int:
    """The address of a libobs function (for the native shim's table)."""
    return ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value


_native_log = None


def blog(level: int, message: str) -> None:
    """One line in OBS's log (safe from any thread). blog is variadic: called through the native shim, which
    the C compiler calls correctly on every platform; before the shim is loaded, through a fixed-argument
    binding except on arm64 macOS, where variadic arguments travel differently."""
    text = message.encode("utf-8", "replace")
    if _native_log is not None:
        _native_log(c_int(level), text)
    elif not (sys.platform == "darwin" and os.uname().machine == "arm64"):
        blog_fixed(level, b"[deepzoom] %s", text)  # noqa: F405
    else:
        print(f"[deepzoom] {message}", file=sys.stderr)


def use_native_log(fn) -> None:
    global _native_log
    _native_log = fn


def plane(ptr, size: int):
    """A numpy uint8 view of `size` bytes at a pointer (no copy)."""
    import numpy as np

    return np.ctypeslib.as_array(ctypes.cast(ptr, POINTER(c_uint8)), (size,))


def float_plane(ptr, frames: int):
    import numpy as np

    return np.ctypeslib.as_array(ctypes.cast(ptr, POINTER(c_float)), (frames,))


__all__ = [n for n in dir() if not n.startswith("_")] + ["c_char_p"]
