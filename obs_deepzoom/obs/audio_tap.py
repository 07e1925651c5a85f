"""The sound of another OBS source (a microphone) for a video filter. libobs calls the native shim's
dz_tap_capture on its audio thread with each block; it mixes it to mono into a ring that the filter's worker
drains. No Python ever runs on the audio thread.

Lifecycle: attach / retry / detach / close run under one lock; a closed tap never attaches again (a worker
still running after the filter's destroy cannot re-register it); the source is held by a weak reference, so
a microphone the user deletes is really freed (its callbacks go with it). The native tap is freed only
after the callback was removed (libobs removes it under the lock it calls it under: no call in flight)."""

from __future__ import annotations

import threading
import time

import numpy as np

from . import libobs as obs
from .native import callback_address

RETRY_S = 2.0
RING_S = 4.0


class AudioTap:
    def __init__(self, native):
        self.native = native
        audio = obs.get_audio()
        self.rate = int(obs.audio_output_get_sample_rate(audio))
        self.cap = int(RING_S * self.rate)
        self.handle = native.dz_tap_new(int(obs.audio_output_get_channels(audio)), self.cap)
        if not self.handle:
            raise MemoryError("no memory for the audio tap's ring")
        self.ring = obs.float_plane(native.dz_tap_ring(self.handle), self.cap)
        self.callback = callback_address(native, "dz_tap_capture")
        self.name = ""
        self._weak = None
        self._lock = threading.Lock()
        self._closed = False
        self._warned = ""
        self._retry_at = 0.0
        self._read = 0

    def attach(self, name: str) -> bool:
        """Listen to the source called `name` ("" stops listening); False when no such source exists now."""
        with self._lock:
            if self._closed:
                return False
            if name == self.name and (self._weak is not None or not name):
                return True
            self._detach_locked()
            self.name = name
            return self._attach_locked()

    def _attach_locked(self) -> bool:
        if not self.name:
            return True
        source = obs.get_source_by_name(self.name.encode("utf-8"))
        if not source:
            if self._warned != self.name:
                obs.blog(obs.LOG_WARNING, f"avatar: no OBS source called '{self.name}' to listen to (yet)")
                self._warned = self.name
            return False
        try:
            obs.source_add_audio_capture_callback(source, self.callback, self.handle)
            self._weak = obs.source_get_weak_source(source)
        finally:
            obs.source_release(source)
        self._read = self.native.dz_tap_written(self.handle)
        obs.blog(obs.LOG_INFO, f"avatar: listening to '{self.name}' at {self.rate} Hz")
        return True

    def retry(self) -> None:
        """Attach to the named source if it was missing (or deleted since), at most every RETRY_S seconds."""
        now = time.monotonic()
        with self._lock:
            if self._closed or not self.name or now < self._retry_at:
                return
            self._retry_at = now + RETRY_S
            if self._weak is not None:
                alive = obs.weak_source_get_source(self._weak)
                if alive:
                    obs.source_release(alive)
                    return
                obs.weak_source_release(self._weak)  # the source was deleted: its callbacks went with it
                self._weak = None
            self._attach_locked()

    def _detach_locked(self) -> None:
        self._detached_cleanly = True
        if self._weak is None:
            return
        source = obs.weak_source_get_source(self._weak)
        self._detached_cleanly = bool(source)
        if source:
            obs.source_remove_audio_capture_callback(source, self.callback, self.handle)
            obs.source_release(source)
        obs.weak_source_release(self._weak)
        self._weak = None

    def detach(self) -> None:
        with self._lock:
            self._detach_locked()

    def close(self) -> None:
        """Detach for good and free the native ring (nothing can call it any more)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            was_attached = self._weak is not None
            self._detach_locked()
            if not was_attached or self._detached_cleanly:
                self.native.dz_tap_free(self.handle)
            # else: the source is being destroyed and may still be in our callback: the small ring is leaked
            self.handle = None

    def drain(self) -> np.ndarray | None:
        """All mono sound captured since the last call (at most the ring's length), or None."""
        with self._lock:
            if self._closed:
                return None
            written = int(self.native.dz_tap_written(self.handle))
            start = max(self._read, written - self.cap // 2)
            self._read = written
            if written <= start:
                return None
            idx = (start + np.arange(written - start)) % self.cap
            return self.ring[idx].astype(np.float32)

