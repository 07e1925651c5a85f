"""Remote reading of the analytics filter's statistics: obs-websocket vendor requests.

obs-websocket (built into OBS >= 28) lets a plugin register a "vendor" whose requests any websocket client can
call (`CallVendorRequest`). Its C header is all inline code over libobs's proc handlers and calldata, so this
module does the same calls through ctypes, once per OBS process (a vendor name can be registered only once):
vendor `obs-deepzoom` with the requests GetAnalytics and ResetAnalytics. The request callbacks are the native
shim's C functions (dz_vendor_get, dz_vendor_reset): they run on obs-websocket's thread without Python and
read what the filter's worker last published (dz_video_set_info)."""

from __future__ import annotations

import ctypes
import logging
from ctypes import byref

from . import libobs as obs
from . import native as native_shim
from .abi import CallData, RequestCallback
from .kinds import GET_ANALYTICS, RESET_ANALYTICS, VENDOR

log = logging.getLogger("obs_deepzoom.obs")
REQUESTS = {GET_ANALYTICS: "dz_vendor_get", RESET_ANALYTICS: "dz_vendor_reset"}


def _set_string(cd: CallData, name: str, value: str) -> None:
    raw = value.encode()
    buf = ctypes.create_string_buffer(raw)  # calldata copies the bytes (with the terminating NUL)
    obs.calldata_set_data(byref(cd), name.encode(), ctypes.cast(buf, ctypes.c_void_p), len(raw) + 1)


def _set_ptr(cd: CallData, name: str, value: int) -> None:
    ptr = ctypes.c_void_p(value)
    obs.calldata_set_data(byref(cd), name.encode(), ctypes.addressof(ptr), ctypes.sizeof(ptr))


def _get_ptr(cd: CallData, name: str) -> int | None:
    ptr = ctypes.c_void_p()
    ok = obs.calldata_get_data(byref(cd), name.encode(), ctypes.addressof(ptr), ctypes.sizeof(ptr))
    return ptr.value if ok else None


def _get_bool(cd: CallData, name: str) -> bool:
    flag = ctypes.c_bool()
    ok = obs.calldata_get_data(byref(cd), name.encode(), ctypes.addressof(flag), ctypes.sizeof(flag))
    return bool(ok and flag.value)


def _free(cd: CallData) -> None:
    if cd.stack and not cd.fixed:
        obs.bfree(cd.stack)
    cd.stack, cd.size, cd.capacity = None, 0, 0


def _call(handler: int, proc: str, fill, read):
    """Call a proc handler with a fresh calldata filled by `fill(cd)`; returns `read(cd)` (None if the proc is
    not there)."""
    cd = CallData()
    try:
        fill(cd)
        if not obs.proc_handler_call(handler, proc.encode(), byref(cd)):
            return None
        return read(cd)
    finally:
        _free(cd)


def register(state: dict) -> bool:
    """Register the vendor and its requests (once per process; later calls return what the first did)."""
    if "vendor" in state:
        return state["vendor"] is not None
    state["vendor"] = None
    api = _call(obs.get_proc_handler(), "obs_websocket_api_get_ph", lambda cd: None, lambda cd: _get_ptr(cd, "ph"))
    if not api:
        log.info("obs-websocket is not loaded: the analytics statistics cannot be read remotely")
        return False
    vendor = _call(api, "vendor_register", lambda cd: _set_string(cd, "name", VENDOR),
                   lambda cd: _get_ptr(cd, "vendor"))
    if not vendor:
        log.warning("obs-websocket refused the vendor name %s: remote analytics unavailable", VENDOR)
        return False
    lib = state["native"]
    for request, symbol in REQUESTS.items():
        cb = RequestCallback(native_shim.callback_address(lib, symbol), None)
        state["keep"].append(cb)  # obs-websocket copies it; kept anyway, like every registered callback

        def fill(cd, request=request, cb=cb):
            _set_string(cd, "type", request)
            _set_ptr(cd, "callback", ctypes.addressof(cb))
            _set_ptr(cd, "vendor", vendor)

        if not _call(api, "vendor_request_register", fill, lambda cd: _get_bool(cd, "success")):
            log.warning("obs-websocket refused the vendor request %s %s", VENDOR, request)
            return False
    state["vendor"] = vendor
    log.info("obs-websocket vendor %s: requests %s", VENDOR, ", ".join(REQUESTS))
    return True
