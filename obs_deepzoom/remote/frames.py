"""An OBS source's picture as a live stream of frames, read over obs-websocket (`GetSourceScreenshot`): what
`deepzoom codec send --obs-source NAME` sends. Each frame costs OBS a render of the source and a JPEG, and this
process a decode: see docs/codec.md for the rate it reaches."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import cv2
import numpy as np

from ..errors import DeepZoomError
from .client import ObsClient, ObsError

JPEG_QUALITY = 92  # the picture only feeds the face tracker and the keyframe: no visible loss, ~10x smaller
PROBES = 4  # screenshots timed at the start: how fast OBS answers


class ObsSourceFrames:
    """Frames of OBS source `name` at `fps`, or at the rate OBS answers when that is slower (measured on the
    first few screenshots). Like media.VideoSource: `size`, `fps`, `frames()`; `live`: the pacing is done here."""

    live = True

    def __init__(self, client: ObsClient, name: str, fps: float = 30.0, width: int | None = None):
        if not 0 < fps <= 120:
            raise DeepZoomError(f"--fps {fps}: expected 0-120 frames per second")
        self.client, self.name, self.fps, self.width = client, name, float(fps), width
        first = self.grab()
        t0 = time.perf_counter()
        for _ in range(PROBES):
            first = self.grab()
        self.fps = min(self.fps, round(0.9 * PROBES / max(time.perf_counter() - t0, 1e-6), 2))
        self.size = (first.shape[1], first.shape[0])
        self._first: np.ndarray | None = first
        self.grabbed = 0

    def grab(self) -> np.ndarray:
        """One screenshot of the source, BGR."""
        request = {"sourceName": self.name, "imageFormat": "jpg", "imageCompressionQuality": JPEG_QUALITY}
        if self.width:
            request["imageWidth"] = self.width
        try:
            data = self.client.request("GetSourceScreenshot", request)["imageData"]
        except ObsError as exc:
            if exc.code == 600:
                raise ObsError(f"no source named '{self.name}' in OBS", 600) from None
            raise ObsError(f"OBS could not show source '{self.name}' ({exc}): is it active and not empty?",
                           exc.code) from None
        img = cv2.imdecode(np.frombuffer(base64.b64decode(data.split(",", 1)[-1]), np.uint8), cv2.IMREAD_COLOR)
        if img is None or img.shape[0] < 16 or img.shape[1] < 16:
            raise ObsError(f"OBS sent no usable picture of source '{self.name}'")
        return img

    def frames(self) -> Iterator[np.ndarray]:
        """Screenshots, one every 1/fps seconds at most; a picture of another size (the source was resized)
        is scaled to the first one's, which the stream was started with."""
        next_at = time.monotonic()
        while True:
            if self._first is not None:
                img, self._first = self._first, None
            else:
                time.sleep(max(0.0, next_at - time.monotonic()))
                img = self.grab()
                if (img.shape[1], img.shape[0]) != self.size:
                    img = cv2.resize(img, self.size, interpolation=cv2.INTER_AREA)
            next_at = max(next_at + 1 / self.fps, time.monotonic())
            self.grabbed += 1
            yield img
