"""Filter kinds registered with libobs through ctypes; callbacks forward to the current `Dispatch`."""

from __future__ import annotations

import ctypes
import logging

from . import libobs as obs
from .filters import build_properties, make_filter, set_defaults
from .kinds import ALL_KINDS, BUTTONS, is_audio

log = logging.getLogger("obs_deepzoom.obs")


class Dispatch:
    """What the callbacks call; replaced at every script load. Never raises."""

    def __init__(self, state: dict):
        self.state = state

    def create(self, effect: str, data, source):
        try:
            self.state["next"] += 1
            key = self.state["next"]
            self.state["instances"][key] = make_filter(effect, source, data)
            return key
        except Exception as exc:
            log.error("creating the %s filter failed: %s", effect, exc)
            return None

    def destroy(self, key):
        inst = self.state["instances"].pop(key, None)
        if inst is not None:
            try:
                inst.destroy()
            except Exception as exc:
                log.error("destroying a filter failed: %s", exc)

    def update(self, key, data):
        inst = self.state["instances"].get(key)
        if inst is not None:
            try:
                inst.update(data)
            except Exception as exc:
                log.error("updating %s failed: %s", inst.effect, exc)

    def video_render(self, key):
        inst = self.state["instances"].get(key)
        if inst is None:
            return
        try:
            inst.video_render()
        except Exception as exc:
            log.error("%s render failed: %s", inst.effect, exc)
            obs.source_skip_video_filter(inst.source)

    def _data_callback(self, key, what: str, method: str, data):
        """filter_video / filter_audio: the instance's result, or the data unchanged if anything fails."""
        inst = self.state["instances"].get(key)
        if inst is not None:
            try:
                return getattr(inst, method)(data)
            except Exception as exc:
                log.error("%s %s failed: %s", inst.effect, what, exc)
        return data

    def filter_video(self, key, frame):
        return self._data_callback(key, "raw frame", "filter_video", frame)

    def filter_audio(self, key, audio):
        return self._data_callback(key, "audio", "filter_audio", audio)

    def press(self, key, method: str) -> bool:
        inst = self.state["instances"].get(key)
        if inst is not None and hasattr(inst, "press"):
            try:
                inst.press(method)
            except Exception as exc:
                log.error("%s button failed: %s", inst.effect, exc)
        return False  # the property page needs no refresh

    def properties(self, effect: str):
        try:
            return build_properties(effect, self.state["keep"], self.state.get("buttons", {}).get(effect))
        except Exception as exc:
            log.error("building %s properties failed: %s", effect, exc)
            return obs.properties_create()

    def defaults(self, effect: str, data):
        try:
            set_defaults(effect, data)
        except Exception as exc:
            log.error("setting %s defaults failed: %s", effect, exc)


def _register(state: dict, effect: str, kind: str, display: str) -> None:
    ident, name = ctypes.create_string_buffer(kind.encode()), ctypes.create_string_buffer(display.encode())
    impl = lambda: state["impl"]  # noqa: E731  (always the newest code)
    callbacks = {
        "get_name": obs.GetName(lambda _: ctypes.addressof(name)),
        "create": obs.Create(lambda data, source: impl().create(effect, data, source)),
        "destroy": obs.Destroy(lambda key: impl().destroy(key)),
        "get_defaults": obs.GetDefaults(lambda data: impl().defaults(effect, data)),
        "get_properties": obs.GetProperties(lambda key: impl().properties(effect)),
        "update": obs.Update(lambda key, data: impl().update(key, data)),
    }
    buttons = state.setdefault("buttons", {}).setdefault(effect, {})
    for key, _, method in BUTTONS.get(effect, []):
        buttons[key] = obs.ButtonClicked(lambda _props, _prop, data, m=method: impl().press(data, m))
        state["keep"].append(buttons[key])
    if is_audio(effect):
        callbacks["filter_audio"] = obs.FilterAudio(lambda key, audio: impl().filter_audio(key, audio))
    else:
        callbacks["video_render"] = obs.VideoRender(lambda key, _effect: impl().video_render(key))
        callbacks["filter_video"] = obs.FilterVideo(lambda key, frame: impl().filter_video(key, frame))
    info = obs.SourceInfo(id=ctypes.cast(ident, ctypes.c_char_p), type=obs.SOURCE_TYPE_FILTER,
                          output_flags=obs.SOURCE_AUDIO if is_audio(effect) else obs.SOURCE_VIDEO)
    for field, cb in callbacks.items():
        setattr(info, field, cb)
    state["keep"] += [ident, name, info, *callbacks.values()]
    obs.register_source(ctypes.byref(info), ctypes.sizeof(info))


def register_all(state: dict) -> None:
    for effect, (kind, display) in ALL_KINDS.items():
        if kind in state["registered"]:
            continue
        _register(state, effect, kind, display)
        state["registered"].add(kind)
        log.info("registered filter %s (%s)", kind, display)
