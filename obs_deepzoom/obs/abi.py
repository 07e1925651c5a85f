"""The libobs ABI we use, as data: constants, structs, callback prototypes and the C signature of every libobs
function we call (`SIGNATURES`). No library is loaded here (libobs.py binds these to the running OBS), so
tests can check the table: every function we call has its argument and result types declared, and every
symbol exists in a real libobs.

Layouts follow libobs/obs-source.h, obs.h and graphics/graphics.h; they are identical from OBS 29 to 32 for
everything declared here (checked against OBS 32.2.2's headers)."""

from __future__ import annotations

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

P = c_void_p

SOURCE_TYPE_INPUT, SOURCE_TYPE_FILTER = 0, 1
SOURCE_VIDEO, SOURCE_AUDIO, SOURCE_ASYNC, SOURCE_CUSTOM_DRAW = 1 << 0, 1 << 1, 1 << 2, 1 << 3
SOURCE_DO_NOT_DUPLICATE = 1 << 7
FORMAT_BGRA = 7  # enum video_format
COMBO_TYPE_LIST, COMBO_FORMAT_STRING = 2, 3
TEXT_DEFAULT, TEXT_INFO = 0, 3  # enum obs_text_type
TEXT_INFO_NORMAL, TEXT_INFO_WARNING, TEXT_INFO_ERROR = 0, 1, 2  # enum obs_text_info_type
PATH_FILE, PATH_DIRECTORY = 0, 2  # enum obs_path_type
GROUP_NORMAL, GROUP_CHECKABLE = 1, 2  # enum obs_group_type
LOG_ERROR, LOG_WARNING, LOG_INFO = 100, 200, 300
MAX_AV_PLANES = 8
VIDEO_FORMAT = {1: "I420", 2: "NV12", 3: "YVYU", 4: "YUY2", 5: "UYVY", 6: "RGBA", 7: "BGRA", 8: "BGRX",
                9: "Y800", 10: "I444"}  # enum video_format (media-io/video-io.h)

# callback prototypes of struct obs_source_info (the hot ones are C functions of our native shim)
GetName = CFUNCTYPE(P, P)
Create = CFUNCTYPE(P, P, P)
Destroy = CFUNCTYPE(None, P)
GetDefaults = CFUNCTYPE(None, P)
GetProperties = CFUNCTYPE(P, P)
Update = CFUNCTYPE(None, P, P)
VideoRender = CFUNCTYPE(None, P, P)
FilterVideo = CFUNCTYPE(P, P, P)
FilterAudio = CFUNCTYPE(P, P, P)
FilterRemove = CFUNCTYPE(None, P, P)
ButtonClicked = CFUNCTYPE(c_bool, P, P, P)  # obs_property_clicked_t(props, property, data)


class SourceInfo(Structure):
    """struct obs_source_info up to `version`: libobs reads `info->version` before it copies the size we pass,
    so the struct must reach that far."""

    _fields_ = [
        ("id", c_char_p), ("type", c_int), ("output_flags", c_uint32),
        ("get_name", GetName), ("create", Create), ("destroy", Destroy),
        ("get_width", P), ("get_height", P), ("get_defaults", GetDefaults), ("get_properties", GetProperties),
        ("update", Update), ("activate", P), ("deactivate", P), ("show", P), ("hide", P),
        ("video_tick", P), ("video_render", VideoRender), ("filter_video", FilterVideo),
        ("filter_audio", FilterAudio), ("enum_active_sources", P), ("save", P), ("load", P),
        ("mouse_click", P), ("mouse_move", P), ("mouse_wheel", P), ("focus", P), ("key_click", P),
        ("filter_remove", FilterRemove), ("type_data", P), ("free_type_data", P), ("audio_render", P),
        ("enum_all_sources", P), ("transition_start", P), ("transition_stop", P), ("get_defaults2", P),
        ("get_properties2", P), ("audio_mix", P), ("icon_type", c_int),
        ("media_play_pause", P), ("media_restart", P), ("media_stop", P), ("media_next", P),
        ("media_previous", P), ("media_get_duration", P), ("media_get_time", P), ("media_set_time", P),
        ("media_get_state", P), ("version", c_uint32),
    ]


class SourceFrame(Structure):
    """struct obs_source_frame (obs.h)."""

    _fields_ = [
        ("data", POINTER(c_uint8) * MAX_AV_PLANES), ("linesize", c_uint32 * MAX_AV_PLANES),
        ("width", c_uint32), ("height", c_uint32), ("timestamp", c_uint64), ("format", c_int),
        ("color_matrix", c_float * 16), ("full_range", c_bool), ("max_luminance", c_uint16),
        ("color_range_min", c_float * 3), ("color_range_max", c_float * 3), ("flip", c_bool),
        ("flags", c_uint8), ("trc", c_uint8), ("refs", c_long), ("prev_frame", c_bool),
    ]


class CallData(Structure):
    """struct calldata (callback/calldata.h): a growing stack of named values; freed with bfree(stack)."""

    _fields_ = [("stack", P), ("size", c_size_t), ("capacity", c_size_t), ("fixed", c_bool)]




class RequestCallback(Structure):
    """struct obs_websocket_request_callback (obs-websocket-api.h)."""

    _fields_ = [("callback", P), ("priv_data", P)]


class AudioData(Structure):
    """struct obs_audio_data (and media-io's struct audio_data): float planar, one plane per channel."""

    _fields_ = [("data", POINTER(c_uint8) * MAX_AV_PLANES), ("frames", c_uint32), ("timestamp", c_uint64)]


# name in libobs -> (our attribute name, restype, argtypes). Every libobs function we call is here.
SIGNATURES: dict[str, tuple[str, object, list]] = {
    "obs_initialized": ("initialized", c_bool, []),
    "obs_get_version_string": ("get_version_string", c_char_p, []),
    "obs_register_source_s": ("register_source", None, [POINTER(SourceInfo), c_size_t]),
    "obs_filter_get_target": ("filter_get_target", P, [P]),
    "obs_filter_get_parent": ("filter_get_parent", P, [P]),
    "obs_source_get_name": ("source_get_name", c_char_p, [P]),
    "obs_source_get_settings": ("source_get_settings", P, [P]),  # a new reference: data_release it
    "obs_data_release": ("data_release", None, [P]),
    "obs_get_source_by_name": ("get_source_by_name", P, [c_char_p]),
    "obs_source_release": ("source_release", None, [P]),
    "obs_source_get_weak_source": ("source_get_weak_source", P, [P]),
    "obs_weak_source_get_source": ("weak_source_get_source", P, [P]),
    "obs_weak_source_release": ("weak_source_release", None, [P]),
    "obs_source_add_audio_capture_callback": ("source_add_audio_capture_callback", None, [P, P, P]),
    "obs_source_remove_audio_capture_callback": ("source_remove_audio_capture_callback", None, [P, P, P]),
    "obs_source_get_output_flags": ("source_get_output_flags", c_uint32, [P]),
    "obs_source_get_base_width": ("source_get_base_width", c_uint32, [P]),
    "obs_source_get_base_height": ("source_get_base_height", c_uint32, [P]),
    "obs_source_video_render": ("source_video_render", None, [P]),
    "obs_source_default_render": ("source_default_render", None, [P]),
    "obs_source_skip_video_filter": ("source_skip_video_filter", None, [P]),
    "obs_source_enabled": ("source_enabled", c_bool, [P]),
    "obs_source_release_frame": ("source_release_frame", None, [P, P]),
    "obs_source_output_video": ("source_output_video", None, [P, POINTER(SourceFrame)]),  # copies the frame
    "obs_source_set_async_unbuffered": ("source_set_async_unbuffered", None, [P, c_bool]),
    "obs_enter_graphics": ("enter_graphics", None, []),
    "obs_leave_graphics": ("leave_graphics", None, []),
    "obs_get_video_frame_time": ("get_video_frame_time", c_uint64, []),
    "obs_get_base_effect": ("get_base_effect", P, [c_int]),
    "gs_texrender_create": ("texrender_create", P, [c_int, c_int]),
    "gs_texrender_reset": ("texrender_reset", None, [P]),
    "gs_texrender_begin": ("texrender_begin", c_bool, [P, c_uint32, c_uint32]),
    "gs_texrender_end": ("texrender_end", None, [P]),
    "gs_texrender_get_texture": ("texrender_get_texture", P, [P]),
    "gs_texrender_destroy": ("texrender_destroy", None, [P]),
    "gs_stagesurface_create": ("stagesurface_create", P, [c_uint32, c_uint32, c_int]),
    "gs_stagesurface_destroy": ("stagesurface_destroy", None, [P]),
    "gs_stage_texture": ("stage_texture", None, [P, P]),
    "gs_stagesurface_map": ("stagesurface_map", c_bool, [P, POINTER(P), POINTER(c_uint32)]),
    "gs_stagesurface_unmap": ("stagesurface_unmap", None, [P]),
    "gs_texture_create": ("texture_create", P, [c_uint32, c_uint32, c_int, c_uint32, P, c_uint32]),
    "gs_texture_destroy": ("texture_destroy", None, [P]),
    "gs_texture_set_image": ("texture_set_image", None, [P, P, c_uint32, c_bool]),
    "gs_clear": ("gs_clear", None, [c_uint32, P, c_float, c_uint8]),
    "gs_ortho": ("gs_ortho", None, [c_float, c_float, c_float, c_float, c_float, c_float]),
    "gs_blend_state_push": ("blend_state_push", None, []),
    "gs_blend_state_pop": ("blend_state_pop", None, []),
    "gs_blend_function": ("blend_function", None, [c_int, c_int]),
    "gs_framebuffer_srgb_enabled": ("framebuffer_srgb_enabled", c_bool, []),
    "gs_enable_framebuffer_srgb": ("enable_framebuffer_srgb", None, [c_bool]),
    "gs_effect_get_param_by_name": ("effect_get_param_by_name", P, [P, c_char_p]),
    "gs_effect_set_texture": ("effect_set_texture", None, [P, P]),
    "gs_effect_loop": ("effect_loop", c_bool, [P, c_char_p]),
    "gs_draw_sprite": ("draw_sprite", None, [P, c_uint32, c_uint32, c_uint32]),
    "obs_properties_create": ("properties_create", P, []),
    "obs_properties_add_bool": ("properties_add_bool", P, [P, c_char_p, c_char_p]),
    "obs_properties_add_int_slider": ("properties_add_int_slider", P,
                                      [P, c_char_p, c_char_p, c_int, c_int, c_int]),
    "obs_properties_add_float_slider": ("properties_add_float_slider", P,
                                        [P, c_char_p, c_char_p, c_double, c_double, c_double]),
    "obs_properties_add_list": ("properties_add_list", P, [P, c_char_p, c_char_p, c_int, c_int]),
    "obs_properties_add_text": ("properties_add_text", P, [P, c_char_p, c_char_p, c_int]),
    "obs_properties_add_color": ("properties_add_color", P, [P, c_char_p, c_char_p]),
    "obs_properties_add_path": ("properties_add_path", P, [P, c_char_p, c_char_p, c_int, c_char_p, c_char_p]),
    "obs_properties_add_group": ("properties_add_group", P, [P, c_char_p, c_char_p, c_int, P]),
    "obs_properties_destroy": ("properties_destroy", None, [P]),
    "obs_properties_add_button": ("properties_add_button", P, [P, c_char_p, c_char_p, ButtonClicked]),
    "obs_property_list_add_string": ("property_list_add_string", c_size_t, [P, c_char_p, c_char_p]),
    "obs_property_set_long_description": ("property_set_long_description", None, [P, c_char_p]),
    "obs_property_text_set_info_type": ("property_text_set_info_type", None, [P, c_int]),
    "obs_data_get_int": ("data_get_int", c_int64, [P, c_char_p]),
    "obs_data_get_double": ("data_get_double", c_double, [P, c_char_p]),
    "obs_data_get_bool": ("data_get_bool", c_bool, [P, c_char_p]),
    "obs_data_get_string": ("data_get_string", c_char_p, [P, c_char_p]),
    "obs_data_set_default_int": ("data_set_default_int", None, [P, c_char_p, c_int64]),
    "obs_data_set_default_double": ("data_set_default_double", None, [P, c_char_p, c_double]),
    "obs_data_set_default_bool": ("data_set_default_bool", None, [P, c_char_p, c_bool]),
    "obs_data_set_default_string": ("data_set_default_string", None, [P, c_char_p, c_char_p]),
    "obs_get_locale": ("get_locale", c_char_p, []),  # OBS's UI language, e.g. "en-US"
    "obs_get_audio": ("get_audio", P, []),
    "audio_output_get_channels": ("audio_output_get_channels", c_size_t, [P]),
    "audio_output_get_sample_rate": ("audio_output_get_sample_rate", c_uint32, [P]),
    "blog": ("blog_fixed", None, [c_int, c_char_p, c_char_p]),  # variadic: only as blog(level, "%s", text)
    # for the native shim's vendor requests (obs/vendor.py registers them)
    "obs_data_set_string": ("data_set_string", None, [P, c_char_p, c_char_p]),
    "obs_data_set_bool": ("data_set_bool", None, [P, c_char_p, c_bool]),
    "obs_data_set_double": ("data_set_double", None, [P, c_char_p, c_double]),
    "obs_data_create_from_json": ("data_create_from_json", P, [c_char_p]),
    "obs_data_apply": ("data_apply", None, [P, P]),
    # obs-websocket's vendor API is reached through proc handlers and calldata (its header is all inline)
    "obs_get_proc_handler": ("get_proc_handler", P, []),
    "proc_handler_call": ("proc_handler_call", c_bool, [P, c_char_p, P]),
    "calldata_set_data": ("calldata_set_data", None, [P, c_char_p, P, c_size_t]),
    "calldata_get_data": ("calldata_get_data", c_bool, [P, c_char_p, P, c_size_t]),
    "bfree": ("bfree", None, [P]),
}

# the libobs functions the native shim calls, in the order of its struct dz_api
NATIVE_API = [
    "obs_filter_get_target", "obs_filter_get_parent", "obs_source_get_output_flags", "obs_source_get_base_width",
    "obs_source_get_base_height", "obs_source_video_render", "obs_source_default_render",
    "obs_source_skip_video_filter", "obs_source_enabled", "obs_source_release_frame", "obs_get_video_frame_time",
    "gs_texrender_create", "gs_texrender_reset", "gs_texrender_begin", "gs_texrender_end",
    "gs_texrender_get_texture", "gs_texrender_destroy", "gs_stagesurface_create", "gs_stagesurface_destroy",
    "gs_stage_texture", "gs_stagesurface_map", "gs_stagesurface_unmap", "gs_texture_create", "gs_texture_destroy",
    "gs_texture_set_image", "gs_clear", "gs_ortho", "gs_blend_state_push", "gs_blend_state_pop",
    "gs_blend_function", "gs_framebuffer_srgb_enabled", "gs_enable_framebuffer_srgb", "obs_get_base_effect",
    "gs_effect_get_param_by_name", "gs_effect_set_texture", "gs_effect_loop", "gs_draw_sprite", "blog",
    "obs_get_source_by_name", "obs_source_release", "obs_data_get_string", "obs_data_set_string",
    "obs_data_set_bool", "obs_data_set_double", "obs_data_create_from_json", "obs_data_apply", "obs_data_release",
]
