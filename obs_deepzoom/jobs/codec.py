"""`deepzoom codec encode|decode|info`: the keypoint codec on files (.dzk). Nothing partial is ever left: a file
appears only when complete."""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import numpy as np

from ..engine.codec.bits import CodecError
from ..engine.codec.container import KEYFRAME, Header, frame_count, group_frames, record_size, records
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
    enc = KeypointEncoder(source.size, rate, settings, group_frames=group_frames(rate))
    if enc.settings.keyframe_candidates > 1:
        progress(f"choosing the keyframe among the first {enc.settings.keyframe_window_s:g} s")
        again = VideoSource.open_file(Path(src)).frames()
        try:
            ahead = resampled(again, source.fps, fps)
            enc.plan_keyframe(itertools.islice(ahead, max_frames) if max_frames else ahead)
        finally:
            again.close()  # the second reading stops here, its file closed
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
            for rec in enc.flush():  # the last group
                f.write(rec)
        if not ms:
            raise InputError(f"{src}: no frames to encode")
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    result = info(out)
    result["encode_ms"] = round(float(np.median(ms)), 2)
    if enc.plan is not None:
        result["first_keyframe_at_frame"] = enc.plan["keyframe_index"]
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
        size = record_size(len(payload))
        if kind == KEYFRAME:
            keyframes += 1
            first_key = first_key if first_key is not None else size
        second = int(frames / header.fps)
        per_second[second] = per_second.get(second, 0) + size
        frames += frame_count(kind, payload)
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
    if not any(frame_count(k, p) for k, p in recs):
        raise CodecError(f"{path}: the stream holds no frames")
    dec = KeypointDecoder(header, str(path))

    def frames():
        for kind, payload in recs:
            yield from dec.decode(kind, payload)
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


def send(to: str, settings_values: dict, camera: int | None = None, src: Path | None = None,
         fps: float | None = None, max_frames: int = 0, progress=print, source=None) -> dict:
    """Encode a camera, a file (paced in real time) or `source` (anything with `size`, `fps`, `frames()` and
    `live`, e.g. an OBS source read over obs-websocket) and send it to HOST:PORT over UDP."""
    from ..engine.codec.transport import KeypointSender, parse_address

    address = parse_address(to)
    settings = CodecSettings.live(**settings_values)
    if sum(x is not None for x in (camera, src, source)) != 1:
        raise InputError("give the picture to send: --camera N, --input VIDEO or --obs-source NAME")
    if source is None:
        source = VideoSource.open_camera(camera) if camera is not None else VideoSource.open_file(Path(src))
    live = camera is not None or getattr(source, "live", False)
    rate = fps or source.fps
    sender = KeypointSender(KeypointEncoder(source.size, rate, settings), address)
    start, n = time.monotonic(), 0
    try:
        for frame in resampled(source.frames(), source.fps, fps):
            if not live:  # a file: keep real time, as a camera would
                time.sleep(max(0.0, start + n / rate - time.monotonic()))
            sender.send(frame)
            n += 1
            if n % round(rate * 5) == 0:
                progress(f"sent {n} frames, {sender.bytes_sent * 8 / 1000 / (n / rate):.1f} kbps")
            if max_frames and n >= max_frames:
                break
    except KeyboardInterrupt:
        progress("stopped")
    finally:
        sender.close()
    return {"to": f"{address[0]}:{address[1]}", "frames": n, "fps": round(rate, 2),
            "keyframes": sender.encoder.keyframes,
            "kbps": round(sender.bytes_sent * 8 / 1000 / max(n / rate, 1e-9), 2),
            "chunks_resent": sender.resent_chunks, "keyframe_requests": sender.new_key_requests}


def receive(port: int, out: Path, max_frames: int = 0, idle_s: float = 5.0, wait_s: float = 60.0,
            encoding: Encoding | None = None, progress=print) -> dict:
    """Receive a keypoint stream on UDP `port` and write it to `out` until `max_frames`, or `idle_s` without
    a datagram once frames came (`wait_s` for the first), or Ctrl-C; the file appears only when complete."""
    from contextlib import ExitStack

    from ..engine.codec.transport import KeypointReceiver

    out = check_output(Path(out), "video")
    try:
        receiver = KeypointReceiver(port)
    except OSError as exc:
        raise InputError(f"--port {port}: cannot listen ({exc.strerror or exc})") from exc
    n, last = 0, time.monotonic()
    with ExitStack() as stack:
        write = None
        try:
            while not max_frames or n < max_frames:
                frames = receiver.receive(timeout=0.2)
                now = time.monotonic()
                if not frames:
                    if now - last > (idle_s if n else wait_s):
                        break
                    continue
                last = now
                if write is None:
                    h = receiver.decoder.header
                    write = stack.enter_context(video_writer(out, h.fps, (h.width, h.height), encoding or Encoding()))
                for f in frames[:max_frames - n if max_frames else None]:
                    write(f)
                    n += 1
                if n and n % 150 == 0:
                    progress(f"received {n} frames")
        except KeyboardInterrupt:
            progress("stopped")
        finally:
            receiver.close()
    if not n:
        raise InputError(f"nothing arrived on port {port} (is `deepzoom codec send --to HOST:{port}` running?)")
    s = receiver.stats
    return {"output": str(out), "frames": n, "held": s.held, "datagrams_lost": s.lost, "dropped": s.dropped,
            "keyframes": s.keyframes, "requests": s.requests}
