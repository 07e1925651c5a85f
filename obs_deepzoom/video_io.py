"""Video files through PyAV (the FFmpeg libraries inside the `av` wheel; no system ffmpeg): H.264 at a CRF or
lossless FFV1, carrying a soundtrack in sync, and the soundtrack of an input file.

Frames are BGR uint8 (OpenCV's layout). Colour: BT.601 matrix, limited range, tagged as such in the stream: the
convention of OpenCV's reader (FFmpeg's default YUV -> BGR), whose inverse the writer applies, so pixels an
effect left alone keep the input's YUV values (see bgr_to_yuv420)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from .audio_io import Audio
from .errors import DeepZoomError, InputError

log = logging.getLogger(__name__)

AUDIO_RATE = 48000  # every soundtrack is written at 48 kHz (AAC, Opus, FLAC and PCM all take it)
DEFAULT_CRF = 18
CRF_RANGE = (0, 51)
X264_PRESET = "medium"  # speed/size trade-off of x264; the CRF alone sets the quality
# how far a decoded audio frame's timestamp may sit from the end of the sound before it (containers round them,
# Matroska to 1 ms) and still continue it seamlessly; beyond it, a gap up to MAX_GAP_S is filled with silence, and
# a step back (a timestamp reset) or a longer jump is a discontinuity: the sound goes on in decoding order
TIMING_SLACK = 0.010
MAX_GAP_S = 10.0  # a longer jump in the sound's timestamps is a discontinuity, not a stretch of silence


@dataclass(frozen=True)
class Encoding:
    """How the video is compressed: H.264 at `crf` (0 best .. 51 worst; 18 is visually lossless), or, with
    `lossless`, FFV1 in Matroska (bit-exact BGR frames, FLAC sound)."""

    crf: int = DEFAULT_CRF
    lossless: bool = False

    def __post_init__(self) -> None:
        if not CRF_RANGE[0] <= self.crf <= CRF_RANGE[1]:
            raise InputError(f"--crf {self.crf}: expected {CRF_RANGE[0]}..{CRF_RANGE[1]} "
                             f"(lower is better and bigger; {DEFAULT_CRF} is visually lossless)")

    def describe(self, path: Path | None = None) -> str:
        """The video codec and quality as a summary shows them, for an output `path`."""
        if self.lossless:
            return "ffv1 (lossless)"
        if path is not None and Path(path).suffix.lower() == ".webm":
            return f"vp9 crf {_vp9_crf(self.crf)}"
        return f"h264 crf {self.crf}"


def _vp9_crf(crf: int) -> int:
    """VP9's quantiser runs 0..63: the same relative place as an x264 CRF."""
    return round(crf * 63 / 51)


@dataclass(frozen=True)
class _Format:
    video: str
    pix_fmt: str
    audio: str
    video_options: dict[str, str] = field(default_factory=dict)
    container_options: dict[str, str] = field(default_factory=dict)
    audio_bit_rate: int = 0


def output_format(path: Path, encoding: Encoding) -> _Format:
    """Codecs for an output path: H.264 + AAC in MP4/MOV/MKV, H.264 + PCM in AVI, VP9 + Opus in WebM;
    FFV1 + FLAC in MKV when lossless."""
    ext = Path(path).suffix.lower()
    if encoding.lossless:
        if ext != ".mkv":
            raise InputError(f"{path}: --lossless writes FFV1 in Matroska; name the output .mkv")
        return _Format("ffv1", "bgr0", "flac", {"level": "3", "g": "1", "slicecrc": "1"})
    x264 = {"crf": str(encoding.crf), "preset": X264_PRESET}
    if ext in (".mp4", ".m4v", ".mov"):
        return _Format("libx264", "yuv420p", "aac", x264, {"movflags": "+faststart"}, 160_000)
    if ext == ".mkv":
        return _Format("libx264", "yuv420p", "aac", x264, {}, 160_000)
    if ext == ".avi":
        return _Format("libx264", "yuv420p", "pcm_s16le", x264)  # AVI has no edit list for an encoder's delay
    if ext == ".webm":
        # realtime speed 8: 6x faster than `good` at 720p for the same PSNR, 1.35x the size
        vp9 = {"crf": str(_vp9_crf(encoding.crf)), "b": "0", "deadline": "realtime", "cpu-used": "8",
               "row-mt": "1"}
        return _Format("libvpx-vp9", "yuv420p", "libopus", vp9, {}, 128_000)
    raise InputError(f"{path}: cannot write video as '{ext or '(none)'}' (use .mp4, .mov, .m4v, .mkv, .avi or .webm)")


def _av():
    try:
        import av
    except ImportError as exc:  # a broken install: name the fix
        raise DeepZoomError("writing video needs the 'av' package (PyAV): pip install av") from exc
    return av


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:160]


def to_rate(audio: Audio, rate: int = AUDIO_RATE) -> Audio:
    """The same sound at `rate` (soxr, no delay)."""
    if audio.rate == rate:
        return audio
    import soxr

    out = soxr.resample(np.ascontiguousarray(audio.samples.T), audio.rate, rate).T
    return Audio(np.ascontiguousarray(out, np.float32), rate, audio.subtype)


# ---- reading a soundtrack -----------------------------------------------------------------------------------
def read_soundtrack(path: Path, seconds: float | None = None) -> Audio | None:
    """The first audio stream of a media file as float32 (channels, n) at 48 kHz, mono or stereo (more channels
    are mixed down to stereo), shifted so that sample 0 plays with the first video frame; at most `seconds`
    long. None when the file has no sound."""
    av = _av()
    path = Path(path)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise InputError(f"{path}: not a readable media file ({_first_line(exc)})") from exc
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        video = container.streams.video[0] if container.streams.video else None
        v0 = float(video.start_time * video.time_base) if video is not None and video.start_time is not None else 0.0
        channels = 1 if stream.layout.nb_channels == 1 else 2
        rate = stream.rate or AUDIO_RATE
        # format and layout only, at the stream's own rate (no filter delay); soxr changes the rate below
        resampler = av.AudioResampler(format="fltp", layout="mono" if channels == 1 else "stereo", rate=rate)
        placed: list[tuple[int, np.ndarray]] = []  # (first sample, samples) of each decoded frame
        start, have, nxt, bad, jumps, offset = None, 0, 0, 0, 0, 0  # have: length so far; nxt: last frame's end
        slack = max(round(TIMING_SLACK * rate), 1)
        max_gap = round(MAX_GAP_S * rate)
        limit = None if seconds is None else int(np.ceil((seconds + 0.5) * rate))
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                bad += 1  # a damaged packet: its samples are lost and left as silence (the timestamps say where)
                continue
            for frame in frames:
                if start is None:
                    start = frame.time if frame.time is not None else v0
                x = [out.to_ndarray() for out in resampler.resample(frame)]  # same rate: no delay, no buffering
                if not x:
                    continue
                x = np.concatenate(x, axis=1)
                # each frame goes where its timestamp puts it; timestamps within the slack of the sound so far
                # (a container's rounding, e.g. Matroska's 1 ms) continue it without a seam
                at = nxt if frame.time is None else round((frame.time - start) * rate) + offset
                if abs(at - nxt) <= slack:
                    at = nxt
                elif at < nxt - slack or at > nxt + max_gap:
                    # a timestamp reset or a jump far ahead (joined streams, corrupt pts): a discontinuity, not a
                    # place in time; the sound goes on where it was (nothing overwritten or allocated) and later
                    # timestamps count from here
                    offset, at, jumps = offset + nxt - at, nxt, jumps + 1
                if limit is not None:
                    x = x[:, :max(limit - at, 0)]
                nxt = at + x.shape[1]
                placed.append((at, x))
                have = max(have, nxt)
            if limit is not None and have >= limit:
                break
    if jumps:
        log.warning("%s: the sound's timestamps jump %d time(s); kept in order from there", path, jumps)
    if not placed:
        if bad:
            raise InputError(f"{path}: the sound track could not be decoded ({bad} damaged packets); "
                             "--no-audio leaves it out")
        return None
    samples = np.zeros((channels, have), np.float32)  # gaps (missing or damaged packets) stay silent
    for at, x in placed:  # in decoding order: where frames overlap (within the slack), the later one wins
        samples[:, at:at + x.shape[1]] = x
    shift = round(((start or 0.0) - v0) * rate)  # > 0: the sound starts after the first frame
    if shift > 0:
        samples = np.concatenate([np.zeros((channels, shift), np.float32), samples], axis=1)
    elif shift < 0:
        samples = samples[:, -shift:]
    audio = to_rate(Audio(samples, rate))
    if seconds is not None:
        audio = Audio(audio.samples[:, :round(seconds * AUDIO_RATE)], AUDIO_RATE)
    return audio


# ---- writing ------------------------------------------------------------------------------------------------
def bgr_to_yuv420(frame: np.ndarray, opencv_video: bool = False) -> np.ndarray:
    """BGR (even sides) -> planar YUV 4:2:0, BT.601 limited range, as one (h * 3 / 2, w) uint8 array: the exact
    BT.601 formula (OpenCV's, chroma averaged over 2x2).

    `opencv_video`: the frames were decoded from a video by cv2.VideoCapture, whose conversion (FFmpeg's default
    YUV -> BGR) renders luma about 1.1 levels darker than the exact formula; +1 on Y then undoes it, so a frame
    read with cv2 and written back keeps its YUV values (lossless round trip of the sample clip: 55 dB instead of
    45 dB). Frames from anywhere else (images, a rendered avatar, a camera) take the exact formula alone: with the
    +1 they would come out one level brighter."""
    import cv2

    h = frame.shape[0]
    yuv = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
    if opencv_video:
        cv2.add(yuv[:h], 1, dst=yuv[:h])
    return yuv


def tmp_for(path: Path) -> Path:
    """The name a file is written under until it is complete."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


class _VideoFile:
    """One open output: video frames encoded as they come, the soundtrack muxed alongside up to each frame's end."""

    def __init__(self, path: Path, name: Path, fps: float, size: tuple[int, int], encoding: Encoding,
                 audio: Audio | None, opencv_video: bool = False):
        av = self.av = _av()
        self.opencv_video = opencv_video
        self.name = name  # the file's final name, for messages
        self.fmt = output_format(name, encoding)
        self.size = size
        self.rate = Fraction(fps).limit_denominator(1001)
        self.frames = 0
        self.audio = to_rate(audio) if audio is not None and audio.samples.shape[1] else None
        self.audio_done = 0
        try:
            self.container = av.open(str(path), "w", container_options=self.fmt.container_options)
        except (av.FFmpegError, OSError) as exc:
            raise InputError(f"{name}: cannot write the video ({_first_line(exc)})") from exc
        try:
            v = self.video = self.container.add_stream(self.fmt.video, rate=self.rate, options=self.fmt.video_options)
            v.width, v.height = size[0] + size[0] % 2, size[1] + size[1] % 2  # 4:2:0 needs even sides
            v.pix_fmt = self.fmt.pix_fmt
            if self.fmt.pix_fmt == "yuv420p":
                cc = v.codec_context
                cc.colorspace, cc.color_range = 6, 1  # SMPTE 170M (BT.601) matrix, limited range
                cc.color_primaries, cc.color_trc = 6, 6
            self.sound = None
            if self.audio is not None:
                layout = "mono" if self.audio.channels == 1 else "stereo"
                self.sound = self.container.add_stream(self.fmt.audio, rate=AUDIO_RATE, layout=layout)
                if self.fmt.audio_bit_rate:
                    self.sound.bit_rate = self.fmt.audio_bit_rate
        except Exception:
            self.container.close()
            raise

    def write(self, frame: np.ndarray) -> None:
        try:
            self._write(frame)
        except (self.av.FFmpegError, OSError) as exc:  # e.g. a full disk
            raise DeepZoomError(f"{self.name}: could not write the video ({_first_line(exc)})") from exc

    def _write(self, frame: np.ndarray) -> None:
        import cv2

        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        w, h = self.video.width, self.video.height
        if (frame.shape[1], frame.shape[0]) != (w, h):
            frame = np.pad(frame, ((0, h - frame.shape[0]), (0, w - frame.shape[1]), (0, 0)), mode="edge")
        frame = np.ascontiguousarray(frame)
        if self.fmt.pix_fmt == "yuv420p":
            vf = self.av.VideoFrame.from_ndarray(bgr_to_yuv420(frame, self.opencv_video), format="yuv420p")
        else:
            vf = self.av.VideoFrame.from_ndarray(frame, format="bgr24").reformat(format=self.fmt.pix_fmt)
        vf.pts = self.frames
        self.container.mux(self.video.encode(vf))
        self.frames += 1
        self._sound_until(self.frames)

    def _sound_until(self, frames: int) -> None:
        """Mux the soundtrack up to the end of video frame `frames` - 1 (silence past its end)."""
        if self.sound is None:
            return
        end = round(frames / self.rate * AUDIO_RATE)
        if end <= self.audio_done:
            return
        x = self.audio.samples[:, self.audio_done:end]
        if x.shape[1] < end - self.audio_done:
            x = np.pad(x, ((0, 0), (0, end - self.audio_done - x.shape[1])))
        af = self.av.AudioFrame.from_ndarray(np.ascontiguousarray(x, np.float32), format="fltp",
                                             layout=self.sound.layout.name)
        af.sample_rate, af.pts, af.time_base = AUDIO_RATE, self.audio_done, Fraction(1, AUDIO_RATE)
        self.container.mux(self.sound.encode(af))
        self.audio_done = end

    def finish(self) -> None:
        self.container.mux(self.video.encode(None))
        if self.sound is not None:
            self.container.mux(self.sound.encode(None))
        self.container.close()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.container.close()


@contextlib.contextmanager
def video_writer(path: Path, fps: float, size: tuple[int, int], encoding: Encoding | None = None,
                 audio: Audio | None = None, opencv_video: bool = False) -> Iterator[Callable[[np.ndarray], None]]:
    """Yields write(frame) for BGR frames of `size` (others are resized to it). The soundtrack `audio`, sample 0
    at the first frame, is cut or padded with silence to the video's length. `opencv_video`: the frames come
    from a video file read with cv2.VideoCapture (see bgr_to_yuv420). The file appears only if the block
    completes."""
    path = Path(path)
    encoding = encoding or Encoding()
    output_format(path, encoding)  # an unusable name fails before anything is created
    tmp = tmp_for(path)
    out = None
    try:
        out = _VideoFile(tmp, path, fps, size, encoding, audio, opencv_video)
        yield out.write
        try:
            out.finish()
        except (out.av.FFmpegError, OSError) as exc:
            raise DeepZoomError(f"{path}: could not finish the video ({_first_line(exc)})") from exc
        os.replace(tmp, path)
    finally:
        if out is not None:
            out.close()
        tmp.unlink(missing_ok=True)


@dataclass
class Probe:
    """What a written video holds (for tests and summaries)."""

    video_codec: str
    pix_fmt: str
    frames: int
    video_seconds: float
    audio_codec: str | None = None
    audio_seconds: float = 0.0


def probe(path: Path) -> Probe:
    """Codecs, frame count and durations of a video file, decoded fully (exact, not from the header)."""
    av = _av()
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        a = c.streams.audio[0] if c.streams.audio else None
        frames, v_end, a_start, a_end = 0, 0.0, None, 0.0
        for frame in c.decode(*[s for s in (v, a) if s is not None]):
            if isinstance(frame, av.VideoFrame):
                frames += 1
                v_end = max(v_end, float(frame.time or 0.0))
            else:
                t = float(frame.time or 0.0)
                a_start = t if a_start is None else a_start
                a_end = max(a_end, t + frame.samples / frame.sample_rate)
        fps = float(v.average_rate or v.guessed_rate or 30)
        return Probe(v.codec_context.name, v.codec_context.pix_fmt or "", frames, v_end + 1 / fps,
                     a.codec_context.name if a is not None else None, a_end - (a_start or 0.0))
