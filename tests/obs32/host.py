"""A libobs 32.2.2 host for the OBS 32 test tier: starts libobs in this process (through pylibobs, test-only),
registers DeepZoom's filter kinds the way script.py does inside OBS, then does what a user does with each kind.

    python tests/obs32/host.py version|layout|kinds|run|bench [--effects a,b] [--frames N] [--seconds S]

It needs the environment of `obs_deepzoom.reference.obs32_env()` (FFmpeg 6 soname links on LD_LIBRARY_PATH,
pylibobs on PYTHONPATH, LIBGL_ALWAYS_SOFTWARE=1) and an X display; run without it, it re-runs itself with that
environment and its own Xvfb. `--shim-libobs0 DIR` adds DIR/libobs.so.0 -> libobs 32.2.2 in front of
LD_LIBRARY_PATH (for a bridge that binds `libobs.so.0` by name).

Output: one JSON object per line on stdout, one per step, flushed as it happens (a crash shows as the last
step reached); libobs's own log goes to stderr. The last line is {"step": "end"}. Every libobs call this file
makes itself goes through ctypes with argtypes/restype set, or through pylibobs's declared functions."""

from __future__ import annotations

import argparse
import ctypes
import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char_p,
    c_double,
    c_float,
    c_int,
    c_int64,
    c_long,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

P = c_void_p
MAX_AV_PLANES = 8
OUT = sys.stdout  # the JSON channel (fd 1 is pointed at stderr once libobs may print)


def emit(step: str, **fields) -> None:
    OUT.write(json.dumps({"step": step, **fields}, default=str) + "\n")
    OUT.flush()


# ---- OBS 32.2.2's structs, from libobs/obs-source.h and obs.h at tag 32.2.2 (x86_64) ----------------------
# sizes and offsets checked with gcc against those headers: obs_source_info is 424 bytes, `version` at 368,
# `icon_type` at 288, `filter_add` at 400; obs_source_frame 232 (refs at 216); obs_audio_data 80;
# obs_source_audio 88.
OBS32_SOURCE_INFO = [
    ("id", c_char_p), ("type", c_int), ("output_flags", c_uint32),
    ("get_name", P), ("create", P), ("destroy", P), ("get_width", P), ("get_height", P),
    ("get_defaults", P), ("get_properties", P), ("update", P), ("activate", P), ("deactivate", P),
    ("show", P), ("hide", P), ("video_tick", P), ("video_render", P), ("filter_video", P), ("filter_audio", P),
    ("enum_active_sources", P), ("save", P), ("load", P), ("mouse_click", P), ("mouse_move", P),
    ("mouse_wheel", P), ("focus", P), ("key_click", P), ("filter_remove", P), ("type_data", P),
    ("free_type_data", P), ("audio_render", P), ("enum_all_sources", P), ("transition_start", P),
    ("transition_stop", P), ("get_defaults2", P), ("get_properties2", P), ("audio_mix", P),
    ("icon_type", c_int), ("media_play_pause", P), ("media_restart", P), ("media_stop", P), ("media_next", P),
    ("media_previous", P), ("media_get_duration", P), ("media_get_time", P), ("media_set_time", P),
    ("media_get_state", P), ("version", c_uint32), ("unversioned_id", c_char_p), ("missing_files", P),
    ("video_get_color_space", P), ("filter_add", P), ("get_dark_icon", P), ("get_light_icon", P),
]
OBS32_MEASURED = {"sizeof": 424, "icon_type": 288, "version": 368, "filter_add": 400, "get_light_icon": 416}


class Obs32SourceInfo(Structure):
    _fields_ = OBS32_SOURCE_INFO


class Obs32SourceFrame(Structure):
    _fields_ = [
        ("data", POINTER(c_uint8) * MAX_AV_PLANES), ("linesize", c_uint32 * MAX_AV_PLANES),
        ("width", c_uint32), ("height", c_uint32), ("timestamp", c_uint64), ("format", c_int),
        ("color_matrix", c_float * 16), ("full_range", c_bool), ("max_luminance", c_uint16),
        ("color_range_min", c_float * 3), ("color_range_max", c_float * 3), ("flip", c_bool),
        ("flags", c_uint8), ("trc", c_uint8), ("refs", c_long), ("prev_frame", c_bool),
    ]


class Obs32AudioData(Structure):
    _fields_ = [("data", POINTER(c_uint8) * MAX_AV_PLANES), ("frames", c_uint32), ("timestamp", c_uint64)]


class Obs32SourceAudio(Structure):
    _fields_ = [("data", POINTER(c_uint8) * MAX_AV_PLANES), ("frames", c_uint32), ("speakers", c_int),
                ("format", c_int), ("samples_per_sec", c_uint32), ("timestamp", c_uint64)]


def compare_layout(ours: type[Structure], theirs: type[Structure]) -> dict:
    """Our ctypes struct against OBS 32's: every field of ours at the same offset with the same size."""
    mismatches = []
    for name, *_ in ours._fields_:
        o, t = getattr(ours, name), getattr(theirs, name, None)
        if t is None:
            mismatches.append(f"{name}: not a field of OBS 32's struct")
        elif (o.offset, o.size) != (t.offset, t.size):
            mismatches.append(f"{name}: ours at {o.offset} ({o.size} bytes), OBS 32 at {t.offset} ({t.size} bytes)")
    size = ctypes.sizeof(ours)
    return {"ours_sizeof": size, "obs32_sizeof": ctypes.sizeof(theirs), "mismatches": mismatches,
            "obs32_fields_not_covered": [n for n, *_ in theirs._fields_ if getattr(theirs, n).offset >= size]}


def layout_report(bridge) -> dict:
    info = compare_layout(bridge.SourceInfo, Obs32SourceInfo)
    version = Obs32SourceInfo.version
    # obs_register_source_s (29.0.2 and 32.2.2 alike) calls get_source_info2(info->id, info->version) before
    # it looks at `size`: it reads `version` from the caller's memory whatever size was passed.
    info["reads_version_beyond_size"] = info["ours_sizeof"] < version.offset + version.size
    mirror = {name: getattr(Obs32SourceInfo, name).offset for name in OBS32_MEASURED if name != "sizeof"}
    mirror["sizeof"] = ctypes.sizeof(Obs32SourceInfo)
    return {"source_info": info, "source_frame": compare_layout(bridge.SourceFrame, Obs32SourceFrame),
            "audio_data": compare_layout(bridge.AudioData, Obs32AudioData),
            "mirror_matches_header": mirror == OBS32_MEASURED}


# ---- typed bindings to the host's libobs ---------------------------------------------------------------------
class Dl_info(Structure):  # noqa: N801 (the C name)
    _fields_ = [("dli_fname", c_char_p), ("dli_fbase", P), ("dli_sname", c_char_p), ("dli_saddr", P)]


_libc = ctypes.CDLL(None)
_dladdr = _libc.dladdr
_dladdr.argtypes = [P, POINTER(Dl_info)]
_dladdr.restype = c_int


def library_of(address: int) -> str:
    info = Dl_info()
    return os.path.realpath(info.dli_fname.decode()) if _dladdr(address, ctypes.byref(info)) and info.dli_fname else ""


GetName = CFUNCTYPE(P, P)
Create = CFUNCTYPE(P, P, P)
Destroy = CFUNCTYPE(None, P)
FilterVideo = CFUNCTYPE(P, P, P)
AudioCapture = CFUNCTYPE(None, P, P, P, c_bool)

SIGNATURES = {
    "obs_get_version_string": (c_char_p,),
    "obs_register_source_s": (None, POINTER(Obs32SourceInfo), c_size_t),
    "obs_enum_filter_types": (c_bool, c_size_t, POINTER(c_char_p)),
    "obs_source_get_display_name": (c_char_p, c_char_p),
    "obs_source_create": (P, c_char_p, c_char_p, P, P),
    "obs_source_create_private": (P, c_char_p, c_char_p, P),
    "obs_source_release": (None, P),
    "obs_source_get_id": (c_char_p, P),
    "obs_source_get_output_flags": (c_uint32, P),
    "obs_source_get_width": (c_uint32, P),
    "obs_source_get_height": (c_uint32, P),
    "obs_source_filter_add": (None, P, P),
    "obs_source_filter_remove": (None, P, P),
    "obs_source_filter_count": (c_size_t, P),
    "obs_source_update": (None, P, P),
    "obs_source_get_settings": (P, P),
    "obs_source_properties": (P, P),
    "obs_source_set_async_unbuffered": (None, P, c_bool),
    "obs_source_output_video": (None, P, POINTER(Obs32SourceFrame)),
    "obs_source_output_audio": (None, P, POINTER(Obs32SourceAudio)),
    "obs_source_add_audio_capture_callback": (None, P, AudioCapture, P),
    "obs_source_remove_audio_capture_callback": (None, P, AudioCapture, P),
    "obs_set_output_source": (None, c_uint32, P),
    "obs_properties_first": (P, P),
    "obs_property_next": (c_bool, POINTER(P)),
    "obs_property_name": (c_char_p, P),
    "obs_property_description": (c_char_p, P),
    "obs_property_long_description": (c_char_p, P),
    "obs_property_get_type": (c_int, P),
    "obs_property_int_min": (c_int, P),
    "obs_property_int_max": (c_int, P),
    "obs_property_float_min": (c_double, P),
    "obs_property_float_max": (c_double, P),
    "obs_property_path_type": (c_int, P),
    "obs_property_list_item_count": (c_size_t, P),
    "obs_property_list_item_string": (c_char_p, P, c_size_t),
    "obs_property_list_item_name": (c_char_p, P, c_size_t),
    "obs_property_group_content": (P, P),
    "obs_property_button_clicked": (c_bool, P, P),
    "obs_properties_destroy": (None, P),
    "obs_data_create": (P,),
    "obs_data_release": (None, P),
    "obs_data_set_bool": (None, P, c_char_p, c_bool),
    "obs_data_set_int": (None, P, c_char_p, c_int64),
    "obs_data_set_double": (None, P, c_char_p, c_double),
    "obs_data_set_string": (None, P, c_char_p, c_char_p),
    "obs_data_get_double": (c_double, P, c_char_p),
    "obs_data_get_json": (c_char_p, P),
    "video_format_get_parameters": (c_bool, c_int, c_int, POINTER(c_float * 16), POINTER(c_float * 3),
                                    POINTER(c_float * 3)),
    "obs_wait_for_destroy_queue": (c_bool,),
    "obs_get_average_frame_time_ns": (c_uint64,),
    "obs_get_total_frames": (c_uint32,),
    "obs_get_lagged_frames": (c_uint32,),
}
PROPERTY_TYPES = {0: "invalid", 1: "bool", 2: "int", 3: "float", 4: "text", 5: "path", 6: "list", 7: "color",
                  8: "button", 9: "font", 10: "editable_list", 11: "frame_rate", 12: "group", 13: "color_alpha"}
# enum video_format (media-io/video-io.h)
FORMATS = {"I420": 1, "NV12": 2, "YVYU": 3, "YUY2": 4, "UYVY": 5, "RGBA": 6, "BGRA": 7, "BGRX": 8, "I444": 10}
SOURCE_VIDEO, SOURCE_AUDIO, SOURCE_ASYNC = 1, 2, 4
AUDIO_FORMAT_FLOAT_PLANAR, SPEAKERS_STEREO = 8, 2
VIDEO_CS_709, VIDEO_RANGE_PARTIAL = 2, 1


class Host:
    """libobs 32.2.2 in this process: started by pylibobs, called through typed ctypes."""

    def __init__(self):
        self.path = os.environ.get("LIBOBS_PATH", "")
        self.video_size, self.modules = (640, 360), ["image-source"]
        self.lib = None
        self.ctx = None
        self._keep: list = []

    def start(self, config_dir: str) -> dict:
        t0 = time.perf_counter()
        import pylibobs
        from pylibobs import _ffi

        self.pylibobs, self.ffi = pylibobs, _ffi.ffi
        self.cffi_lib = _ffi.get_lib()
        loaded = time.perf_counter()
        # the library pylibobs loaded (RTLD_NOLOAD: never a second copy)
        self.lib = ctypes.CDLL(self.path, mode=os.RTLD_NOLOAD)
        for name, (restype, *argtypes) in SIGNATURES.items():
            f = getattr(self.lib, name)
            f.restype, f.argtypes = restype, list(argtypes)
        self.ctx = pylibobs.OBSContext(module_config_path=config_dir)
        self.ctx.startup()
        self.ctx.set_video(width=self.video_size[0], height=self.video_size[1], fps_num=30)
        self.ctx.set_audio(samples_per_sec=48000)
        modules = self._load_modules(self.modules)
        glob = hasattr(ctypes.CDLL(None), "obs_startup")
        return {"version": self.lib.obs_get_version_string().decode(), "path": self.path,
                "realpath": library_of(self.addr("obs_get_version_string")), "modules": modules,
                "global_symbols": glob, "load_s": round(loaded - t0, 3),
                "start_s": round(time.perf_counter() - t0, 3), "video": self.ctx.get_current_video_info()}

    def _load_modules(self, names: list[str]) -> dict:
        """Only the plugins the tier uses (pylibobs's load_modules opens every bundled one)."""
        from pylibobs._lib import get_bundled_modules

        lib, ffi, out = self.cffi_lib, self.ffi, {}
        for name, bin_path, data_path in get_bundled_modules():
            if name in names:
                module = ffi.new("obs_module_t **")
                rc = lib.obs_open_module(module, bin_path.encode(), data_path.encode())
                out[name] = rc == 0 and bool(lib.obs_init_module(module[0]))
        lib.obs_post_load_modules()
        return out

    def addr(self, name: str) -> int:
        return ctypes.cast(getattr(self.lib, name), P).value

    def __getattr__(self, name):
        if name.startswith(("obs_", "video_")):
            return getattr(self.lib, name)
        raise AttributeError(name)

    def render(self, source: int, w: int, h: int):
        """The source rendered through its filters into BGRA, as an (h, w, 4) array (pylibobs's readback)."""
        import numpy as np

        r = self.pylibobs.render_source_to_bgra(self.ffi.cast("obs_source_t *", source), w, h)
        if r is None:
            return None
        data, stride = r
        return np.frombuffer(data, np.uint8).reshape(h, stride)[:, : w * 4].reshape(h, w, 4)

    def data(self, values: dict) -> int:
        d = self.obs_data_create()
        for key, value in values.items():
            k = key.encode()
            if isinstance(value, bool):
                self.obs_data_set_bool(d, k, value)
            elif isinstance(value, int):
                self.obs_data_set_int(d, k, value)
            elif isinstance(value, float):
                self.obs_data_set_double(d, k, value)
            else:
                self.obs_data_set_string(d, k, str(value).encode())
        return d

    def filter_types(self) -> list[str]:
        out, i, ident = [], 0, c_char_p()
        while self.obs_enum_filter_types(i, ctypes.byref(ident)):
            out.append(ident.value.decode())
            i += 1
        return out

    def properties(self, source: int, click_buttons: bool = False) -> list[dict]:
        """The filter's property page as OBS's UI reads it: every property's name, type, label and range."""
        props = self.obs_source_properties(source)
        out = []
        if not props:
            return out
        self._walk(props, source, click_buttons, out, None)
        self.obs_properties_destroy(props)
        return out

    def _walk(self, props, source: int, click_buttons: bool, out: list, group) -> None:
        p = P(self.obs_properties_first(props))
        while p.value:
            kind = PROPERTY_TYPES.get(self.obs_property_get_type(p), "?")
            item = {"name": (self.obs_property_name(p) or b"").decode(), "type": kind,
                    "label": (self.obs_property_description(p) or b"").decode(),
                    "tooltip": bool(self.obs_property_long_description(p)), "group": group}
            if kind == "int":
                item["range"] = [self.obs_property_int_min(p), self.obs_property_int_max(p)]
            elif kind == "float":
                item["range"] = [self.obs_property_float_min(p), self.obs_property_float_max(p)]
            elif kind == "path":  # enum obs_path_type: a file to open, a file to save, a folder
                item["path_type"] = {0: "file", 1: "file_save", 2: "folder"}.get(self.obs_property_path_type(p), "?")
            elif kind == "list":
                item["items"] = [self.obs_property_list_item_string(p, i).decode()
                                 for i in range(self.obs_property_list_item_count(p))]
                item["names"] = [self.obs_property_list_item_name(p, i).decode()
                                 for i in range(self.obs_property_list_item_count(p))]
            elif kind == "button" and click_buttons:
                item["clicked"] = bool(self.obs_property_button_clicked(p, source))
            out.append(item)
            if kind == "group":  # its settings follow it, as OBS's properties view shows them inside it
                self._walk(P(self.obs_property_group_content(p)), source, click_buttons, out, item["name"])
            if not self.obs_property_next(ctypes.byref(p)):
                break

    def register_test_source(self) -> str:
        """A test-only async video + audio input we push frames and audio blocks into (OBS 32's full struct)."""
        kind = b"deepzoom_test_av"
        name = ctypes.create_string_buffer(b"DeepZoom test A/V input")
        instance = ctypes.create_string_buffer(b"x")  # create() must return non-NULL
        cbs = [GetName(lambda _: ctypes.addressof(name)), Create(lambda _s, _src: ctypes.addressof(instance)),
               Destroy(lambda _d: None)]
        info = Obs32SourceInfo(id=kind, type=0, output_flags=SOURCE_VIDEO | SOURCE_ASYNC | SOURCE_AUDIO)
        info.get_name, info.create, info.destroy = (ctypes.cast(cb, P) for cb in cbs)
        self._keep += [kind, name, instance, info, *cbs]
        self.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
        return kind.decode()

    def register_tap(self, frames: list) -> str:
        """A test-only async video filter that copies every frame it sees (placed after ours: OBS runs async
        filters oldest first) — what our filter hands on to OBS, byte for byte."""
        import numpy as np

        from obs_deepzoom.obs.frames import plane_shapes

        names = {v: k for k, v in FORMATS.items()}
        kind = b"deepzoom_test_tap"
        name = ctypes.create_string_buffer(b"DeepZoom test tap")
        instance = ctypes.create_string_buffer(b"t")

        def filter_video(_data, frame_ptr):
            try:
                f = Obs32SourceFrame.from_address(frame_ptr)
                fmt = names.get(f.format, str(f.format))
                planes = []
                for i, (rows, width) in enumerate(plane_shapes(fmt, f.width, f.height)):
                    buf = np.ctypeslib.as_array(f.data[i], (rows * f.linesize[i],)).reshape(rows, f.linesize[i])
                    planes.append(buf[:, :width].copy())
                frames.append({"timestamp": f.timestamp, "format": fmt, "size": (f.width, f.height),
                               "planes": planes})
            except Exception as exc:  # never raise into libobs
                frames.append({"error": repr(exc)})
            return frame_ptr

        cbs = [GetName(lambda _: ctypes.addressof(name)), Create(lambda _s, _src: ctypes.addressof(instance)),
               Destroy(lambda _d: None), FilterVideo(filter_video)]
        info = Obs32SourceInfo(id=kind, type=1, output_flags=SOURCE_VIDEO | SOURCE_ASYNC)
        info.get_name, info.create, info.destroy, info.filter_video = (ctypes.cast(cb, P) for cb in cbs)
        self._keep += [kind, name, instance, info, *cbs]
        self.obs_register_source_s(ctypes.byref(info), ctypes.sizeof(info))
        return kind.decode()

    def push_frame(self, source: int, fmt: str, planes: list, w: int, h: int, timestamp: int) -> None:
        frame = Obs32SourceFrame(width=w, height=h, timestamp=timestamp, format=FORMATS[fmt])
        for i, plane in enumerate(planes):
            frame.data[i] = plane.ctypes.data_as(POINTER(c_uint8))
            frame.linesize[i] = plane.strides[0]
        if fmt not in ("RGBA", "BGRA", "BGRX"):
            self.video_format_get_parameters(VIDEO_CS_709, VIDEO_RANGE_PARTIAL, ctypes.byref(frame.color_matrix),
                                             ctypes.byref(frame.color_range_min),
                                             ctypes.byref(frame.color_range_max))
        else:
            frame.full_range = True
        self.obs_source_output_video(source, ctypes.byref(frame))  # libobs copies the planes

    def push_audio(self, source: int, block, timestamp: int) -> None:
        """One float planar block (channels x frames) at the mix's rate."""
        audio = Obs32SourceAudio(frames=block.shape[1], speakers=SPEAKERS_STEREO, format=AUDIO_FORMAT_FLOAT_PLANAR,
                                 samples_per_sec=48000, timestamp=timestamp)
        for c in range(block.shape[0]):
            audio.data[c] = block[c].ctypes.data_as(POINTER(c_uint8))
        self.obs_source_output_audio(source, ctypes.byref(audio))

    def stop(self) -> None:
        self.obs_set_output_source(0, None)
        self.ctx.shutdown()


# ---- frames ---------------------------------------------------------------------------------------------
def to_planes(bgr, fmt: str) -> list:
    """A BGR picture as the planes of an OBS raw frame (tightly packed)."""
    import cv2
    import numpy as np

    h, w = bgr.shape[:2]
    if fmt in ("BGRA", "BGRX", "RGBA"):
        code = cv2.COLOR_BGR2RGBA if fmt == "RGBA" else cv2.COLOR_BGR2BGRA
        return [np.ascontiguousarray(cv2.cvtColor(bgr, code).reshape(h, w * 4))]
    if fmt == "I444":
        ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
        return [np.ascontiguousarray(ycrcb[..., c]) for c in (0, 2, 1)]
    if fmt in ("YUY2", "UYVY", "YVYU"):
        return [np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_YUY2 if fmt == "YUY2" else
                                                  cv2.COLOR_BGR2YUV_UYVY if fmt == "UYVY" else
                                                  cv2.COLOR_BGR2YUV_YVYU).reshape(h, w * 2))]
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    y, rest = yuv[:h], yuv[h:].reshape(-1)
    n = (h // 2) * (w // 2)
    u, v = rest[:n].reshape(h // 2, w // 2), rest[n:].reshape(h // 2, w // 2)
    if fmt == "I420":
        return [np.ascontiguousarray(p) for p in (y, u, v)]
    uv = np.empty((h // 2, w), np.uint8)
    uv[:, 0::2], uv[:, 1::2] = u, v
    return [np.ascontiguousarray(y), uv]  # NV12


@functools.lru_cache(maxsize=8)
def sample_frames(size: tuple[int, int], count: int) -> list:
    """`count` frames of the face clip then one without a face, at `size` (w, h)."""
    import cv2

    from obs_deepzoom.media import VideoSource
    from obs_deepzoom.samples import sample

    out = []
    for i, f in enumerate(VideoSource.open_file(sample("single_face.mp4")).frames()):
        if i % 6 == 0:
            out.append(cv2.resize(f, size, interpolation=cv2.INTER_AREA))
        if len(out) == count:
            break
    no_face = next(iter(VideoSource.open_file(sample("no_face.mp4")).frames()))
    return out + [cv2.resize(no_face, size, interpolation=cv2.INTER_AREA)]


def compare(pushed: list, seen: list) -> dict:
    import numpy as np

    changed = [int(np.count_nonzero(a != b)) for a, b in zip(pushed, seen)]
    total = sum(p.size for p in pushed)
    return {"equal": not any(changed), "changed_bytes": sum(changed),
            "changed_fraction": round(sum(changed) / total, 5),
            "max_abs_diff": max(int(np.abs(a.astype(int) - b).max()) for a, b in zip(pushed, seen))}


def wait_for(predicate, timeout: float, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


# ---- what a user does ------------------------------------------------------------------------------------
class LogCollector(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(f"{record.levelname}: {record.getMessage()}")


def check_bridge(host: Host) -> dict:
    """Which libobs obs_deepzoom.obs.libobs bound: it must be the host's (one libobs in the process)."""
    from obs_deepzoom.obs import libobs as bridge

    address = ctypes.cast(bridge.lib.obs_get_version_string, P).value
    version = CFUNCTYPE(c_char_p)(address)  # our own typed pointer: the bridge's function object is left alone
    return {"name": getattr(bridge.lib, "_name", None), "bound": library_of(address),
            "host": library_of(host.addr("obs_get_version_string")), "version": version().decode(),
            "same_as_host": address == host.addr("obs_get_version_string")}


def start(host: Host, config_dir: str) -> bool:
    """libobs up; True when our bridge bound that same libobs."""
    info = host.start(config_dir)
    emit("libobs", **info)
    try:
        bridge = check_bridge(host)
    except Exception as exc:
        emit("bridge", ok=False, error=f"importing obs_deepzoom.obs.libobs failed: {type(exc).__name__}: {exc}")
        return False
    emit("bridge", ok=bridge["same_as_host"], **bridge)
    return bridge["same_as_host"]


def register(host: Host) -> dict:
    from obs_deepzoom.obs import registration
    from obs_deepzoom.obs.kinds import ALL_KINDS, SOURCE_KINDS

    state = {"registered": set(), "keep": [], "instances": {}, "next": 0, "impl": None}
    state["impl"] = registration.Dispatch(state)
    registration.register_all(state)
    types = host.filter_types()
    kinds = {kind: (host.obs_source_get_display_name(kind.encode()) or b"").decode()
             for kind, _ in {**ALL_KINDS, **SOURCE_KINDS}.values()}
    emit("register", registered=sorted(state["registered"]), filter_types=types, display_names=kinds,
         missing=[k for k, _ in ALL_KINDS.values() if k not in types])
    return state


def diag(inst) -> dict:
    """What a filter instance tells about itself. Only for the report: the instance's insides change with
    the product, so every attribute is optional here."""
    if inst is None:
        return {}
    out = {}
    stats = getattr(inst, "stats", None)
    try:
        stats = stats() if callable(stats) else stats
    except Exception as exc:
        stats = {"error": repr(exc)}
    if isinstance(stats, dict):
        out["stats"] = {k: sorted(v) if isinstance(v, set) else v for k, v in stats.items()}
    worker = getattr(inst, "worker", None)
    if worker is not None:
        out["worker"] = dict(getattr(worker, "stats", {}))
        out["error"] = getattr(worker, "failed", None)
    error = getattr(inst, "error", None)
    if error and not out.get("error"):
        out["error"] = str(error)
    runtime = getattr(inst, "runtime", None)
    if hasattr(runtime, "model_dump"):
        out["runtime"] = runtime.model_dump()
    return out


def ready(inst) -> bool:
    """The instance's effect is built (or failed): what the warm-ups wait for."""
    worker = getattr(inst, "worker", None)
    failed = getattr(worker, "failed", None) or getattr(inst, "error", None)
    built = getattr(inst, "chain", None) is not None or getattr(inst, "processor", None) is not None
    return inst is None or bool(failed) or built


# settings every video filter gets here: OBS's thread may wait for results (render path), raw frames are
# held long enough for their own result and a late one passes through instead of being dropped, so every
# pushed frame comes out (settings a version does not know are ignored by it)
VIDEO_SETTINGS = {"filter.budget_ms": 100.0, "filter.max_age_frames": 0, "filter.latency_frames": 3,
                  "filter.late_frames": "pass"}
PUSH_INTERVAL_S = 0.1  # raw frames at 10 fps: slower than any effect here, so no frame is late or skipped
FLUSH_FRAMES = 4  # pushed after a run of frames so the held ones come out


def video_settings(effect: str) -> dict:
    settings = dict(VIDEO_SETTINGS)
    if effect == "avatar":
        from obs_deepzoom.samples import sample

        settings["avatar.source"] = str(sample("grace_hopper.jpg"))
    return settings


def new_instance(state: dict, before: set):
    key = next(iter(set(state["instances"]) - before), None)
    return key, state["instances"].get(key)


def run_video(host: Host, state: dict, effect: str, kind: str, image: int, av: int, tap_kind: str,
              tapped: list, frames: int) -> None:
    from obs_deepzoom.samples import sample

    step = lambda name, **kw: emit(f"{effect}:{name}", **kw)  # noqa: E731
    # ---- render path: a filter on the image source ----
    before = set(state["instances"])
    d = host.data({**video_settings(effect), "filter.budget_ms": 50.0})  # as a scene or obs-websocket creates it
    flt = host.obs_source_create_private(kind.encode(), f"{effect} (image)".encode(), d)
    host.obs_data_release(d)
    key, inst = new_instance(state, before)
    step("create", ok=bool(flt), instance=type(inst).__name__ if inst else None,
         id=(host.obs_source_get_id(flt) or b"").decode() if flt else None,
         flags=host.obs_source_get_output_flags(flt) if flt else None)
    if not flt:
        return
    step("properties", properties=host.properties(flt, click_buttons=True))
    d = host.data({"filter.budget_ms": 100.0})  # what the property page sends when a slider moves
    host.obs_source_update(flt, d)
    host.obs_data_release(d)
    s = host.obs_source_get_settings(flt)
    budget = host.obs_data_get_double(s, b"filter.budget_ms")
    host.obs_data_release(s)
    step("update", budget_ms=budget)  # a video source's update is applied at its next tick (deferred)

    w, h = host.obs_source_get_width(image), host.obs_source_get_height(image)
    plain = host.render(image, w, h)
    host.obs_source_filter_add(image, flt)
    t0 = time.perf_counter()  # warm-up: the effect's chain builds on its worker (models from OpenVINO's cache)
    while not ready(inst) and time.perf_counter() - t0 < 60:
        time.sleep(0.04)
        host.render(image, w, h)
    step("render_warmup", s=round(time.perf_counter() - t0, 2), **diag(inst))
    rendered, t0 = [], time.perf_counter()
    for _ in range(frames):
        time.sleep(0.04)  # a new video frame: our filter renders once per frame time
        out = host.render(image, w, h)
        rendered.append(None if out is None else compare([plain], [out]))
    step("render", size=[w, h], frames=rendered, ms_per_frame=round((time.perf_counter() - t0) * 1e3 / frames, 1),
         **diag(inst))
    # resize: another picture of another size in the same source
    d = host.data({"file": str(sample("grace_hopper.jpg"))})
    host.obs_source_update(image, d)
    host.obs_data_release(d)
    wait_for(lambda: host.obs_source_get_width(image) not in (0, w), 5)  # applied at the next tick
    w2, h2 = host.obs_source_get_width(image), host.obs_source_get_height(image)
    outs = []
    for _ in range(3):
        time.sleep(0.04)
        out = host.render(image, w2, h2)
        outs.append(None if out is None else list(out.shape))
    step("resize", size=[w2, h2], frames=outs, **diag(inst))
    host.obs_source_filter_remove(image, flt)
    host.obs_source_release(flt)
    gone = wait_for(lambda: key not in state["instances"], 5)
    step("remove", destroyed=gone, filters_left=host.obs_source_filter_count(image))
    d = host.data({"file": str(sample("single_face.jpg"))})
    host.obs_source_update(image, d)
    host.obs_data_release(d)

    # ---- async path: a filter on the pushed-frame source, the tap after it ----
    before = set(state["instances"])
    d = host.data(video_settings(effect))
    flt = host.obs_source_create_private(kind.encode(), f"{effect} (async)".encode(), d)
    host.obs_data_release(d)
    key, inst = new_instance(state, before)
    tap = host.obs_source_create_private(tap_kind.encode(), b"tap", None)
    host.obs_source_filter_add(av, flt)
    host.obs_source_filter_add(av, tap)
    step("async_create", ok=bool(flt and inst), filters=host.obs_source_filter_count(av))
    clock = [time.monotonic_ns()]

    def stream(fmt: str, pictures: list, flush) -> list:
        """Push pictures like a camera at 10 fps, then `FLUSH_FRAMES` of `flush`; what came out of each."""
        n = len(tapped)
        pushed = []
        for i, bgr in enumerate(list(pictures) + [flush] * FLUSH_FRAMES):
            planes = to_planes(bgr, fmt)
            clock[0] = max(clock[0] + 1, time.monotonic_ns())
            host.push_frame(av, fmt, planes, bgr.shape[1], bgr.shape[0], clock[0])
            if i < len(pictures):
                pushed.append((clock[0], planes, bgr.shape[1::-1]))
            time.sleep(PUSH_INTERVAL_S)
        wait_for(lambda: any(t.get("timestamp") == pushed[-1][0] for t in tapped[n:]), 2)
        seen = [t for t in tapped[n:] if "timestamp" in t]
        order = [t["timestamp"] for t in seen]
        out = []
        for i, (ts, planes, size) in enumerate(pushed):
            copies = [t for t in seen if t["timestamp"] == ts]
            if not copies:
                out.append({"frame": i, "seen": False})
                continue
            t = copies[0]
            same = t["format"] == fmt and [p.shape for p in t["planes"]] == [p.shape for p in planes]
            out.append({"frame": i, "seen": True, "times": len(copies), "format": t["format"], "size": list(t["size"]),
                        "pushed_size": list(size), "in_order": order.index(ts) == sorted(order).index(ts),
                        **(compare(planes, t["planes"]) if same else {"shape_mismatch": True})})
        return out

    pictures = sample_frames((640, 360), frames)
    t0 = time.perf_counter()
    while not ready(inst) and time.perf_counter() - t0 < 60:  # warm-up, as on the render path
        stream("I420", pictures[:1], pictures[-1])
    stream("I420", pictures[:1], pictures[-1])
    step("async_warmup", s=round(time.perf_counter() - t0, 2), **diag(inst))
    results = {}
    for fmt in ("I420", "NV12", "YUY2", "BGRA"):
        results[fmt] = [{**r, "face": r["frame"] < frames} for r in stream(fmt, pictures, pictures[-1])]
    step("async_frames", formats=results, tap_errors=[t["error"] for t in tapped if "error" in t], **diag(inst))
    # resize: smaller frames, then the original size again
    sizes = []
    for size in ((320, 180), (640, 360)):
        small = sample_frames(size, 1)
        r = stream("NV12", small[:1], small[-1])[0]
        sizes.append({"pushed": list(size), "seen": r.get("size")})
    step("async_resize", sizes=sizes, **diag(inst))
    host.obs_source_filter_remove(av, tap)
    host.obs_source_release(tap)
    host.obs_source_filter_remove(av, flt)
    host.obs_source_release(flt)
    gone = wait_for(lambda: key not in state["instances"], 5)
    step("async_remove", destroyed=gone, filters_left=host.obs_source_filter_count(av))
    tapped.clear()


AUDIO_RATE, BLOCK = 48000, 1024
LEAD_S, SPEECH_S, TAIL_S = 1.0, 3.0, 1.5


def speech_blocks():
    """Stereo 48 kHz float planar 1024-frame blocks: faint noise, the LibriVox sentence, faint noise."""
    import wave

    import numpy as np

    from obs_deepzoom.samples import sample

    with wave.open(str(sample("speech_librivox.wav"))) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    speech48 = np.interp(np.arange(len(speech) * 3) / 3, np.arange(len(speech)), speech).astype(np.float32)
    rng = np.random.default_rng(0)
    mono = np.concatenate([np.zeros(int(AUDIO_RATE * LEAD_S), np.float32), speech48[: int(AUDIO_RATE * SPEECH_S)],
                           np.zeros(int(AUDIO_RATE * TAIL_S), np.float32)])
    mono = mono + rng.normal(0, 0.003, len(mono)).astype(np.float32)
    n = len(mono) // BLOCK * BLOCK
    stereo = np.stack([mono[:n], mono[:n]])
    return [np.ascontiguousarray(stereo[:, i:i + BLOCK]) for i in range(0, n, BLOCK)]


# a generous queue: the worker may be late by this much before a block passes through raw (2 busy cores)
AUDIO_SETTINGS = {"audio_filter.queue_ms": 300.0}
PARITY_TOL = 1e-4  # max abs error of a processed sample against the engine run here on the same signal


def audio_processor(inst):
    return getattr(getattr(inst, "stream", None), "processor", None)


def parity(inst, x, y) -> dict:
    """The filter's output y against the engine's own output for the input x, aligned by the known latency.

    The shim writes output sample k from idx = k - queue: the worker's output e[idx] where it was processed
    in time, else the input x[idx - delay] (delay: the model's own), zeros before that. The worker processes
    every sample, late or not, except where it skipped ahead (it fell far behind); it records the stretches
    its processor saw. The engine's processor (same class, same settings, this process) fed the same
    stretches of x gives e; its output does not depend on how a stretch is cut into blocks. A sample equal
    to the delayed input is "raw"; every other sample must match e within PARITY_TOL."""
    import numpy as np

    from obs_deepzoom.engine.audio.automute import AutoMute
    from obs_deepzoom.engine.audio.denoise import Denoise

    proc, stream = audio_processor(inst), inst.stream
    if proc is None:
        return {"error": "no processor"}
    engine = {"denoise": Denoise, "automute": AutoMute}[inst.effect](proc.settings.model_copy(), stream.rate,
                                                                       stream.channels)
    n = y.shape[1]
    spans = [(s, min(t, n)) for s, t in stream.spans if s < n]
    cuts = list(stream.cuts)
    e = np.zeros_like(x, np.float32)
    for s, t in spans:  # each stretch in the worker's own pieces (the same float arithmetic, bit for bit)
        bounds = [s, *(c for c in cuts if s < c < t), t]
        for a, b in zip(bounds, bounds[1:]):
            e[:, a:b] = engine.process(np.ascontiguousarray(x[:, a:b], np.float32))
    queue, delay = stream.queue, round(engine.latency_ms * stream.rate / 1000)
    shift = lambda a, k: np.concatenate([np.zeros((a.shape[0], k), np.float32), a], axis=1)[:, :n]  # noqa: E731
    e_al, raw = shift(e, queue), shift(x, queue + delay)
    is_raw = (y == raw).all(axis=0)
    err = np.abs(y - e_al).max(axis=0)
    processed = ~is_raw
    matched = processed & (err <= PARITY_TOL)
    stats = stream.stats()
    # where the engine's output equals the delayed input (a gate wide open), a sample is counted "raw" here
    # though it was processed; the counters tell the processed share exactly
    return {"queue_samples": queue, "model_delay_samples": delay, "latency_ms": round(stream.latency_ms(), 3),
            "engine_latency_ms": round(engine.latency_ms, 3), "samples": int(n), "spans": spans,
            "not_raw": int(processed.sum()), "not_raw_matching_engine": int(matched.sum()),
            "max_abs_err_not_raw": float(err[processed].max()) if processed.any() else 0.0,
            "engine_equals_raw": int(((e_al == raw).all(axis=0)).sum()),
            "matching_engine_after_queue": int((err[queue:] <= PARITY_TOL).sum()),
            "counters": {k: stats[k] for k in ("frames", "processed", "raw")},
            "processed_pct": round(100 * stats["processed"] / max(stats["frames"], 1), 2),
            "tolerance": PARITY_TOL}


def push_realtime(host: Host, av: int, blocks: list) -> float:
    """The blocks pushed in real time from a thread of their own, as a microphone delivers them (the
    filter and the capture callback run on it: the shim marks it as one of OBS's real-time threads, so it
    must not be the thread that creates sources). Returns the seconds spent in obs_source_output_audio."""
    import threading

    spent = [0.0]

    def mic():
        dt = BLOCK / AUDIO_RATE
        t0, ts0 = time.monotonic(), time.monotonic_ns()
        for i, block in enumerate(blocks):
            time.sleep(max(0.0, t0 + i * dt - time.monotonic()))
            t = time.perf_counter()
            host.push_audio(av, block.copy(), ts0 + i * BLOCK * 10**9 // AUDIO_RATE)
            spent[0] += time.perf_counter() - t

    thread = threading.Thread(target=mic, name="test-mic")
    thread.start()
    thread.join()
    return spent[0]


def run_audio(host: Host, state: dict, effect: str, kind: str, av: int) -> None:
    import numpy as np

    step = lambda name, **kw: emit(f"{effect}:{name}", **kw)  # noqa: E731
    before = set(state["instances"])
    d = host.data(AUDIO_SETTINGS)
    flt = host.obs_source_create_private(kind.encode(), effect.encode(), d)
    host.obs_data_release(d)
    key, inst = new_instance(state, before)
    step("create", ok=bool(flt), instance=type(inst).__name__ if inst else None,
         flags=host.obs_source_get_output_flags(flt) if flt else None)
    if not flt:
        return
    step("properties", properties=host.properties(flt))
    d = host.data({"denoise.mode": "light"} if effect == "denoise" else {"automute.hangover_ms": 300.0})
    host.obs_source_update(flt, d)
    host.obs_data_release(d)
    step("update", json=json.loads(host.obs_data_get_json(s := host.obs_source_get_settings(flt)) or b"{}"))
    host.obs_data_release(s)
    host.obs_source_filter_add(av, flt)
    # the first pushed sample is the processor's first: settings applied and the processor built before
    t0 = time.perf_counter()
    wait_for(lambda: getattr(inst, "_pending", None) is None and audio_processor(inst) is not None, 60)
    time.sleep(0.3)
    step("audio_warmup", s=round(time.perf_counter() - t0, 2), **diag(inst))
    captured: list = []

    def capture(_param, _source, audio_ptr, muted):
        try:
            a = Obs32AudioData.from_address(audio_ptr)
            n = int(a.frames)
            captured.append(np.stack([np.ctypeslib.as_array(ctypes.cast(a.data[c], POINTER(c_float)), (n,)).copy()
                                      for c in range(2)]))
        except Exception as exc:
            captured.append(repr(exc))

    cb = AudioCapture(capture)
    host.obs_source_add_audio_capture_callback(av, cb, None)
    blocks = speech_blocks()
    spent = push_realtime(host, av, blocks)
    host.obs_source_remove_audio_capture_callback(av, cb, None)
    good = [c for c in captured if not isinstance(c, str)]
    result = {"blocks_in": len(blocks), "blocks_out": len(good), "errors": [c for c in captured if isinstance(c, str)],
              "ms_per_block": round(spent * 1e3 / len(blocks), 3)}
    if good:
        x, y = np.concatenate(blocks, axis=1), np.concatenate(good, axis=1)
        rms = lambda a: round(float(np.sqrt(np.mean(np.square(a, dtype=np.float64)))), 6)  # noqa: E731
        sec = lambda a, b: slice(int(a * AUDIO_RATE), int(b * AUDIO_RATE))  # noqa: E731
        speech, pause = sec(LEAD_S + 0.5, LEAD_S + SPEECH_S - 0.5), sec(LEAD_S + SPEECH_S + TAIL_S - 0.7,
                                                                                        LEAD_S + SPEECH_S + TAIL_S)
        result.update(frames_in=x.shape[1], frames_out=y.shape[1], finite=bool(np.isfinite(y).all()),
                      changed=bool(not np.array_equal(x, y)), rms_speech_in=rms(x[:, speech]),
                      rms_speech_out=rms(y[:, speech]), rms_pause_in=rms(x[:, pause]), rms_pause_out=rms(y[:, pause]))
        result["parity"] = parity(inst, x, y)
    step("audio", **result, **diag(inst))
    host.obs_source_filter_remove(av, flt)
    host.obs_source_release(flt)
    gone = wait_for(lambda: key not in state["instances"], 5)
    step("remove", destroyed=gone, filters_left=host.obs_source_filter_count(av))


def cmd_run(host: Host, args) -> None:
    from obs_deepzoom.obs.kinds import ALL_KINDS, is_audio
    from obs_deepzoom.samples import sample

    collector = LogCollector()
    logging.getLogger("obs_deepzoom").addHandler(collector)
    state = register(host)
    if args.command == "kinds":
        return
    tapped: list = []
    av_kind, tap_kind = host.register_test_source(), host.register_tap(tapped)
    d = host.data({"file": str(sample("single_face.jpg"))})
    image = host.obs_source_create(b"image_source", b"Image", d, None)
    host.obs_data_release(d)
    av = host.obs_source_create(av_kind.encode(), b"Pushed", None, None)
    host.obs_source_set_async_unbuffered(av, True)
    host.obs_set_output_source(0, av)  # active: ticked and rendered every frame
    wait_for(lambda: host.obs_source_get_width(image) > 0, 5)
    emit("sources", image=[host.obs_source_get_width(image), host.obs_source_get_height(image)],
         async_flags=host.obs_source_get_output_flags(av))
    chosen = args.effects.split(",") if args.effects else list(ALL_KINDS)
    for effect in chosen:
        kind = ALL_KINDS[effect][0]
        t0 = time.perf_counter()
        if is_audio(effect):
            run_audio(host, state, effect, kind, av)
        else:
            run_video(host, state, effect, kind, image, av, tap_kind, tapped, args.frames)
        emit(f"{effect}:done", s=round(time.perf_counter() - t0, 2), log=collector.records[-20:])
        collector.records.clear()
    host.obs_set_output_source(0, None)
    for src in (image, av):
        host.obs_source_release(src)
    emit("instances_left", count=len(state["instances"]))


# ---- bench: `deepzoom bench obs --obs 32` runs this (obs_deepzoom/bench/obs32.py reads the steps) --------
def sample_render(host: Host, seconds: float, interval: float = 0.5) -> dict:
    """OBS's own render time (obs_get_average_frame_time_ns: what GetStats reports as averageFrameRenderTime,
    a running average) sampled over a window, with the frames rendered and lagged."""
    import statistics

    total0, lagged0 = host.obs_get_total_frames(), host.obs_get_lagged_frames()
    render, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(interval)
        render.append(host.obs_get_average_frame_time_ns() / 1e6)
    frames = host.obs_get_total_frames() - total0
    lagged = host.obs_get_lagged_frames() - lagged0
    render.sort()
    return {"render_ms": statistics.median(render), "render_ms_p95": render[int(0.95 * (len(render) - 1))],
            "frames": frames, "fps": frames / seconds, "seconds": seconds,
            "skipped_pct": 100 * lagged / max(frames, 1)}


def counters(state: dict) -> dict:
    """Every filter's counters, as it logs them with DEEPZOOM_STATS_S ("<effect> stats: {json}")."""
    from obs_deepzoom.obs import filters

    out = {}
    for inst in list(state["instances"].values()):
        try:
            out[inst.effect] = {**inst.stats(), "gil_waits_on_obs_threads": filters.GIL_WAITS["count"]}
        except Exception as exc:
            out[inst.effect] = {"error": repr(exc)}
    return out


def add_filter(host: Host, state: dict, source: int, kind: str, name: str, settings: dict | None):
    before = set(state["instances"])
    d = host.data(settings) if settings else None
    flt = host.obs_source_create_private(kind.encode(), name.encode(), d)
    if d:
        host.obs_data_release(d)
    _, inst = new_instance(state, before)
    host.obs_source_filter_add(source, flt)
    return flt, inst


def remove_filters(host: Host, state: dict, source: int, filters: list) -> None:
    for flt in filters:
        host.obs_source_filter_remove(source, flt)
        host.obs_source_release(flt)
    wait_for(lambda: not state["instances"], 5)


def warm(insts: list, seconds: float = 60.0) -> float:
    """Until every effect is built (models compiled on its worker), then 2 s of frames."""
    t0 = time.perf_counter()
    wait_for(lambda: all(ready(i) for i in insts), seconds, 0.1)
    time.sleep(2.0)
    return round(time.perf_counter() - t0, 2)


def cmd_bench(host: Host, args) -> None:
    """Phases on a 1280x720 image source shown on OBS's 30 fps canvas (the render path): no filter, OBS's
    color_filter_v2 (peer), the default preset's first video effect, its whole video chain; then the
    default denoise filter on pushed speech (the native audio callback's time). One step per phase."""
    from obs_deepzoom.bench.obs import _face_720p
    from obs_deepzoom.obs import filters
    from obs_deepzoom.obs.kinds import ALL_KINDS
    from obs_deepzoom.obs.properties import obs_settings
    from obs_deepzoom.presets import load as load_preset

    seconds = args.seconds
    state = register(host)
    preset = load_preset("default")
    with tempfile.TemporaryDirectory(prefix="obs32-bench-") as tmp:
        d = host.data({"file": str(_face_720p(Path(tmp) / "face720.png"))})
        image = host.obs_source_create(b"image_source", b"Face720", d, None)
        host.obs_data_release(d)
        host.obs_set_output_source(0, image)  # on the canvas: rendered every frame by OBS's graphics thread
        wait_for(lambda: host.obs_source_get_width(image) > 0, 5)
        emit("bench_setup", canvas=list(host.video_size), image=[host.obs_source_get_width(image),
                                                                  host.obs_source_get_height(image)],
             effect=preset.video[0], chain=preset.video)
        time.sleep(2.0)
        emit("bench_base", **sample_render(host, seconds))

        d = host.data({"saturation": 0.5})
        peer = host.obs_source_create_private(b"color_filter_v2", b"peer", d)
        host.obs_data_release(d)
        host.obs_source_filter_add(image, peer)
        time.sleep(1.0)
        emit("bench_peer", ok=bool(peer), **sample_render(host, seconds))
        host.obs_source_filter_remove(image, peer)
        host.obs_source_release(peer)

        effect = preset.video[0]
        flt, inst = add_filter(host, state, image, ALL_KINDS[effect][0], effect, None)
        warmup = warm([inst])
        before = counters(state)
        stats = sample_render(host, seconds)
        time.sleep(1.2)
        emit("bench_one", warmup_s=warmup, before=before, after=counters(state), **stats, **diag(inst))
        remove_filters(host, state, image, [flt])

        made = [add_filter(host, state, image, ALL_KINDS[e][0], e, obs_settings(e, preset.settings))
                for e in preset.video]
        warmup = warm([i for _, i in made])
        before = counters(state)
        stats = sample_render(host, seconds)
        time.sleep(1.2)
        emit("bench_chain", warmup_s=warmup, before=before, after=counters(state), **stats)
        remove_filters(host, state, image, [f for f, _ in made])
        host.obs_set_output_source(0, None)
        host.obs_source_release(image)

    av = host.obs_source_create(host.register_test_source().encode(), b"Speech", None, None)
    flt, inst = add_filter(host, state, av, ALL_KINDS["denoise"][0], "denoise", None)
    wait_for(lambda: getattr(inst, "_pending", None) is None and audio_processor(inst) is not None, 60)
    time.sleep(0.3)
    blocks = speech_blocks()
    laps = max(1, round(seconds / (len(blocks) * BLOCK / AUDIO_RATE)))
    before = counters(state)
    push_realtime(host, av, blocks * laps)
    time.sleep(1.2)
    emit("bench_audio", before=before, after=counters(state), seconds=round(laps * len(blocks) * BLOCK / AUDIO_RATE, 2),
         **diag(inst))
    remove_filters(host, state, av, [flt])
    host.obs_source_release(av)
    gil = {k: v for k, v in filters.GIL_WAITS.items() if k != "count"}
    emit("bench_gil", gil_waits_on_obs_threads=filters.GIL_WAITS["count"], callbacks=sorted(gil),
         instances_left=len(state["instances"]))


def main(argv: list[str]) -> int:
    global OUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["version", "layout", "kinds", "run", "bench"])
    ap.add_argument("--seconds", type=float, default=10.0, help="bench: seconds sampled per phase")
    ap.add_argument("--effects", help="comma-separated effects (default: every DeepZoom kind)")
    ap.add_argument("--frames", type=int, default=3, help="face frames per format and path")
    ap.add_argument("--shim-libobs0", metavar="DIR", help="DIR/libobs.so.0 -> libobs 32.2.2, first on LD_LIBRARY_PATH")
    ap.add_argument("--no-env-libobs", action="store_true",
                    help="leave DEEPZOOM_LIBOBS unset: the bridge must find the loaded libobs itself")
    args = ap.parse_args(argv)
    if os.environ.get("DEEPZOOM_OBS32_HOST") != "1":
        return launch(argv, args)
    OUT = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # libobs's log (printf) goes to stderr, the JSON lines stay alone on stdout
    t0 = time.perf_counter()
    host = Host()
    if args.command == "bench":
        host.video_size, host.modules = (1280, 720), ["image-source", "obs-filters"]
    try:
        with tempfile.TemporaryDirectory(prefix="obs32-config-") as config:
            same = start(host, config)
            if args.command == "layout":
                from obs_deepzoom.obs import libobs as bridge

                emit("layout", **layout_report(bridge))
            elif args.command in ("kinds", "run", "bench"):
                if not same:  # registering there would call an uninitialised libobs (a crash)
                    emit("end", ok=False, error="obs_deepzoom.obs.libobs bound another libobs than the host's")
                    OUT.flush()
                    os._exit(3)
                (cmd_bench if args.command == "bench" else cmd_run)(host, args)
            t1 = time.perf_counter()
            host.stop()
            emit("shutdown", s=round(time.perf_counter() - t1, 2))
    except Exception as exc:
        import traceback

        emit("end", ok=False, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()[-3000:])
        OUT.flush()
        os._exit(1)
    emit("end", ok=True, s=round(time.perf_counter() - t0, 2))
    OUT.flush()
    sys.stderr.flush()
    os._exit(0)  # our filters' worker threads are daemons; libobs is already shut down


def launch(argv: list[str], args) -> int:
    """Re-run this file with the tier's environment and, without a DISPLAY, an Xvfb of its own."""
    from obs_deepzoom.reference import obs32_env, obs32_libobs, obs32_missing

    why = obs32_missing()
    if why:
        print(f"host.py: {why}; run: deepzoom reference install", file=sys.stderr)
        return 2
    env = obs32_env()
    env["DEEPZOOM_OBS32_HOST"] = "1"
    if args.no_env_libobs:
        env.pop("DEEPZOOM_LIBOBS")
    xvfb, shim = None, None
    if args.shim_libobs0:
        shim = Path(args.shim_libobs0)
        shim.mkdir(parents=True, exist_ok=True)
        link = shim / "libobs.so.0"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(obs32_libobs())
        env["LD_LIBRARY_PATH"] = f"{shim}{os.pathsep}{env['LD_LIBRARY_PATH']}"
    if not env.get("DISPLAY"):
        from obs_deepzoom.remote.headless import free_display

        if shutil.which("Xvfb") is None:
            print("host.py: Xvfb is not installed (apt-get install xvfb)", file=sys.stderr)
            return 2
        n = free_display()
        xvfb = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: Path(f"/tmp/.X11-unix/X{n}").exists(), 10)
        env["DISPLAY"] = f":{n}"
    try:
        return subprocess.run([sys.executable, __file__, *argv], env=env).returncode
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
