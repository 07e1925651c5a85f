"""The sound of another OBS source (a microphone) for a video filter: libobs calls us on its audio thread
with each block (float planar); we keep a bounded queue of mono blocks that the filter's worker drains.
The audio thread only copies and appends: it never waits on the worker."""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from . import libobs as obs

RETRY_S = 2.0
MAX_BLOCKS = 64  # ~1.4 s of 1024-sample blocks: older sound is dropped if nobody drains it


class AudioTap:
    def __init__(self, channels: int, rate: int):
        self.channels, self.rate = channels, rate
        self.name = ""
        self._source = None
        self._blocks: collections.deque = collections.deque(maxlen=MAX_BLOCKS)
        self._lock = threading.Lock()
        self._callback = obs.AudioCapture(self._capture)  # kept alive as long as the tap
        self._warned = ""
        self._retry_at = 0.0

    def _capture(self, _param, _source, audio_ptr, muted) -> None:
        try:
            a = obs.AudioData.from_address(audio_ptr)
            n = int(a.frames)
            if n == 0 or not a.data[0]:
                return
            planes = [obs.float_plane(a.data[c], n) for c in range(self.channels) if a.data[c]]
            mono = np.zeros(n, np.float32) if muted else np.mean(planes, axis=0, dtype=np.float32)
            with self._lock:
                self._blocks.append(mono)
        except Exception:  # never raise into libobs's audio thread
            pass

    def attach(self, name: str) -> bool:
        """Listen to the source called `name` ("" stops listening); False when no such source exists now."""
        if name == self.name and (self._source is not None or not name):
            return True
        self.detach()
        self.name = name
        if not name:
            return True
        source = obs.get_source_by_name(name.encode())
        if not source:
            if self._warned != name:
                obs.blog(obs.LOG_WARNING, f"avatar: no OBS source called '{name}' to listen to (yet)")
                self._warned = name
            return False
        self._source = source
        obs.source_add_audio_capture_callback(source, self._callback, None)
        obs.blog(obs.LOG_INFO, f"avatar: listening to '{name}' ({self.channels} ch at {self.rate} Hz)")
        return True

    def retry(self) -> None:
        """Attach to the named source if it was missing, at most every RETRY_S seconds."""
        now = time.monotonic()
        if self.name and self._source is None and now >= self._retry_at:
            self._retry_at = now + RETRY_S
            name, self.name = self.name, ""
            self.attach(name)
            self.name = name

    def detach(self) -> None:
        if self._source is not None:
            obs.source_remove_audio_capture_callback(self._source, self._callback, None)
            obs.source_release(self._source)
            self._source = None

    def drain(self) -> np.ndarray | None:
        """All mono sound captured since the last call, or None."""
        with self._lock:
            blocks = list(self._blocks)
            self._blocks.clear()
        return np.concatenate(blocks) if blocks else None
