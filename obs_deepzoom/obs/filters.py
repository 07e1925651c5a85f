"""Our OBS filters: one instance class per kind of filter, called from the ctypes callbacks in script.py.

Video: every effect registers one filter kind that works on any source. On async sources (webcams, media)
`filter_video` gets the decoded raw frame (I420/NV12/YUY2/RGBA...) in CPU memory and the effect's changes are
written back in place; `video_render` then just lets OBS draw it. On other sources (scenes, images, captures)
`video_render` renders the target into a texture, reads it back, runs the effect and draws the result,
once per frame however many views render it. Inference runs in a FrameWorker: OBS never waits longer than
`filter.budget_ms`."""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from ctypes import byref

import cv2
import numpy as np

from ..engine.chain import Chain
from ..errors import DeepZoomError
from ..settings import ChainSettings, FilterSettings
from . import libobs as obs
from .audio_tap import AudioTap
from .frames import SUPPORTED, plane_shapes, to_bgr, write_back
from .kinds import AUDIO_KINDS, BUTTONS, sections
from .properties import PropSpec, from_obs_values, specs_for, to_obs_value
from .worker import FrameWorker

log = logging.getLogger("obs_deepzoom.obs")

_BUILD_LOCK = threading.Lock()  # workers build their chains one at a time (first-use imports and loads)
REBUILD_KEYS = ("face.device", "face.detector", "face.min_detection_confidence")


def _value(settings: ChainSettings, key: str):
    section, name = key.split(".")
    return getattr(getattr(settings, section), name)


def _keep_size(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """OBS frames keep their source's size: an effect that resizes (restore's upscale mode) is scaled back."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _read(data) -> callable:
    def read(spec: PropSpec):
        key = spec.key.encode()
        if spec.kind == "bool":
            return obs.data_get_bool(data, key)
        if spec.kind in ("int", "color"):
            return obs.data_get_int(data, key)
        if spec.kind == "float":
            return obs.data_get_double(data, key)
        return (obs.data_get_string(data, key) or b"").decode()

    return read


def set_defaults(effect: str, data) -> None:
    for spec in specs_for(sections(effect)):
        key, value = spec.key.encode(), to_obs_value(spec, spec.default)
        if spec.kind == "bool":
            obs.data_set_default_bool(data, key, bool(value))
        elif spec.kind in ("int", "color"):
            obs.data_set_default_int(data, key, int(value))
        elif spec.kind == "float":
            obs.data_set_default_double(data, key, float(value))
        else:
            obs.data_set_default_string(data, key, str(value).encode())


def build_properties(effect: str, keep: list, buttons: dict | None = None):
    """obs_properties_t for an effect; `keep` holds the byte strings libobs may still point at; `buttons` maps
    a button's key to its (persistent) ctypes click callback."""
    from ..engine.runtime import available_devices

    props = obs.properties_create()
    for spec in specs_for(sections(effect)):
        key, label = spec.key.encode(), f"{spec.key.split('.')[0]}: {spec.label}".encode()
        keep += [key, label]
        if spec.kind == "bool":
            p = obs.properties_add_bool(props, key, label)
        elif spec.kind == "int":
            p = obs.properties_add_int_slider(props, key, label, int(spec.minimum), int(spec.maximum), 1)
        elif spec.kind == "float":
            p = obs.properties_add_float_slider(props, key, label, spec.minimum, spec.maximum, spec.step)
        elif spec.kind == "list":
            p = obs.properties_add_list(props, key, label, obs.COMBO_TYPE_LIST, obs.COMBO_FORMAT_STRING)
            choices = spec.choices
            if spec.key.endswith(".device"):  # only devices OpenVINO has here (AUTO always)
                have = {d.split(".")[0] for d in available_devices()}
                choices = [c for c in spec.choices if c == "AUTO" or c in have]
            for c in choices:
                b = c.encode()
                keep.append(b)
                obs.property_list_add_string(p, b, b)
        elif spec.kind == "color":
            p = obs.lib.obs_properties_add_color(props, key, label)
        elif spec.kind == "path":
            pattern = spec.choices[0].encode()
            keep.append(pattern)
            p = obs.properties_add_path(props, key, label, obs.PATH_FILE, pattern, None)
        else:
            p = obs.properties_add_text(props, key, label, obs.TEXT_DEFAULT)
        if spec.tooltip:
            tip = spec.tooltip.encode()
            keep.append(tip)
            obs.property_set_long_description(p, tip)
    for key, label, _ in BUTTONS.get(effect, []):
        if buttons and key in buttons:
            k, t = key.encode(), label.encode()
            keep += [k, t]
            obs.properties_add_button(props, k, t, buttons[key])
    return props


class _Filter:
    """What every DeepZoom filter shares: its settings sections and validated updates from OBS."""

    def __init__(self, effect: str, source):
        self.effect, self.source = effect, source
        self.sections = sections(effect)
        self.specs = specs_for(self.sections)
        self._lock = threading.Lock()
        self._pending: dict | None = None

    def update(self, data) -> None:
        """UI / websocket thread: validate the new values; the processing thread picks them up."""
        try:
            values = from_obs_values(self.specs, _read(data), self.sections)
        except DeepZoomError as exc:
            obs.blog(obs.LOG_WARNING, f"{self.effect}: ignored invalid setting {exc}")
            return
        with self._lock:
            self._pending = values
        self._updated(values)

    def _updated(self, values: dict) -> None:
        """Hook for settings that take effect on OBS's own thread."""


class VideoFilter(_Filter):
    def __init__(self, effect: str, source, data):
        super().__init__(effect, source)
        self.settings = ChainSettings()
        self.runtime = FilterSettings()
        self.chain: Chain | None = None
        self.error: str | None = None
        self.update(data)
        self.worker = FrameWorker(self._process, name=f"deepzoom-{effect}", max_age=self.runtime.max_age_frames)
        self._gpu = {"size": (0, 0), "texrender": None, "stage": None, "texture": None}
        self._drawn_at = -1
        self._have_result = False
        self.stats = {"raw_frames": 0, "rendered_frames": 0, "formats": set()}
        self.timing: dict[str, float] = {}  # ms summed per stage on OBS's thread
        self._calls: list[str] = []  # effect methods asked for from the UI (buttons), run on the worker

    def _updated(self, values: dict) -> None:
        self.runtime = values["filter"]
        if hasattr(self, "worker"):
            self.worker.max_age = self.runtime.max_age_frames
        name = getattr(values.get(self.effect), "audio_source", None)
        if name is not None and (name or getattr(self, "tap", None)):
            self._tap().attach(name)

    def _tap(self) -> AudioTap:
        if getattr(self, "tap", None) is None:
            audio = obs.get_audio()
            self.tap = AudioTap(int(obs.audio_output_get_channels(audio)),
                                int(obs.audio_output_get_sample_rate(audio)))
        return self.tap

    def _feed_audio(self) -> None:
        """Worker thread: the listened-to source's sound since the last frame, to effects that take it."""
        tap = getattr(self, "tap", None)
        if tap is None:
            return
        tap.retry()  # the source may appear after the filter (scene loading order)
        sound = tap.drain()
        if sound is not None:
            for effect in self.chain.effects:
                if hasattr(effect, "feed_audio"):
                    effect.feed_audio(sound, tap.rate)

    def _apply_pending(self) -> None:
        with self._lock:
            values, self._pending = self._pending, None
        if values is None:
            return
        merged = self.settings.model_copy(update=values)
        old = self.settings
        self.settings = merged
        if self.chain is None or any(_value(old, k) != _value(merged, k) for k in REBUILD_KEYS):
            with _BUILD_LOCK:
                self.chain = Chain([self.effect], merged)  # compiled models come from OpenVINO's cache
        else:
            for effect in self.chain.effects:
                effect.settings = getattr(merged, effect.name)
            if self.chain.tracker is not None:
                self.chain.tracker.settings = merged.face

    def press(self, method: str) -> None:
        """UI thread: a property-page button; the effect's `method` runs on the worker before the next frame."""
        with self._lock:
            self._calls.append(method)

    def _run_calls(self) -> None:
        with self._lock:
            calls, self._calls = self._calls, []
        for method in calls:
            for effect in self.chain.effects:
                if hasattr(effect, method):
                    getattr(effect, method)()

    def _process(self, frame: np.ndarray) -> np.ndarray:
        """Worker thread: newest settings, then the effect. BGR in, BGR out (raw frames); RGBA in, RGBA out
        with the alpha kept (render path)."""
        self._apply_pending()
        self._run_calls()
        self._feed_audio()
        size = (frame.shape[1], frame.shape[0])
        if frame.shape[2] == 3:
            return _keep_size(self.chain.process(frame)[0], size)
        out, _ = self.chain.process(cv2.cvtColor(frame, cv2.COLOR_RGBA2BGR))
        rgba = cv2.cvtColor(_keep_size(out, size), cv2.COLOR_BGR2RGBA)
        rgba[..., 3] = frame[..., 3]
        return rgba

    # ---- async sources: raw frames on the graphics thread ----
    def filter_video(self, frame_ptr):
        f = obs.SourceFrame.from_address(frame_ptr)
        fmt = obs.VIDEO_FORMAT.get(f.format, str(f.format))
        self.stats["formats"].add(fmt)
        if fmt not in SUPPORTED or f.width < 16 or f.height < 16:
            return frame_ptr
        w, h = f.width, f.height
        planes = []
        for i, (rows, width) in enumerate(plane_shapes(fmt, w, h)):
            size = f.linesize[i] * rows
            planes.append(obs.plane(f.data[i], size).reshape(rows, f.linesize[i])[:, :width])
        t = time.perf_counter()
        bgr = to_bgr(fmt, planes, w, h)
        t = self._lap("convert", t)
        out = self.worker.exchange(bgr, self.runtime.budget_ms)
        t = self._lap("wait", t)
        if out is not None:
            write_back(fmt, planes, bgr, out)
            self._lap("write_back", t)
        self.stats["raw_frames"] += 1
        return frame_ptr

    # ---- other sources: readback on the graphics thread ----
    def video_render(self) -> None:
        parent = obs.filter_get_parent(self.source)
        if not parent:  # being removed (OBS 29 may render it once more): draw nothing
            return
        parent_flags = obs.source_get_output_flags(parent)
        if parent_flags & obs.SOURCE_ASYNC:
            obs.source_skip_video_filter(self.source)  # the raw frame was already processed
            return
        target = obs.filter_get_target(self.source)
        w, h = (obs.source_get_base_width(target), obs.source_get_base_height(target)) if target else (0, 0)
        if w < 16 or h < 16:
            obs.source_skip_video_filter(self.source)
            return
        g = self._gpu
        if g["size"] != (w, h):
            self._free_gpu()
            g.update(size=(w, h), texrender=obs.texrender_create(obs.GS_RGBA, 0),
                     stage=obs.stagesurface_create(w, h, obs.GS_RGBA),
                     texture=obs.texture_create(w, h, obs.GS_RGBA, 1, None, obs.GS_DYNAMIC))
            self._drawn_at = -1
        now = obs.get_video_frame_time()
        if now != self._drawn_at:  # once per frame, however many views render us
            self._drawn_at = now
            # a plain (not custom-draw) parent draws only inside the default effect, as OBS's own filters do
            plain = target == parent and not parent_flags & obs.SOURCE_CUSTOM_DRAW
            self._have_result = self._render_and_process(target, w, h, plain)
        self._draw(g["texture"] if self._have_result else obs.texrender_get_texture(g["texrender"]), w, h)

    def _lap(self, stage: str, t0: float) -> float:
        t1 = time.perf_counter()
        self.timing[stage] = self.timing.get(stage, 0.0) + (t1 - t0) * 1e3
        return t1

    def _render_and_process(self, target, w: int, h: int, plain: bool) -> bool:
        g = self._gpu
        t = time.perf_counter()
        obs.texrender_reset(g["texrender"])
        if not obs.texrender_begin(g["texrender"], w, h):
            return False
        obs.gs_clear(obs.GS_CLEAR_COLOR, byref(obs.Vec4()), 0.0, 0)
        obs.gs_ortho(0.0, float(w), 0.0, float(h), -100.0, 100.0)
        obs.blend_state_push()
        obs.blend_function(obs.GS_BLEND_ONE, obs.GS_BLEND_ZERO)
        (obs.source_default_render if plain else obs.source_video_render)(target)
        obs.blend_state_pop()
        obs.texrender_end(g["texrender"])
        t = self._lap("target_render", t)
        obs.stage_texture(g["stage"], obs.texrender_get_texture(g["texrender"]))
        ptr, linesize = ctypes.c_void_p(), ctypes.c_uint32()
        if not obs.stagesurface_map(g["stage"], byref(ptr), byref(linesize)):
            return False
        t = self._lap("readback", t)
        try:  # one copy out of the mapped surface; colour conversions happen in the worker
            rgba = obs.plane(ptr.value, linesize.value * h).reshape(h, linesize.value)[:, : w * 4].reshape(h, w, 4)
            rgba = rgba.copy()
        finally:
            obs.stagesurface_unmap(g["stage"])
        t = self._lap("copy", t)
        out = self.worker.exchange(rgba, self.runtime.budget_ms)
        t = self._lap("wait", t)
        self.stats["rendered_frames"] += 1
        if out is None:
            return False
        obs.texture_set_image(g["texture"], out.ctypes.data, w * 4, False)
        self._lap("upload", t)
        return True

    @staticmethod
    def _draw(texture, w: int, h: int) -> None:
        srgb = obs.framebuffer_srgb_enabled()
        obs.enable_framebuffer_srgb(False)
        effect = obs.get_base_effect(obs.EFFECT_DEFAULT)
        obs.effect_set_texture(obs.effect_get_param_by_name(effect, b"image"), texture)
        while obs.effect_loop(effect, b"Draw"):
            obs.draw_sprite(texture, 0, w, h)
        obs.enable_framebuffer_srgb(srgb)

    def _free_gpu(self) -> None:
        g = self._gpu
        for key, free in (("texrender", obs.texrender_destroy), ("stage", obs.stagesurface_destroy),
                          ("texture", obs.texture_destroy)):
            if g.get(key):
                free(g[key])
                g[key] = None
        g["size"] = (0, 0)

    def destroy(self) -> None:
        if getattr(self, "tap", None) is not None:
            self.tap.detach()
        self.worker.close()
        if any(self._gpu.get(k) for k in ("texrender", "stage", "texture")):
            obs.enter_graphics()
            try:
                self._free_gpu()
            finally:
                obs.leave_graphics()
        n = max(self.stats["rendered_frames"] + self.stats["raw_frames"], 1)
        per_frame = {k: round(v / n, 2) for k, v in self.timing.items()}
        obs.blog(obs.LOG_INFO, f"{self.effect} filter destroyed: {self.worker.stats}, {self.stats}, "
                               f"ms per frame on OBS's thread: {per_frame}")


class AudioFilter(_Filter):
    """filter_audio runs on the source's audio thread with its filter mutex held: the work per call is
    bounded (VAD ~0.2 ms per 32 ms of audio; noise suppression ~1-2 ms per 21 ms block) and done in place;
    nothing here waits on other threads."""

    def __init__(self, effect: str, source, data):
        from ..engine.audio.automute import AutoMute
        from ..engine.audio.denoise import Denoise

        super().__init__(effect, source)
        audio = obs.get_audio()
        self.channels = int(obs.audio_output_get_channels(audio))
        self.rate = int(obs.audio_output_get_sample_rate(audio))
        self.update(data)
        processors = {"automute": AutoMute, "denoise": Denoise}
        self.processor = processors[effect](getattr(self._take(), effect), self.rate, self.channels)
        self.stats = {"calls": 0, "frames": 0}
        obs.blog(obs.LOG_INFO, f"{effect}: {self.channels} ch at {self.rate} Hz, added latency "
                               f"{self.processor.latency_ms:.1f} ms")

    def _take(self) -> ChainSettings:
        with self._lock:
            values, self._pending = self._pending, None
        return ChainSettings().model_copy(update=values or {})

    def filter_audio(self, audio_ptr):
        a = obs.AudioData.from_address(audio_ptr)
        n = int(a.frames)
        if n == 0 or not all(a.data[c] for c in range(self.channels)):
            return audio_ptr
        if self._pending is not None:
            self.processor.update(getattr(self._take(), self.effect))
        planes = [obs.float_plane(a.data[c], n) for c in range(self.channels)]
        out = self.processor.process(np.stack(planes))
        for c, plane in enumerate(planes):
            plane[:] = out[c]
        self.stats["calls"] += 1
        self.stats["frames"] += n
        return audio_ptr

    def destroy(self) -> None:
        obs.blog(obs.LOG_INFO, f"{self.effect} filter destroyed: {self.stats}, {self.processor.stats}")


def make_filter(effect: str, source, data):
    return (AudioFilter if effect in AUDIO_KINDS else VideoFilter)(effect, source, data)
