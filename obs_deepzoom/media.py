"""Reading images, videos and cameras and writing results atomically (no partial files left behind); video
files are written by video_io (PyAV)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import InputError
from .video_io import tmp_for as _tmp_for

IMAGE_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXT = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v"}


def kind_of(path: Path) -> str:
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXT:
        return "image"
    if ext in VIDEO_EXT:
        return "video"
    raise InputError(f"{path}: unsupported file type '{ext or '(none)'}' "
                     f"(images: {', '.join(sorted(IMAGE_EXT))}; videos: {', '.join(sorted(VIDEO_EXT))})")


def read_image(path: Path) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: not a readable image")
    return img


@dataclass
class VideoSource:
    """Frames of a video file or a camera; `fps` and `frame_count` (0 when unknown)."""

    capture: cv2.VideoCapture
    name: str
    fps: float
    frame_count: int
    size: tuple[int, int]
    opencv_video: bool = False  # frames decoded from a file by OpenCV's FFmpeg reader (see video_io.bgr_to_yuv420)

    @classmethod
    def open_file(cls, path: Path) -> VideoSource:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file")
        cap = cv2.VideoCapture(str(path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            cap.release()
            raise InputError(f"{path}: not a readable video")
        cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        return cls(cap, str(path), fps if 1 <= fps <= 240 else 30.0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
                   (first.shape[1], first.shape[0]), opencv_video=True)

    @classmethod
    def open_camera(cls, index: int) -> VideoSource:
        cap = cv2.VideoCapture(index)
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            cap.release()
            raise InputError(f"camera {index} could not be opened (is it connected and not in use?)")
        fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        return cls(cap, f"camera {index}", fps, 0, (first.shape[1], first.shape[0]))

    def frames(self) -> Iterator[np.ndarray]:
        try:
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    return
                yield frame
        finally:
            self.capture.release()


def check_output(path: Path, kind: str) -> Path:
    path = Path(path)
    out_kind = kind_of(path)
    if out_kind != kind:
        raise InputError(f"{path}: output must be {'an image' if kind == 'image' else 'a video'} "
                         f"like the input (got a {out_kind} extension)")
    if not path.parent.exists():
        raise InputError(f"{path.parent}: output directory does not exist")
    return path




def write_image(path: Path, image: np.ndarray) -> Path:
    path = Path(path)
    tmp = _tmp_for(path)
    if not cv2.imwrite(str(tmp), image):
        tmp.unlink(missing_ok=True)
        raise InputError(f"{path}: could not write the image")
    os.replace(tmp, path)
    return path


def video_writer(path: Path, fps: float, size: tuple[int, int], encoding=None, audio=None, opencv_video=False):
    """Context manager yielding write(frame): H.264 (CRF 18 unless `encoding` says otherwise, see
    video_io.Encoding) with the soundtrack `audio` (audio_io.Audio, sample 0 at the first frame) muxed in; the
    file appears only if the block completes. `opencv_video`: the frames were read from a video file with
    cv2.VideoCapture (VideoSource.opencv_video), whose darker luma the writer then undoes."""
    from .video_io import video_writer as _writer

    return _writer(path, fps, size, encoding, audio, opencv_video)
