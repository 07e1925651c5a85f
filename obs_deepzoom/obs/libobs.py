"""ctypes bindings to the parts of libobs (OBS 29 ABI, libobs.so.0) our filters use.

Bound with ctypes.CDLL, which releases the GIL during every call: libobs may block on its graphics or filter
mutex while another OBS thread waits for the GIL inside one of our callbacks. Only importable inside OBS
(or any process that has libobs.so.0); everything else in obs_deepzoom must not import this module at top
level."""

from __future__ import annotations

import ctypes
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


def _load():
    """The libobs already loaded in this OBS process (Linux .so; Windows/macOS names are best effort)."""
    import sys

    names = {"win32": ["obs.dll"], "darwin": ["@rpath/libobs.framework/Versions/A/libobs", "libobs.dylib"]}
    for name in names.get(sys.platform, ["libobs.so.0", "libobs.so"]):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return ctypes.CDLL(None)  # symbols of the running OBS executable and what it loaded globally


lib = _load()
P = c_void_p

# libobs/obs-source.h, graphics/graphics.h, obs-properties.h, util/base.h
SOURCE_TYPE_FILTER = 1
SOURCE_VIDEO, SOURCE_AUDIO, SOURCE_ASYNC, SOURCE_CUSTOM_DRAW = 1 << 0, 1 << 1, 1 << 2, 1 << 3
GS_RGBA, GS_DYNAMIC, GS_CLEAR_COLOR = 3, 1 << 1, 1 << 0
GS_BLEND_ZERO, GS_BLEND_ONE = 0, 1
EFFECT_DEFAULT = 0
COMBO_TYPE_LIST, COMBO_FORMAT_STRING, TEXT_DEFAULT, PATH_FILE = 2, 3, 0, 0
LOG_ERROR, LOG_WARNING, LOG_INFO = 100, 200, 300
MAX_AV_PLANES = 8
# enum video_format (media-io/video-io.h)
VIDEO_FORMAT = {1: "I420", 2: "NV12", 3: "YVYU", 4: "YUY2", 5: "UYVY", 6: "RGBA", 7: "BGRA", 8: "BGRX",
                9: "Y800", 10: "I444"}

# callback prototypes of struct obs_source_info
GetName = CFUNCTYPE(P, P)
Create = CFUNCTYPE(P, P, P)
Destroy = CFUNCTYPE(None, P)
GetDefaults = CFUNCTYPE(None, P)
GetProperties = CFUNCTYPE(P, P)
Update = CFUNCTYPE(None, P, P)
VideoTick = CFUNCTYPE(None, P, c_float)
VideoRender = CFUNCTYPE(None, P, P)
FilterVideo = CFUNCTYPE(P, P, P)
ButtonClicked = CFUNCTYPE(c_bool, P, P, P)  # obs_property_clicked_t(props, property, data)
AudioCapture = CFUNCTYPE(None, P, P, P, c_bool)  # obs_source_audio_capture_t(param, source, audio_data, muted)
FilterAudio = CFUNCTYPE(P, P, P)
FilterRemove = CFUNCTYPE(None, P, P)


class SourceInfo(Structure):
    """struct obs_source_info up to filter_remove (obs_register_source_s takes the size we fill)."""

    _fields_ = [
        ("id", c_char_p), ("type", c_int), ("output_flags", c_uint32),
        ("get_name", GetName), ("create", Create), ("destroy", Destroy),
        ("get_width", P), ("get_height", P), ("get_defaults", GetDefaults), ("get_properties", GetProperties),
        ("update", Update), ("activate", P), ("deactivate", P), ("show", P), ("hide", P),
        ("video_tick", VideoTick), ("video_render", VideoRender), ("filter_video", FilterVideo),
        ("filter_audio", FilterAudio), ("enum_active_sources", P), ("save", P), ("load", P),
        ("mouse_click", P), ("mouse_move", P), ("mouse_wheel", P), ("focus", P), ("key_click", P),
        ("filter_remove", FilterRemove),
    ]


class SourceFrame(Structure):
    """struct obs_source_frame (obs.h, 29.0)."""

    _fields_ = [
        ("data", POINTER(c_uint8) * MAX_AV_PLANES), ("linesize", c_uint32 * MAX_AV_PLANES),
        ("width", c_uint32), ("height", c_uint32), ("timestamp", c_uint64), ("format", c_int),
        ("color_matrix", c_float * 16), ("full_range", c_bool), ("max_luminance", c_uint16),
        ("color_range_min", c_float * 3), ("color_range_max", c_float * 3), ("flip", c_bool),
        ("flags", c_uint8), ("trc", c_uint8), ("refs", c_long), ("prev_frame", c_bool),
    ]


class AudioData(Structure):
    """struct obs_audio_data: float planar, one plane per channel."""

    _fields_ = [("data", POINTER(c_uint8) * MAX_AV_PLANES), ("frames", c_uint32), ("timestamp", c_uint64)]


class Vec4(Structure):
    _fields_ = [("x", c_float), ("y", c_float), ("z", c_float), ("w", c_float)]


def _fn(name: str, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


register_source = _fn("obs_register_source_s", None, POINTER(SourceInfo), c_size_t)
filter_get_target = _fn("obs_filter_get_target", P, P)
filter_get_parent = _fn("obs_filter_get_parent", P, P)
source_get_name = _fn("obs_source_get_name", c_char_p, P)
get_source_by_name = _fn("obs_get_source_by_name", P, c_char_p)  # a new reference: source_release it
source_release = _fn("obs_source_release", None, P)
source_add_audio_capture_callback = _fn("obs_source_add_audio_capture_callback", None, P, AudioCapture, P)
source_remove_audio_capture_callback = _fn("obs_source_remove_audio_capture_callback", None, P, AudioCapture, P)
source_get_output_flags = _fn("obs_source_get_output_flags", c_uint32, P)
source_get_base_width = _fn("obs_source_get_base_width", c_uint32, P)
source_get_base_height = _fn("obs_source_get_base_height", c_uint32, P)
source_video_render = _fn("obs_source_video_render", None, P)
source_default_render = _fn("obs_source_default_render", None, P)
_source_skip_video_filter = _fn("obs_source_skip_video_filter", None, P)


def source_skip_video_filter(filter_source) -> None:
    """Draw the filter's input unchanged — unless the filter is being removed: OBS 29's graphics thread can still
    render a filter whose parent was just cleared, and libobs's skip then dereferences the NULL parent (a
    segfault seen in obs_source_skip_video_filter under add/remove churn). Then nothing is drawn this frame."""
    if filter_source and filter_get_parent(filter_source) and filter_get_target(filter_source):
        _source_skip_video_filter(filter_source)
enter_graphics = _fn("obs_enter_graphics", None)
leave_graphics = _fn("obs_leave_graphics", None)
get_video_frame_time = _fn("obs_get_video_frame_time", c_uint64)

texrender_create = _fn("gs_texrender_create", P, c_int, c_int)
texrender_reset = _fn("gs_texrender_reset", None, P)
texrender_begin = _fn("gs_texrender_begin", c_bool, P, c_uint32, c_uint32)
texrender_end = _fn("gs_texrender_end", None, P)
texrender_get_texture = _fn("gs_texrender_get_texture", P, P)
texrender_destroy = _fn("gs_texrender_destroy", None, P)
stagesurface_create = _fn("gs_stagesurface_create", P, c_uint32, c_uint32, c_int)
stagesurface_destroy = _fn("gs_stagesurface_destroy", None, P)
stage_texture = _fn("gs_stage_texture", None, P, P)
stagesurface_map = _fn("gs_stagesurface_map", c_bool, P, POINTER(P), POINTER(c_uint32))
stagesurface_unmap = _fn("gs_stagesurface_unmap", None, P)
texture_create = _fn("gs_texture_create", P, c_uint32, c_uint32, c_int, c_uint32, P, c_uint32)
texture_destroy = _fn("gs_texture_destroy", None, P)
texture_set_image = _fn("gs_texture_set_image", None, P, P, c_uint32, c_bool)
gs_clear = _fn("gs_clear", None, c_uint32, POINTER(Vec4), c_float, c_uint8)
gs_ortho = _fn("gs_ortho", None, c_float, c_float, c_float, c_float, c_float, c_float)
blend_state_push = _fn("gs_blend_state_push", None)
blend_state_pop = _fn("gs_blend_state_pop", None)
blend_function = _fn("gs_blend_function", None, c_int, c_int)
framebuffer_srgb_enabled = _fn("gs_framebuffer_srgb_enabled", c_bool)
enable_framebuffer_srgb = _fn("gs_enable_framebuffer_srgb", None, c_bool)
get_base_effect = _fn("obs_get_base_effect", P, c_int)
effect_get_param_by_name = _fn("gs_effect_get_param_by_name", P, P, c_char_p)
effect_set_texture = _fn("gs_effect_set_texture", None, P, P)
effect_loop = _fn("gs_effect_loop", c_bool, P, c_char_p)
draw_sprite = _fn("gs_draw_sprite", None, P, c_uint32, c_uint32, c_uint32)

properties_create = _fn("obs_properties_create", P)
properties_add_bool = _fn("obs_properties_add_bool", P, P, c_char_p, c_char_p)
properties_add_int_slider = _fn("obs_properties_add_int_slider", P, P, c_char_p, c_char_p, c_int, c_int, c_int)
properties_add_float_slider = _fn("obs_properties_add_float_slider", P, P, c_char_p, c_char_p, c_double,
                                  c_double, c_double)
properties_add_list = _fn("obs_properties_add_list", P, P, c_char_p, c_char_p, c_int, c_int)
properties_add_text = _fn("obs_properties_add_text", P, P, c_char_p, c_char_p, c_int)
properties_add_path = _fn("obs_properties_add_path", P, P, c_char_p, c_char_p, c_int, c_char_p, c_char_p)
properties_add_button = _fn("obs_properties_add_button", P, P, c_char_p, c_char_p, ButtonClicked)
PATH_FILE = 0  # enum obs_path_type
property_list_add_string = _fn("obs_property_list_add_string", c_size_t, P, c_char_p, c_char_p)
property_set_long_description = _fn("obs_property_set_long_description", None, P, c_char_p)

data_get_int = _fn("obs_data_get_int", c_int64, P, c_char_p)
data_get_double = _fn("obs_data_get_double", c_double, P, c_char_p)
data_get_bool = _fn("obs_data_get_bool", c_bool, P, c_char_p)
data_get_string = _fn("obs_data_get_string", c_char_p, P, c_char_p)
data_set_default_int = _fn("obs_data_set_default_int", None, P, c_char_p, c_int64)
data_set_default_double = _fn("obs_data_set_default_double", None, P, c_char_p, c_double)
data_set_default_bool = _fn("obs_data_set_default_bool", None, P, c_char_p, c_bool)
data_set_default_string = _fn("obs_data_set_default_string", None, P, c_char_p, c_char_p)

get_audio = _fn("obs_get_audio", P)
audio_output_get_channels = _fn("audio_output_get_channels", c_size_t, P)
audio_output_get_sample_rate = _fn("audio_output_get_sample_rate", c_uint32, P)

_blog = lib.blog  # variadic: blog(int level, const char *fmt, ...)
_blog.restype = None


def blog(level: int, message: str) -> None:
    """Write one line to OBS's log (safe from any thread, unlike obspython.script_log)."""
    _blog(c_int(level), b"[deepzoom] %s", message.encode("utf-8", "replace"))


def plane(ptr, size: int):
    """A numpy uint8 view of `size` bytes at a plane pointer (no copy)."""
    import numpy as np

    return np.ctypeslib.as_array(ctypes.cast(ptr, POINTER(c_uint8)), (size,))


def float_plane(ptr, frames: int):
    import numpy as np

    return np.ctypeslib.as_array(ctypes.cast(ptr, POINTER(c_float)), (frames,))
