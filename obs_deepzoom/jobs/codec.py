"""`deepzoom codec encode|decode|info`: the keypoint codec on files (.dzk). Nothing partial is ever left: a file
appears only when complete."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from ..engine.codec.bits import CodecError
from ..engine.codec.container import FRAME_TYPES, KEYFRAME, Header, records
from ..engine.codec.decoder import KeypointDecoder
from ..engine.codec.encoder import KeypointEncoder
from ..errors import InputError
from ..media import VideoSource, check_output, video_writer
from ..settings import CodecSettings
from ..video_io import Encoding, tmp_for


def resampled(frames, fps_in: float, fps_out: float | None):
    """The frames at `fps_out` (frames dropped or repeated by time), or as they come."""
    if not fps_out or abs(fps_out - fps_in) < 1e-3:
        yield from frames
        return
    shown = 0
    for i, frame in enumerate(frames):
        while shown / fps_out < (i + 1) / fps_in:
            yield frame
            shown += 1


def encode_file(src: Path, out: Path, settings: CodecSettings | None = None, fps: float | None = None,
                max_frames: int = 0, progress=print) -> dict:
    out = Path(out)
    if out.suffix.lower() != ".dzk":
        raise InputError(f"{out}: the output of `codec encode` is a keypoint stream: name it *.dzk")
    if not out.parent.exists():
        raise InputError(f"{out.parent}: output directory does not exist")
    if fps is not None and not 1 <= fps <= 240:
        raise InputError(f"--fps {fps}: expected 1..240")
    source = VideoSource.open_file(Path(src))
    rate = fps or source.fps
    enc = KeypointEncoder(source.size, rate, settings)
    tmp, ms, total = tmp_for(out), [], source.frame_count or 0
    try:
        with open(tmp, "wb") as f:
            f.write(enc.header.pack())
            for frame in resampled(source.frames(), source.fps, fps):
                t0 = time.perf_counter()
                for rec in enc.encode(frame):
                    f.write(rec)
                ms.append((time.perf_counter() - t0) * 1000)
                if len(ms) % 30 == 0:
                    progress(f"encoding: {len(ms)}" + (f"/{round(total * rate / source.fps)}" if total else "")
                             + " frames")
                if max_frames and len(ms) >= max_frames:
                    break
        if not ms:
            raise InputError(f"{src}: no frames to encode")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    result = info(out)
    result["encode_ms"] = round(float(np.median(ms)), 2)
    return result


def read_stream(path: Path) -> tuple[Header, bytes]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    data = path.read_bytes()
    return Header.unpack(data, str(path)), data


def info(path: Path) -> dict:
    """Frames, keyframes, kbps (average and per second), the first keyframe's size; checks every record."""
    header, data = read_stream(path)
    frames, keyframes, first_key, per_second = 0, 0, None, {}
    pos = Header.size()
    for kind, payload in records(data, pos, str(path)):
        size = len(payload) + 3 + (len(payload) > 127) + (len(payload) > 16383)
        if kind == KEYFRAME:
            keyframes += 1
            first_key = first_key if first_key is not None else size
        second = int(frames / header.fps)
        per_second[second] = per_second.get(second, 0) + size
        frames += kind in FRAME_TYPES
    seconds = frames / header.fps
    steady = (len(data) - (first_key or 0) - Header.size()) * 8 / 1000 / max(seconds, 1e-9)
    return {"file": str(path), "width": header.width, "height": header.height, "fps": round(header.fps, 3),
            "frames": frames, "seconds": round(seconds, 3), "keyframes": keyframes, "bytes": len(data),
            "first_keyframe_bytes": first_key or 0, "kbps": round(len(data) * 8 / 1000 / max(seconds, 1e-9), 3),
            "kbps_without_first_keyframe": round(steady, 3),
            "kbps_per_second": [round(per_second[s] * 8 / 1000, 3) for s in sorted(per_second)]}


def decode_frames(path: Path):
    """(header, frames iterator) of a stream: every record is checked before anything is yielded, so a
    damaged file fails before any output exists."""
    header, data = read_stream(path)
    recs = list(records(data, Header.size(), str(path)))
    if not any(k in FRAME_TYPES for k, _ in recs):
        raise CodecError(f"{path}: the stream holds no frames")
    dec = KeypointDecoder(header, str(path))

    def frames():
        for kind, payload in recs:
            frame = dec.feed(kind, payload)
            if frame is not None:
                yield frame
    return header, frames()


def decode_file(src: Path, out: Path, encoding: Encoding | None = None, progress=print) -> dict:
    out = check_output(Path(out), "video")
    header, frames = decode_frames(src)
    ms, n = [], 0
    with video_writer(out, header.fps, (header.width, header.height), encoding or Encoding()) as write:
        t0 = time.perf_counter()
        for frame in frames:
            ms.append((time.perf_counter() - t0) * 1000)
            write(frame)
            n += 1
            if n % 30 == 0:
                progress(f"decoding: {n} frames")
            t0 = time.perf_counter()
    return {"output": str(out), "frames": n, "fps": round(header.fps, 3),
            "decode_ms": round(float(np.median(ms)), 2) if ms else 0.0}
