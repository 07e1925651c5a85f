"""The DeepZoom Keypoint Receiver source: a keypoint stream arriving over UDP (`deepzoom codec send`, or the
DeepZoom Keypoint Sender filter of another OBS) shown as an OBS source.

A thread of ours receives and decodes (engine/codec/transport.py) and hands each newest picture to libobs
(obs_source_output_video, BGRA; libobs copies it), so OBS's own threads never run Python for it. destroy and a
port change stop the thread and wait for it before anything it uses goes away."""

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

WAIT_S = 0.1  # the thread looks at its stop flag at least this often


class ReceiverSource:
    effect = "receiver"

    def __init__(self, source, data):
        self.source = source
        self.sections = sections(self.effect)
        self.specs = specs_for(self.sections)
        self.handle_buffer = ctypes.create_string_buffer(1)  # our identity for libobs (its address)
        self.handle = ctypes.addressof(self.handle_buffer)
        self.port: int | None = None
        self.error: str | None = None
        self.frames = 0
        self.receiver = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_frame = 0.0
        self._out_lock = threading.Lock()  # output vs destroy: never a frame to a source being destroyed
        self._closed = False
        obs.source_set_async_unbuffered(source, True)  # show each picture as it comes: no jitter buffer
        self.update(data)

    def update(self, data) -> None:
        try:
            port = from_obs_values(self.specs, reader(data), self.sections)["receiver"].port
        except DeepZoomError as exc:
            self.error = f"invalid setting {exc}"
            return
        if port != self.port:
            self._stop_thread()
            self.port, self.error = port, None
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._run, args=(port, self._stop), daemon=True,
                                            name=f"deepzoom-receiver-{port}")
            self._thread.start()

    def _run(self, port: int, stop: threading.Event) -> None:
        from ..engine.codec.transport import KeypointReceiver

        try:
            receiver = KeypointReceiver(port)
        except OSError as exc:
            self.error = f"cannot listen on UDP port {port} ({exc.strerror or exc})"
            obs.blog(obs.LOG_ERROR, f"[deepzoom] receiver: {self.error}")
            return
        self.receiver = receiver
        obs.blog(obs.LOG_INFO, f"[deepzoom] receiver listening on UDP port {port}")
        try:
            while not stop.is_set():
                try:
                    frames = receiver.receive(timeout=WAIT_S)
                except Exception as exc:  # noqa: BLE001 - never let the thread die silently
                    self.error = f"receiving failed: {exc}"
                    time.sleep(WAIT_S)
                    continue
                if frames and not stop.is_set():
                    self._output(frames[-1])
                    self.frames += len(frames)
        finally:
            receiver.close()

    def _output(self, bgr: np.ndarray) -> None:
        bgra = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA))
        f = obs.SourceFrame()
        f.data[0] = bgra.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
        f.linesize[0] = bgra.shape[1] * 4
        f.width, f.height = bgra.shape[1], bgra.shape[0]
        f.timestamp = obs.get_video_frame_time()
        f.format = obs.FORMAT_BGRA
        f.full_range = True
        with self._out_lock:
            if not self._closed:
                obs.source_output_video(self.source, ctypes.byref(f))  # libobs copies the pixels first
        self._last_frame = time.monotonic()

    def _stop_thread(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(5 * WAIT_S + 1.0)
            self._thread = None

    def status(self) -> tuple[str, bool] | None:
        if self.error:
            return self.error, True
        r = self.receiver
        if r is None or r.decoder is None:
            return f"listening on UDP port {self.port}: nothing received yet", False
        s = r.stats
        return (f"port {self.port}: {self.frames} frames, {s.keyframes} keyframes, {s.lost} datagrams lost, "
                f"{s.held} frames held"), False

    def destroy(self) -> None:
        self._stop_thread()
        with self._out_lock:
            self._closed = True
            obs.source_output_video(self.source, None)  # no picture left behind
