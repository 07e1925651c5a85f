"""Our OBS filters: the Python side of each filter instance (settings, property page, worker thread).

OBS's real-time callbacks (filter_video, video_render, filter_audio, filter_remove) are C functions of the
native shim (native/deepzoom_native.c) and never run Python. Each instance here owns a native object and one
worker thread that waits inside the shim (without the GIL) for the next frame or audio, runs the effect and
hands the result back. Errors never kill the worker: the frame passes through, the error is logged (rate
limited), shown on the property page, and the worker retries as soon as the settings change."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import threading
import time
from ctypes import byref

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.effects import audio_effect
from ..errors import DeepZoomError
from ..settings import ChainSettings, FilterSettings
from . import libobs as obs
from .audio_stream import AudioStream
from .audio_tap import AudioTap
from .frames import plane_shapes, to_bgr, to_obs_rgba, write_back
from .kinds import AUDIO_KINDS, sections
from .native import VIDEO_STATS, Job
from .properties import (
    from_obs_values,
    specs_for,
    status_line,
)
from .property_page import obs_locale, reader

log = logging.getLogger("obs_deepzoom.obs")

_BUILD_LOCK = threading.Lock()  # workers build their chains one at a time (first-use imports and loads)
REBUILD_KEYS = ("face.device", "face.precision", "face.detector", "face.min_detection_confidence")
RETRY_S = 5.0  # a failed effect is tried again this often even if no setting changes (a file may appear)
WAIT_MS = 200  # a worker's longest wait inside the shim before it looks at its settings again
GAP_WAIT_MS = 33  # the same for an effect that fills in for a camera that stopped sending (a frame's time)
GAP_MIN_MS = 60  # a filled-in picture is shown only if no frame came for this long (a frame that came wins)
GIL_WAITS = {"count": 0}  # Python callbacks that ran on an OBS real-time thread (registration.Dispatch counts)
PUBLISH_S = 0.5  # how often an effect's live statistics (analytics) are published for remote readers
STATS_S = float(os.environ.get("DEEPZOOM_STATS_S", "0") or 0)  # > 0: log each filter's counters this often


def _value(settings: ChainSettings, key: str):
    section, name = key.split(".")
    return getattr(getattr(settings, section), name)


def _keep_size(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """OBS frames keep their source's size: an effect that resizes (restore's upscale mode) is scaled back."""
    if (frame.shape[1], frame.shape[0]) == size:
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


class ErrorLog:
    """An error is logged the first time, then at most every `every` seconds with how often it recurred."""

    def __init__(self, name: str, every: float = 30.0):
        self.name, self.every = name, every
        self.last: str | None = None
        self._at, self._count = 0.0, 0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if message != self.last or now - self._at >= self.every:
            extra = f" (repeated {self._count} more times)" if self._count and message == self.last else ""
            log.error("%s: %s%s", self.name, message, extra)
            self.last, self._at, self._count = message, now, 0
        else:
            self._count += 1


class _Filter:
    """What every DeepZoom filter shares: its settings sections, validated updates, its worker thread."""

    def __init__(self, effect: str, source, native):
        self.effect, self.source, self.native = effect, source, native
        self.sections = sections(effect)
        self.specs = specs_for(self.sections)
        self._lock = threading.Lock()
        self._pending: dict | None = None
        self.error: str | None = None  # the worker's: the effect could not start or run (retried)
        self.settings_error: str | None = None  # the last update's: an invalid value (cleared by a valid one)
        self.errors = ErrorLog(effect)
        self._retry_at = 0.0
        self.handle = None
        self._thread: threading.Thread | None = None

    def update(self, data) -> None:
        """UI / websocket thread: validate the new values; the worker picks them up."""
        try:
            values = from_obs_values(self.specs, reader(data), self.sections)
        except DeepZoomError as exc:
            self.settings_error = f"invalid setting {exc}"
            obs.blog(obs.LOG_WARNING, f"{self.effect}: ignored {self.settings_error}")
            return
        self.settings_error = None
        with self._lock:
            self._pending = values
        self._updated(values)

    def _updated(self, values: dict) -> None:
        """Hook for settings that take effect on the calling thread."""

    def _take(self) -> dict | None:
        with self._lock:
            values, self._pending = self._pending, None
        return values

    def _start(self) -> None:
        self._exited = self._free_on_exit = False
        self._thread = threading.Thread(target=self._worker, name=f"deepzoom-{self.effect}", daemon=True)
        self._thread.start()

    def _worker(self) -> None:
        try:
            self._run()
        finally:
            with self._lock:
                self._exited = True
                if self._free_on_exit:  # destroy gave up waiting: the native object is freed here, last
                    self._free()

    def _stop_worker(self) -> None:
        """destroy(): wait for the worker; if it is still busy (a long model build), it frees the native
        object itself when it ends, so nothing it may still call is freed under it."""
        if self._thread is not None:
            self._thread.join(5.0)
        with self._lock:
            if self._thread is not None and not self._exited:
                self._free_on_exit = True
                return
        self._free()

    def _free(self) -> None:
        raise NotImplementedError

    def _failed(self, exc: BaseException, what: str) -> None:
        self.error = f"{what}: {type(exc).__name__}: {exc}"
        self.errors(self.error)
        self._retry_at = time.monotonic() + RETRY_S

    def _run(self) -> None:
        raise NotImplementedError

    def stats(self) -> dict:
        raise NotImplementedError

    def _log_stats(self) -> None:
        """With DEEPZOOM_STATS_S set (bench obs): one line of counters every so often, from the worker."""
        now = time.monotonic()
        if STATS_S > 0 and now >= getattr(self, "_stats_at", 0.0):
            self._stats_at = now + STATS_S
            stats = {**self.stats(), "gil_waits_on_obs_threads": GIL_WAITS["count"], "t": round(now, 3)}
            obs.blog(obs.LOG_INFO, f"{self.effect} stats: {json.dumps(stats)}")

    def status(self) -> tuple[str, bool]:
        """The line at the top of the property page (UI thread): model, device, ms per frame, how many frames
        (or how much audio) got the effect; the worker's error instead, in red."""
        error = self.error or self.settings_error
        try:
            settings = getattr(self, "settings", None)
            if settings is None:
                settings = ChainSettings().model_copy(update=getattr(self, "_values", None) or {})
            return status_line(self.effect, {s: getattr(settings, s) for s in self.sections}, self.stats(), error,
                               obs_locale())
        except Exception as exc:  # never fail the page for its status line
            return (error or f"status unavailable: {exc}"), bool(error)


class VideoFilter(_Filter):
    def __init__(self, effect: str, source, data, native):
        super().__init__(effect, source, native)
        self.settings = ChainSettings()
        self.runtime = FilterSettings()
        self.chain: Chain | None = None
        self._calls: list[str] = []  # effect methods asked for from the UI (buttons), run on the worker
        self.tap: AudioTap | None = None
        self._job_ms: list[float] = []
        self._late_seen = 0
        self.handle = native.dz_video_new(source)
        if not self.handle:
            raise DeepZoomError("out of memory")
        self._gen = native.dz_video_settings_gen(self.handle)
        self._resets = native.dz_video_resets(self.handle)
        self._published_at = 0.0
        self._last_job_at = time.monotonic()
        try:
            self.update(data)
        except Exception:
            native.dz_video_close(self.handle)
            native.dz_video_free(self.handle)
            raise
        self._start()

    def _reread_settings(self) -> None:
        """Worker: OBS updated the filter (the native update only counts): read its settings here."""
        gen = self.native.dz_video_settings_gen(self.handle)
        if gen == self._gen:
            return
        self._gen = gen
        data = obs.source_get_settings(self.source)
        try:
            self.update(data)
        finally:
            obs.data_release(data)

    def _updated(self, values: dict) -> None:
        self.runtime = values["filter"]
        self._configure(active=self.chain is not None and self.error is None)
        name = getattr(values.get(self.effect), "audio_source", None)
        if name is not None and (name or self.tap is not None):
            if self.tap is None:
                self.tap = AudioTap(self.native)
            self.tap.attach(name)

    def _configure(self, active: bool) -> None:
        r = self.runtime
        self.native.dz_video_configure(self.handle, int(active), r.latency_frames, int(r.late_frames == "drop"),
                                       int(r.budget_ms * 1000), r.max_age_frames)

    # ---- worker thread ----
    def _apply_pending(self) -> bool:
        """Newest settings into the chain (built or rebuilt here, never on OBS's threads); True if changed."""
        values = self._take()
        if values is None and not (self.error and time.monotonic() >= self._retry_at):
            return False
        merged = self.settings.model_copy(update=values or {})
        old, self.settings = self.settings, merged
        if self.chain is None or any(_value(old, k) != _value(merged, k) for k in REBUILD_KEYS):
            self.chain = None
            self._configure(active=False)  # frames pass at once while models load, none wait to be dropped
            with _BUILD_LOCK:
                self.chain = Chain([self.effect], merged)  # compiled models come from OpenVINO's cache
        else:
            for effect in self.chain.effects:
                effect.settings = getattr(merged, effect.name)
            if self.chain.tracker is not None:
                self.chain.tracker.settings = merged.face
        return True

    def _run(self) -> None:
        job = Job()
        while True:
            try:
                self._log_stats()
                self._reread_settings()
                if self._apply_pending():
                    self.error = None
                    self._configure(active=True)
            except Exception as exc:
                self._failed(exc, "the effect could not start")
                self._configure(active=False)
            self._share()
            gap = self._gap_effect()  # an effect that fills in for missing frames is asked every frame's time
            r = self.native.dz_video_wait(self.handle, byref(job), WAIT_MS if gap is None else GAP_WAIT_MS, self._gen)
            if r < 0:
                return
            if r == 0:
                if gap is not None:
                    self._fill_gap(gap)
                continue
            ok = False
            t0 = time.perf_counter()
            try:
                if self.chain is not None and self.error is None:
                    self._run_calls()
                    self._feed_audio()
                    self._process_job(job)
                    ok = True
            except Exception as exc:  # the frame passes through; the next setting change retries
                self._failed(exc, "processing failed")
                self._configure(active=False)
            self.native.dz_video_finish(self.handle, job.slot, int(ok))
            if ok:
                self._last_job_at = time.monotonic()
                self._job_ms.append((time.perf_counter() - t0) * 1000)
                self._advise()

    def _gap_effect(self):
        """The effect that conceals a camera that stopped sending frames (dropout concealment), if running."""
        if self.chain is None or self.error is not None:
            return None
        return next((e for e in self.chain.effects if hasattr(e, "missing")), None)

    def _fill_gap(self, effect) -> None:
        """No frame came: once the async source has sent nothing for the effect's time, its picture is drawn in
        place of the source's last frame (while the source is shown anywhere), until a frame goes out again."""
        try:
            idle, unseen = self.native.dz_video_idle_ms(self.handle), self.native.dz_video_unseen_ms(self.handle)
            if unseen >= 1000:  # shown nowhere now: nothing is drawn, and nothing old is animated when it is again
                self.native.dz_video_conceal_off(self.handle)
                effect.forget()
                return
            if idle < GAP_MIN_MS or unseen < 0:  # frames come, or it was never drawn
                return
            self._feed_audio()
            out = effect.missing(time.perf_counter())
            if out is None:
                self.native.dz_video_conceal_off(self.handle)
                return
            matrix = (ctypes.c_float * 16)()
            fmt = obs.VIDEO_FORMAT.get(int(self.native.dz_video_frame_color(self.handle, matrix)), "")
            rgba = np.ascontiguousarray(to_obs_rgba(out, fmt, np.ctypeslib.as_array(matrix)))
            h, w = rgba.shape[:2]
            self.native.dz_video_conceal(self.handle, rgba.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)), w, h,
                                         GAP_MIN_MS)
        except Exception as exc:  # the source's last frame stays; the next setting change retries
            self.native.dz_video_conceal_off(self.handle)
            self._failed(exc, "concealing a dropout failed")
            self._configure(active=False)

    def _share(self) -> None:
        """Effects with live statistics (analytics): start them over when a remote reader asked (vendor request
        ResetAnalytics), and publish them every PUBLISH_S for remote readers (GetAnalytics)."""
        if self.chain is None:
            return
        effects = [e for e in self.chain.effects if hasattr(e, "live_stats")]
        if not effects:
            return
        try:
            resets = self.native.dz_video_resets(self.handle)
            if resets != self._resets:
                self._resets = resets
                for effect in effects:
                    effect.reset_session()
                self._published_at = 0.0
            now = time.monotonic()
            if now - self._published_at >= PUBLISH_S:
                self._published_at = now
                stats = {**effects[0].live_stats(), "effect_ms_median": self.stats().get("effect_ms_median"),
                         "idle_s": round(time.monotonic() - self._last_job_at, 2)}  # since the last frame
                if self.error or self.settings_error:
                    stats["error"] = self.error or self.settings_error
                self.native.dz_video_set_info(self.handle, json.dumps(stats).encode())
        except Exception as exc:  # statistics are a side line: never stop the effect for them
            self.errors(f"publishing statistics failed: {type(exc).__name__}: {exc}")

    def _advise(self) -> None:
        """Every 200 jobs on a camera: if frames come out late, say which latency would fit (OBS log)."""
        if len(self._job_ms) < 200:
            return
        ms, self._job_ms = sorted(self._job_ms), []
        stats = self.stats()
        late = stats["dropped"] + stats["abandoned"] - self._late_seen
        self._late_seen = stats["dropped"] + stats["abandoned"]
        if stats["frames_in"] and late > 40:
            p90 = ms[int(0.9 * len(ms))]
            log.warning("%s: %d of the last frames were late (the effect takes %.0f ms, p90 %.0f ms): raise "
                        "filter.latency_frames so latency_frames x frame time > %.0f ms + one frame",
                        self.effect, late, ms[len(ms) // 2], p90, p90)

    def _process_job(self, job: Job) -> None:
        w, h = int(job.width), int(job.height)
        if job.render:
            rgba = obs.plane(job.data, w * h * 4).reshape(h, w, 4)
            out = self._process(rgba)
            if out.shape != (h, w, 4) or out.dtype != np.uint8:
                raise DeepZoomError(f"the effect returned {out.shape} {out.dtype} for a {w}x{h} RGBA frame")
            obs.plane(job.out, w * h * 4).reshape(h, w, 4)[:] = out
            return
        fmt = obs.VIDEO_FORMAT[int(job.format)]
        planes = []
        for i, (rows, width) in enumerate(plane_shapes(fmt, w, h)):
            ls = int(job.linesize[i])
            view = obs.plane(ctypes.addressof(job.data.contents) + int(job.offset[i]), ls * rows)
            planes.append(view.reshape(rows, ls)[:, :width])
        bgr = to_bgr(fmt, planes, w, h)
        out = self._process(bgr)
        if out.shape != bgr.shape:
            raise DeepZoomError(f"the effect returned {out.shape} for a {w}x{h} frame")
        write_back(fmt, planes, bgr, out)

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

    def _feed_audio(self) -> None:
        """The listened-to source's sound since the last frame, to effects that take it."""
        if self.tap is None:
            return
        self.tap.retry()  # the source may appear after the filter (scene loading order)
        sound = self.tap.drain()
        if sound is not None:
            for effect in self.chain.effects:
                if hasattr(effect, "feed_audio"):
                    effect.feed_audio(sound, self.tap.rate)

    def _process(self, frame: np.ndarray) -> np.ndarray:
        """BGR in, BGR out (raw frames); RGBA in, RGBA out with the alpha kept (render path)."""
        size = (frame.shape[1], frame.shape[0])
        if frame.shape[2] == 3:
            return _keep_size(self.chain.process(frame)[0], size)
        out, ctx = self.chain.process(cv2.cvtColor(frame, cv2.COLOR_RGBA2BGR))
        rgba = cv2.cvtColor(_keep_size(out, size), cv2.COLOR_BGR2RGBA)
        alpha = frame[..., 3]
        for warp in ctx.warps:  # an effect that moved the picture (framing) moves its transparency with it
            alpha = warp(alpha)
        rgba[..., 3] = _keep_size(alpha, size)
        return rgba

    def stats(self) -> dict:
        raw = (ctypes.c_uint64 * len(VIDEO_STATS))()
        self.native.dz_video_stats(self.handle, raw, len(VIDEO_STATS))
        out = {**dict(zip(VIDEO_STATS, raw)), "latency_frames": self.runtime.latency_frames}
        if self._job_ms:
            out["effect_ms_median"] = round(sorted(self._job_ms)[len(self._job_ms) // 2], 2)
        return out

    def destroy(self) -> None:
        """OBS's destroy thread, after OBS removed the filter (no callback of it runs any more): stop the
        worker, free the GPU objects, then the native object."""
        if self.tap is not None:
            self.tap.close()
        self.native.dz_video_close(self.handle)
        stats = self.stats()
        obs.enter_graphics()
        try:
            self.native.dz_video_free_gpu(self.handle)
        finally:
            obs.leave_graphics()
        self._stop_worker()
        obs.blog(obs.LOG_INFO, f"{self.effect} filter destroyed: {stats}")

    def _free(self) -> None:
        self.native.dz_video_free(self.handle)


class AudioFilter(_Filter):
    """The native filter_audio queues each block; the worker (AudioStream) processes it. OBS's audio thread
    never waits and never runs Python."""

    def __init__(self, effect: str, source, data, native):
        super().__init__(effect, source, native)
        audio = obs.get_audio()
        self.stream = AudioStream(native, effect, int(obs.audio_output_get_channels(audio)),
                                  int(obs.audio_output_get_sample_rate(audio)), self._make)
        self.handle = self.stream.handle
        self.update(data)
        self._start()

    def _make(self, settings):
        return audio_effect(self.effect, settings, self.stream.rate, self.stream.channels)

    def _run(self) -> None:
        while True:
            values = self._take()
            if values is not None:
                self._values = values
            if values is not None or self.stream.processor is None and time.monotonic() >= self._retry_at:
                try:
                    settings = ChainSettings().model_copy(update=getattr(self, "_values", None) or {})
                    self.stream.set_queue(settings.audio_filter.queue_ms)
                    self.stream.configure(getattr(settings, self.effect))
                    self.error = None
                except Exception as exc:
                    self._failed(exc, "the effect could not start")
                    self.stream.processor = None
            try:
                self._log_stats()
                if not self.stream.step(WAIT_MS):
                    return
            except Exception as exc:  # audio passes through (same delay) until the settings change
                self._failed(exc, "processing failed")
                self.stream.processor = None

    def stats(self) -> dict:
        return self.stream.stats()

    def destroy(self) -> None:
        self.stream.close()
        stats = self.stats()
        self._stop_worker()
        obs.blog(obs.LOG_INFO, f"{self.effect} filter destroyed: {stats}")

    def _free(self) -> None:
        self.stream.free()


def make_filter(effect: str, source, data, native):
    return (AudioFilter if effect in AUDIO_KINDS else VideoFilter)(effect, source, data, native)
