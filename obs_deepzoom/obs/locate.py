"""Which libobs to bind: the one the running process already loaded, never a second copy (no libobs here, so
the choice is unit-tested on every platform's names)."""

from __future__ import annotations

from collections.abc import Callable
from ctypes import c_bool

LINUX_SONAMES = ["libobs.so.0", "libobs.so.30", "libobs.so.31", "libobs.so.32", "libobs.so.33", "libobs.so"]
MAC_NAMES = ["@rpath/libobs.framework/Versions/A/libobs", "libobs.framework/Versions/A/libobs", "libobs.dylib"]


def candidates(platform: str, explicit: str | None = None) -> list[str | None]:
    """Where to look for the loaded libobs, in order (None = the process's own global symbols)."""
    names: list[str | None] = [explicit] if explicit else []
    if platform == "win32":
        return names + ["obs.dll", "obs"]
    if platform == "darwin":
        return names + [None, *MAC_NAMES]
    return names + [None, *LINUX_SONAMES]


def choose(platform: str, opener: Callable[[str | None], object], explicit: str | None = None):
    """The first candidate that is loaded and initialised (obs_initialized() is true): a libobs that is loaded
    but not initialised is a stray second copy. `opener(name)` returns a library or raises OSError (it must
    not load anything new: RTLD_NOLOAD)."""
    tried = []
    for name in candidates(platform, explicit):
        try:
            lib = opener(name)
        except OSError as exc:
            tried.append(f"{name or 'process'}: {exc}")
            continue
        if not hasattr(lib, "obs_initialized"):
            tried.append(f"{name or 'process'}: no obs_initialized")
            continue
        ready = lib.obs_initialized
        ready.restype, ready.argtypes = c_bool, []
        if ready():
            return lib, name
        tried.append(f"{name or 'process'}: libobs not initialised")
    raise OSError("no libobs is loaded in this process (" + "; ".join(tried) + ")")
