"""The native shim's real-time paths without OBS: its C callbacks are called from here exactly as libobs calls
them (same structs), with the Python workers the OBS filters use. The libobs functions the shim calls back
(release a held frame, find a filter's parent) are small stand-ins recorded by the test."""

from __future__ import annotations

import ctypes
import threading
import time

import numpy as np
import pytest

from obs_deepzoom.obs import abi, native
from obs_deepzoom.obs.audio_stream import AudioStream
from obs_deepzoom.obs.native import Job


@pytest.fixture(scope="module")
def shim():
    return native.open_library(native.build(progress=lambda *_: None))


class Gain:
    """A processor with a known delay: out[i] = 0.5 * in[i - delay]."""

    def __init__(self, delay: int):
        self.delay, self._tail = delay, None
        self.latency_ms = 1000 * delay / 48000

    def update(self, _settings) -> None:
        pass

    def process(self, block: np.ndarray) -> np.ndarray:
        if self._tail is None:
            self._tail = np.zeros((block.shape[0], self.delay), np.float32)
        joined = np.concatenate([self._tail, block], axis=1)
        self._tail = joined[:, block.shape[1]:]
        return 0.5 * joined[:, : block.shape[1]]


def call_filter_audio(shim, handle, planes: list[np.ndarray]) -> None:
    data = abi.AudioData()
    for c, p in enumerate(planes):
        data.data[c] = p.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    data.frames = planes[0].shape[0]
    f = ctypes.cast(native.callback_address(shim, "dz_filter_audio"), abi.FilterAudio)
    assert f(handle, ctypes.addressof(data)) == ctypes.addressof(data)


def test_audio_is_processed_with_a_fixed_latency_and_never_waits(shim):
    rate, delay = 48000, 480
    stream = AudioStream(shim, "gain", 2, rate, lambda _s: Gain(delay))
    stream.configure(None)
    stop = threading.Event()
    worker = threading.Thread(target=lambda: [stream.step(50) for _ in iter(stop.is_set, True)])
    worker.start()
    rng = np.random.default_rng(0)
    signal = rng.uniform(-1, 1, (2, rate * 2)).astype(np.float32)
    out = []
    try:
        for start in range(0, signal.shape[1], 1024):
            block = [signal[c, start:start + 1024].copy() for c in range(2)]
            call_filter_audio(shim, stream.handle, block)
            out.append(np.stack(block))
            time.sleep(1024 / rate)  # real time: the worker has one block's time
    finally:
        stop.set()
        worker.join()
    out = np.concatenate(out, axis=1)
    total = stream.queue + delay  # fixed: queue + the processor's own delay
    expected = np.zeros_like(signal)
    expected[:, total:] = signal[:, :-total]
    processed = np.isclose(out, 0.5 * expected, atol=1e-7).all(axis=0)
    raw = np.isclose(out, expected, atol=1e-7).all(axis=0)
    assert (processed | raw).all(), "every sample is the input delayed by the fixed latency, processed or not"
    assert processed[total + rate // 10:].mean() > 0.95, "a worker with time to spare processes (almost) all"
    stats = stream.stats()
    assert stats["calls"] == len(range(0, signal.shape[1], 1024))
    assert stats["p99_us"] < 5000, "the audio callback only copies (wall time, so a loaded machine adds some)"
    assert stream.spans == [[0, stream.done]], "one stretch, from the first sample, seen without a gap"
    stream.close()
    stream.free()


def test_audio_passes_through_delayed_while_the_worker_is_stuck(shim):
    stream = AudioStream(shim, "gain", 1, 48000, lambda _s: Gain(100))
    stream.configure(None)  # no worker runs: as if another thread held the GIL for good
    x = np.arange(1, 20481, dtype=np.float32)
    out = []
    t0 = time.perf_counter()
    for start in range(0, len(x), 1024):
        block = [x[start:start + 1024].copy()]
        call_filter_audio(shim, stream.handle, block)
        out.append(block[0])
    per_call_ms = (time.perf_counter() - t0) * 1000 / 20
    out = np.concatenate(out)
    total = stream.queue + 100
    assert (out[:total] == 0).all() and np.array_equal(out[total:], x[:-total])
    assert per_call_ms < 20
    assert stream.spans == [[0, 0]]
    for _ in range(30):  # 20480 + 30720 samples waiting: more than the half ring (48000)
        call_filter_audio(shim, stream.handle, [np.zeros(1024, np.float32)])
    assert stream.step(0) and stream.spans == [[0, 0], [51200, 51200]], "fell far behind: skipped ahead"
    stream.close()
    stream.free()


# ---- async video: frames held and released a fixed number of frames later, each with its own result ----
RELEASED: list[int] = []
PARENT = ctypes.c_void_p(0x1234)


@abi.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
def _release_frame(_parent, frame):
    RELEASED.append(frame)


@abi.CFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)
def _get_parent(_filter):
    return PARENT.value


def _init_api(shim) -> None:
    table = (ctypes.c_void_p * len(abi.NATIVE_API))()
    names = abi.NATIVE_API
    table[names.index("obs_filter_get_parent")] = ctypes.cast(_get_parent, ctypes.c_void_p)
    table[names.index("obs_source_release_frame")] = ctypes.cast(_release_frame, ctypes.c_void_p)
    shim.dz_init(ctypes.cast(table, ctypes.c_void_p))


def make_frame(value: int, w: int = 64, h: int = 48, ts: int = 0):
    """An I420 frame (obs_source_frame) whose luma is noise seeded by `value`, chroma flat."""
    rng = np.random.default_rng(value)
    planes = [rng.integers(0, 256, (h, w), np.uint8), np.full((h // 2, w // 2), 128, np.uint8),
              np.full((h // 2, w // 2), 128, np.uint8)]
    f = abi.SourceFrame()
    for i, p in enumerate(planes):
        f.data[i] = p.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        f.linesize[i] = p.shape[1]
    f.width, f.height, f.format, f.timestamp = w, h, 1, ts
    return f, planes


def test_async_frames_come_out_frame_exact_after_a_fixed_latency(shim):
    _init_api(shim)
    v = shim.dz_video_new(ctypes.c_void_p(0x99))
    shim.dz_video_configure(v, 1, 3, 1, 0, 2)
    stop = threading.Event()

    def worker():  # invert the luma of exactly the frame it was given
        job = Job()
        while not stop.is_set():
            if shim.dz_video_wait(v, ctypes.byref(job), 50, 0) == 1:
                y = np.ctypeslib.as_array(job.data, (job.linesize[0] * job.rows[0],))
                y[:] = 255 - y
                shim.dz_video_finish(v, job.slot, 1)

    t = threading.Thread(target=worker)
    t.start()
    filter_video = ctypes.cast(native.callback_address(shim, "dz_filter_video"), abi.FilterVideo)
    frames, shown = [], []
    try:
        for i in range(40):
            f, planes = make_frame(i, ts=10**9 + i * 33_000_000)
            frames.append((f, planes, planes[0].copy()))
            out = filter_video(v, ctypes.addressof(f))
            if out:
                shown.append(next(k for k, (g, _, _) in enumerate(frames) if ctypes.addressof(g) == out))
            time.sleep(0.033)
    finally:
        stop.set()
        t.join()
    raw = (ctypes.c_uint64 * len(native.VIDEO_STATS))()
    shim.dz_video_stats(v, raw, len(native.VIDEO_STATS))
    stats = dict(zip(native.VIDEO_STATS, raw))
    assert shown == sorted(shown) and shown[0] == 0, "frames leave in order (the first at once, as it is)"
    assert len(shown) + stats["dropped"] == 40 - 3, "each later frame leaves exactly 3 frames later"
    for k in shown[1:]:
        _, planes, original = frames[k]
        assert np.array_equal(planes[0], 255 - original), f"frame {k} carries its own result"
        assert (planes[1] == 128).all(), "bytes the effect did not change keep their values"
    assert stats["applied"] == len(shown) - 1 >= 20
    remove = ctypes.cast(native.callback_address(shim, "dz_filter_remove"), abi.FilterRemove)
    remove(v, PARENT)  # the 3 held frames go back to OBS
    assert len(RELEASED) - stats["dropped"] == 3
    shim.dz_video_close(v)
    shim.dz_video_free(v)


def test_async_size_change_latency_change_and_still_sources(shim):
    _init_api(shim)
    RELEASED.clear()
    v = shim.dz_video_new(ctypes.c_void_p(0x98))
    shim.dz_video_configure(v, 1, 3, 0, 0, 2)  # no worker: every frame is late, passed through (late = pass)
    fv = ctypes.cast(native.callback_address(shim, "dz_filter_video"), abi.FilterVideo)
    keep = []

    def push(i, w=64, h=48, ts=None):
        f, planes = make_frame(i, w, h, ts if ts is not None else 10**9 + i * 33_000_000)
        keep.append((f, planes))
        return fv(v, ctypes.addressof(f))

    assert push(0) == ctypes.addressof(keep[0][0]), "a first frame is shown at once"
    assert [push(i) for i in (1, 2, 3)] == [None, None, None], "then frames are held"
    assert push(4) == ctypes.addressof(keep[1][0])
    # the source changes size: the held frames go back to OBS, never shown after the change
    out = push(5, 96, 64)
    assert len(RELEASED) == 3 and out is None
    # the latency is lowered to 1: the extra held frames go back at once
    push(6, 96, 64), push(7, 96, 64)
    shim.dz_video_configure(v, 1, 1, 0, 0, 2)
    out = push(8, 96, 64)
    assert out == ctypes.addressof(keep[-2][0]), "one frame held now"
    # a still picture in a media source: one frame, then nothing for seconds, then one more
    assert push(9, 96, 64, ts=10**9 * 60) == ctypes.addressof(keep[-1][0]), "after a gap a frame is shown at once"
    remove = ctypes.cast(native.callback_address(shim, "dz_filter_remove"), abi.FilterRemove)
    remove(v, PARENT)
    shim.dz_video_close(v)
    shim.dz_video_free(v)



def test_a_concealed_picture_is_taken_only_while_no_frame_comes(shim):
    """Dropout concealment on an async source: the worker's picture is refused before any frame and while frames
    come; after a dropout the frame that comes back is held and processed (the effect fades back) instead of
    passing raw at once as after an ordinary gap."""
    _init_api(shim)
    RELEASED.clear()
    v = shim.dz_video_new(ctypes.c_void_p(0x99))
    shim.dz_video_configure(v, 1, 2, 0, 0, 2)
    fv = ctypes.cast(native.callback_address(shim, "dz_filter_video"), abi.FilterVideo)
    picture = np.full((48, 64, 4), 77, np.uint8)
    pixels = picture.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
    keep = []

    def push(i, ts):
        f, planes = make_frame(i, ts=ts)
        keep.append((f, planes))
        return fv(v, ctypes.addressof(f))

    assert shim.dz_video_idle_ms(v) == -1 and shim.dz_video_unseen_ms(v) == -1
    assert shim.dz_video_conceal(v, pixels, 64, 48, 50) == 0, "no frame ever came: nothing to stand in for"
    matrix = (ctypes.c_float * 16)()
    assert shim.dz_video_frame_color(v, matrix) == 0
    f, planes = make_frame(0, ts=10**9)
    f.color_matrix[:] = [float(i) / 4 for i in range(16)]
    keep.append((f, planes))
    assert fv(v, ctypes.addressof(f)) is not None
    assert shim.dz_video_frame_color(v, matrix) == 1 and list(matrix) == [i / 4 for i in range(16)], \
        "the frame's format and colour matrix, for pictures drawn in its place"
    assert shim.dz_video_conceal(v, pixels, 64, 48, 50) == 0, "a frame just came"
    assert shim.dz_video_conceal(v, pixels, 8, 8, 0) == 0, "a picture too small is refused"
    time.sleep(0.08)
    assert shim.dz_video_idle_ms(v) >= 60
    assert shim.dz_video_conceal(v, pixels, 64, 48, 50) == 1
    assert push(1, 10**9 * 5) is None, "the first frame after a concealed dropout is held, not passed raw"
    shim.dz_video_conceal_off(v)
    time.sleep(0.08)
    assert push(2, 10**9 * 9) == ctypes.addressof(keep[-1][0]), "after an ordinary gap a frame is shown at once"
    remove = ctypes.cast(native.callback_address(shim, "dz_filter_remove"), abi.FilterRemove)
    remove(v, PARENT)
    shim.dz_video_close(v)
    assert shim.dz_video_conceal(v, pixels, 64, 48, 0) == 0, "closed"
    shim.dz_video_free(v)

def test_the_shims_libobs_table_matches_pythons():
    """dz_init copies a table of libobs function addresses: its order must be struct dz_api's."""
    import re

    src = re.sub(r"/\*.*?\*/", "", native.SOURCE.read_text(), flags=re.S)
    body = src[src.index("struct dz_api {"):src.index("};", src.index("struct dz_api {"))]
    fields = re.findall(r"\(\*(\w+)\)\(", body)
    expected = [abi.SIGNATURES[s][0].replace("blog_fixed", "blog") for s in abi.NATIVE_API]
    assert fields == expected
    job = src[src.index("struct dz_job {"):src.index("};", src.index("struct dz_job {"))]
    names = re.findall(r"(\w+)(?:\[MAX_AV_PLANES\])?;", job.replace("width, height", "width; height"))
    assert names == [n for n, _ in Job._fields_]


# ---- vendor requests (obs-websocket's thread): what a filter's worker published, read without Python -------------
P = ctypes.c_void_p
REQUESTS: dict[int, dict] = {}  # request handle -> its fields
RESPONSES: dict[int, dict] = {}  # response handle -> fields the shim set
JSON_DATA: dict[int, str] = {}
SOURCE_REFS = {"taken": 0, "released": 0}


@abi.CFUNCTYPE(P, ctypes.c_char_p)
def _source_by_name(name):
    if name == b"Cam":
        SOURCE_REFS["taken"] += 1
        return PARENT.value
    return None


@abi.CFUNCTYPE(None, P)
def _source_release(_source):
    SOURCE_REFS["released"] += 1


KEEP: list = []


@abi.CFUNCTYPE(P, P, ctypes.c_char_p)  # const char * (an address: the buffer stays alive in KEEP)
def _get_string(data, key):
    value = REQUESTS.get(data, {}).get(key.decode())
    if value is None:
        return None
    KEEP.append(ctypes.create_string_buffer(value.encode()))
    return ctypes.addressof(KEEP[-1])


def _setter(ctype):
    @abi.CFUNCTYPE(None, P, ctypes.c_char_p, ctype)
    def set_value(data, key, value):
        RESPONSES.setdefault(data, {})[key.decode()] = value.decode() if isinstance(value, bytes) else value

    return set_value


_set_string, _set_bool, _set_double = _setter(ctypes.c_char_p), _setter(ctypes.c_bool), _setter(ctypes.c_double)


@abi.CFUNCTYPE(P, ctypes.c_char_p)
def _from_json(text):
    import json

    try:
        json.loads(text)
    except ValueError:
        return None
    handle = 1000 + len(JSON_DATA)
    JSON_DATA[handle] = text.decode()
    return handle


@abi.CFUNCTYPE(None, P, P)
def _apply(target, source):
    import json

    RESPONSES.setdefault(target, {}).update(json.loads(JSON_DATA[source]))


@abi.CFUNCTYPE(None, P)
def _release(_data):
    pass


def test_vendor_requests_read_what_the_worker_published(shim):
    names = abi.NATIVE_API
    table = (ctypes.c_void_p * len(names))()
    for name, fn in (("obs_filter_get_parent", _get_parent), ("obs_source_release_frame", _release_frame),
                     ("obs_get_source_by_name", _source_by_name), ("obs_source_release", _source_release),
                     ("obs_data_get_string", _get_string), ("obs_data_set_string", _set_string),
                     ("obs_data_set_bool", _set_bool), ("obs_data_set_double", _set_double),
                     ("obs_data_create_from_json", _from_json), ("obs_data_apply", _apply),
                     ("obs_data_release", _release)):
        table[names.index(name)] = ctypes.cast(fn, P)
    shim.dz_init(ctypes.cast(table, P))
    get = ctypes.cast(native.callback_address(shim, "dz_vendor_get"), abi.CFUNCTYPE(None, P, P, P))
    reset = ctypes.cast(native.callback_address(shim, "dz_vendor_reset"), abi.CFUNCTYPE(None, P, P, P))

    def ask(fn, fields: dict) -> dict:
        handle = 1 + len(REQUESTS)
        REQUESTS[handle], RESPONSES[handle + 500] = fields, {}
        fn(handle, handle + 500, None)
        return RESPONSES[handle + 500]

    filt = ctypes.c_void_p(0xBEEF)  # the filter's context: its parent is PARENT ("Cam")
    v = shim.dz_video_new(filt)
    assert "has published" in ask(get, {"source": "Cam"})["error"]  # nothing published yet
    shim.dz_video_set_info(v, b'{"frames": 12, "people": [{"id": "unknown-1"}]}')
    got = ask(get, {"source": "Cam"})
    assert got["frames"] == 12 and got["people"] == [{"id": "unknown-1"}] and 0 <= got["age_s"] < 1.0
    assert ask(get, {"source": "Nope"})["error"] == "no source named 'Nope'"
    assert ask(get, {})["error"] == "the request names no source"
    assert shim.dz_video_resets(v) == 0
    assert ask(reset, {"source": "Cam"}) == {"reset": True} and shim.dz_video_resets(v) == 1
    shim.dz_video_set_info(v, b"{not json")
    assert "not valid JSON" in ask(get, {"source": "Cam"})["error"]
    shim.dz_video_close(v)  # a closing filter is never answered from
    assert "has published" in ask(get, {"source": "Cam"})["error"]
    shim.dz_video_free(v)
    assert SOURCE_REFS["taken"] == SOURCE_REFS["released"] == 5  # every reference taken is released
