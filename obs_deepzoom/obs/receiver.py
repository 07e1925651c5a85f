"""The DeepZoom Keypoint Receiver source: a keypoint stream arriving over UDP (`deepzoom codec send`, or the
DeepZoom Keypoint Sender filter of another OBS) shown as an OBS source.

A thread of ours does everything: it binds the port, receives and decodes (engine/codec/transport.py), hands the
newest picture to libobs (obs_source_output_video, BGRA; libobs copies it) and reads the settings when they
change. OBS's threads run no Python for it after creation: `update` is the native shim's (libobs calls it on the
graphics thread; it only counts), so a port change never waits for anything there. destroy stops the thread
before the native object goes; a thread that does not stop in time frees it itself when it ends."""

from __future__ import annotations

import ctypes
import threading
import time

import cv2
import numpy as np

from ..errors import DeepZoomError
from . import libobs as obs
from .kinds import sections
from .properties import from_obs_values, specs_for
from .property_page import reader

WAIT_S = 0.1  # the thread looks at its stop flag and the settings at least this often
RETRY_S = 2.0  # a port that could not be bound is tried again after this long


class ReceiverSource:
    effect = "receiver"

    def __init__(self, source, data, native):
        self.source, self.native = source, native
        self.sections = sections(self.effect)
        self.specs = specs_for(self.sections)
        self.handle = native.dz_video_new(source)  # never configured active: no filter chains onto it
        if not self.handle:
            raise DeepZoomError("out of memory")
        self._gen = native.dz_video_settings_gen(self.handle)
        self.port: int | None = None
        self.settings_error: str | None = None
        self.error: str | None = None
        self.frames = 0
        self.receiver = None
        self._read(data)
        self._stop = threading.Event()
        self._lock = threading.Lock()  # output and the end of the thread vs destroy
        self._closed = self._exited = self._free_on_exit = False
        obs.source_set_async_unbuffered(source, True)  # show each picture as it comes: no jitter buffer
        self._thread = threading.Thread(target=self._run, daemon=True, name="deepzoom-receiver")
        self._thread.start()

    def _read(self, data) -> None:
        try:
            self.port = from_obs_values(self.specs, reader(data), self.sections)["receiver"].port
            self.settings_error = None
        except DeepZoomError as exc:
            self.settings_error = f"invalid setting {exc}"

    def _reread_settings(self) -> None:
        gen = self.native.dz_video_settings_gen(self.handle)
        if gen != self._gen:
            self._gen = gen
            data = obs.source_get_settings(self.source)
            try:
                self._read(data)
            finally:
                obs.data_release(data)

    def _run(self) -> None:
        from ..engine.codec.transport import KeypointReceiver

        bound, retry_at = None, 0.0
        try:
            while not self._stop.is_set():
                self._reread_settings()
                if self.port != bound or (self.receiver is None and time.monotonic() >= retry_at):
                    if self.receiver is not None:
                        self.receiver.close()
                        self.receiver = None
                    bound = self.port
                    try:
                        self.receiver = KeypointReceiver(bound)
                        self.error = None
                        obs.blog(obs.LOG_INFO, f"[deepzoom] receiver listening on UDP port {bound}")
                    except OSError as exc:
                        self.error = f"cannot listen on UDP port {bound} ({exc.strerror or exc})"
                        obs.blog(obs.LOG_ERROR, f"[deepzoom] receiver: {self.error}")
                        retry_at = time.monotonic() + RETRY_S
                if self.receiver is None:
                    self._stop.wait(WAIT_S)
                    continue
                frames = self.receiver.receive(timeout=WAIT_S)  # bounded: never more than a batch
                if frames:
                    self._output(frames[-1])
                    self.frames += len(frames)
        except Exception as exc:  # noqa: BLE001 - the thread must end cleanly whatever happens
            self.error = f"the receiver stopped: {type(exc).__name__}: {exc}"
            obs.blog(obs.LOG_ERROR, f"[deepzoom] {self.error}")
        finally:
            if self.receiver is not None:
                self.receiver.close()
            with self._lock:
                self._exited = True
                if self._free_on_exit:  # destroy gave up waiting: free the native object here, last
                    self._free()

    def _output(self, bgr: np.ndarray) -> None:
        bgra = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
        f = obs.SourceFrame()
        f.data[0] = bgra.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        f.linesize[0] = bgra.shape[1] * 4
        f.width, f.height = bgra.shape[1], bgra.shape[0]
        f.timestamp = obs.get_video_frame_time()
        f.format = obs.FORMAT_BGRA
        f.full_range = True
        with self._lock:
            if not self._closed:
                obs.source_output_video(self.source, ctypes.byref(f))  # libobs copies the pixels first

    def status(self) -> tuple[str, bool] | None:
        if self.settings_error or self.error:
            return self.settings_error or self.error, True
        r = self.receiver
        if r is None or r.decoder is None:
            return f"listening on UDP port {self.port}: nothing received yet", False
        s = r.stats
        return (f"port {self.port}: {self.frames} frames, {s.keyframes} keyframes, {s.lost} datagrams lost, "
                f"{s.held} frames held"), False

    def destroy(self) -> None:
        """OBS's destroy thread, after the source is gone from OBS's lists: stop the thread, then free."""
        self._stop.set()
        self.native.dz_video_close(self.handle)
        self._thread.join(10 * WAIT_S + 2.0)
        with self._lock:
            self._closed = True
            if self._exited:
                self._free()
            else:
                self._free_on_exit = True

    def _free(self) -> None:
        self.native.dz_video_free(self.handle)
