"""Filter kinds registered with libobs through ctypes.

The real-time callbacks (filter_video, filter_remove, video_render, filter_audio) are the native shim's C
functions: OBS calls them without Python. The rest (create, destroy, update, defaults, properties, buttons:
OBS's UI and loading threads) are Python callbacks that forward to the current `Dispatch`. `create` returns
the native object's address, which OBS hands to every callback; Python finds its instance by it."""

from __future__ import annotations

import ctypes
import logging
import sys
import threading

from . import filters, vendor
from . import libobs as obs
from . import native as native_shim
from .filters import make_filter
from .kinds import ALL_KINDS, BUTTONS, SOURCE_KINDS, is_audio
from .property_page import build_properties, set_defaults

log = logging.getLogger("obs_deepzoom.obs")


class Dispatch:
    """What the Python callbacks call; replaced at every script load. Never raises into libobs."""

    def __init__(self, state: dict):
        self.state = state

    def _note_thread(self) -> None:
        """Count a Python callback that runs on one of OBS's real-time threads (it had to take the GIL)."""
        native = self.state.get("native")
        if native is not None and native.dz_is_hot_thread(threading.get_native_id()):
            filters.GIL_WAITS["count"] += 1
            caller = sys._getframe(1).f_code.co_name
            if caller not in filters.GIL_WAITS:
                filters.GIL_WAITS[caller] = threading.current_thread().name
                log.warning("the %s callback ran on one of OBS's real-time threads", caller)

    def create(self, effect: str, data, source):
        self._note_thread()
        try:
            if effect in SOURCE_KINDS:
                from .receiver import ReceiverSource

                inst = ReceiverSource(source, data, self.state["native"])
            else:
                inst = make_filter(effect, source, data, self.state["native"])
            self.state["instances"][inst.handle] = inst
            return inst.handle
        except Exception as exc:
            log.error("creating the %s filter failed: %s", effect, exc)
            return None

    def destroy(self, key):
        self._note_thread()
        inst = self.state["instances"].pop(key, None)
        if inst is not None:
            try:
                inst.destroy()
            except Exception as exc:
                log.error("destroying a filter failed: %s", exc)

    def update(self, key, data):
        self._note_thread()
        inst = self.state["instances"].get(key)
        if inst is not None:
            try:
                inst.update(data)
            except Exception as exc:
                log.error("updating %s failed: %s", inst.effect, exc)

    def press(self, key, method: str) -> bool:
        self._note_thread()
        inst = self.state["instances"].get(key)
        if inst is not None and hasattr(inst, "press"):
            try:
                inst.press(method)
            except Exception as exc:
                log.error("%s button failed: %s", inst.effect, exc)
        return False  # the property page needs no refresh

    def properties(self, effect: str, key):
        self._note_thread()
        inst = self.state["instances"].get(key)
        try:
            return build_properties(effect, self.state.get("buttons", {}).get(effect),
                                    inst.status() if inst is not None else None)
        except Exception as exc:
            log.error("building %s properties failed: %s", effect, exc)
            return obs.properties_create()

    def defaults(self, effect: str, data):
        self._note_thread()
        try:
            set_defaults(effect, data)
        except Exception as exc:
            log.error("setting %s defaults failed: %s", effect, exc)


def _callbacks(state: dict, name: str) -> dict:
    """The callbacks every kind of ours has: the name (native: returns type_data) and the UI-thread ones."""
    impl = lambda: state["impl"]  # noqa: E731  (always the newest code)
    return {
        "get_name": obs.GetName(native_shim.callback_address(state["native"], "dz_get_name")),
        "create": obs.Create(lambda data, source: impl().create(name, data, source)),
        "destroy": obs.Destroy(lambda key: impl().destroy(key)),
        "get_defaults": obs.GetDefaults(lambda data: impl().defaults(name, data)),
        "get_properties": obs.GetProperties(lambda key: impl().properties(name, key)),
        "update": obs.Update(lambda key, data: impl().update(key, data)),
    }


def _submit(state: dict, info, callbacks: dict, *buffers) -> None:
    for field, cb in callbacks.items():
        setattr(info, field, cb)
    state["keep"] += [*buffers, info, *callbacks.values()]
    obs.register_source(ctypes.byref(info), ctypes.sizeof(info))


def _register(state: dict, effect: str, kind: str, display: str) -> None:
    lib = state["native"]
    ident, name = ctypes.create_string_buffer(kind.encode()), ctypes.create_string_buffer(display.encode())
    impl = lambda: state["impl"]  # noqa: E731  (always the newest code)
    callbacks = _callbacks(state, effect)
    buttons = state.setdefault("buttons", {}).setdefault(effect, {})
    for key, _, method in BUTTONS.get(effect, []):
        buttons[key] = obs.ButtonClicked(lambda _props, _prop, data, m=method: impl().press(data, m))
        state["keep"].append(buttons[key])
    # video filters' update too: libobs defers it to the graphics thread (obs_source_video_tick)
    native = {"filter_audio": obs.FilterAudio} if is_audio(effect) else {
        "video_render": obs.VideoRender, "filter_video": obs.FilterVideo, "filter_remove": obs.FilterRemove,
        "update": obs.Update}
    for field, proto in native.items():
        symbol = {"filter_audio": "dz_filter_audio", "video_render": "dz_video_render", "update": "dz_video_update",
                  "filter_video": "dz_filter_video", "filter_remove": "dz_filter_remove"}[field]
        callbacks[field] = proto(native_shim.callback_address(lib, symbol))  # a C function: no GIL
    info = obs.SourceInfo(id=ctypes.cast(ident, ctypes.c_char_p), type=obs.SOURCE_TYPE_FILTER,
                          output_flags=obs.SOURCE_AUDIO if is_audio(effect) else obs.SOURCE_VIDEO,
                          type_data=ctypes.addressof(name))
    _submit(state, info, callbacks, ident, name)


def _register_source(state: dict, name: str, kind: str, display: str) -> None:
    """A source of ours (the keypoint receiver): asynchronous video that our own thread outputs; its update is
    the native one (libobs defers a video source's update to the graphics thread), which only counts."""
    ident, title = ctypes.create_string_buffer(kind.encode()), ctypes.create_string_buffer(display.encode())
    callbacks = _callbacks(state, name)
    callbacks["update"] = obs.Update(native_shim.callback_address(state["native"], "dz_video_update"))
    info = obs.SourceInfo(id=ctypes.cast(ident, ctypes.c_char_p), type=obs.SOURCE_TYPE_INPUT,
                          output_flags=obs.SOURCE_VIDEO | obs.SOURCE_ASYNC | obs.SOURCE_DO_NOT_DUPLICATE,
                          type_data=ctypes.addressof(title))
    _submit(state, info, callbacks, ident, title)


def register_all(state: dict) -> None:
    if state.get("native") is None:
        state["native"] = native_shim.load(obs)  # loaded once per process: libobs keeps its addresses
        log.info("native callbacks loaded (libobs %s, %s)", obs.VERSION, obs.LIB_NAME or "process symbols")
    for effect, (kind, display) in ALL_KINDS.items():
        if kind in state["registered"]:
            continue
        _register(state, effect, kind, display)
        state["registered"].add(kind)
        log.info("registered filter %s (%s)", kind, display)
    for name, (kind, display) in SOURCE_KINDS.items():
        if kind not in state["registered"]:
            _register_source(state, name, kind, display)
            state["registered"].add(kind)
            log.info("registered source %s (%s)", kind, display)
    try:
        vendor.register(state)
    except Exception as exc:  # remote statistics are optional: the filters work without them
        log.error("registering the obs-websocket vendor requests failed: %s", exc)
