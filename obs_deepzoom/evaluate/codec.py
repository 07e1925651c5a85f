"""`deepzoom eval codec`: the keypoint codec against x264 and x265 at equal face quality.

Clip: the sample clip (a man talking and smiling, 640x360, 72 frames at 30 fps); the codec's defaults (keyframe
quality, refresh threshold, the expression basis) were chosen on the calibration clip, never on this one. Our
codec at its default settings is decoded, and so is x264 (libx264, preset medium, CRF sweep) and x265 (libx265)
of the same frames. Quality is judged on each decoded frame against the original by models the codec does not
use: the face region is the box of MediaPipe's reference mesh (`metrics.ReferenceJudge`, the avatar evaluation's
judge) on the original, grown by a quarter; there, PSNR and SSIM of the luma; the landmark error is the judge's 468
points on the decoded frame against the judge's on the original (% of inter-ocular distance); the identity
distance is dlib's descriptor of the decoded face against the original's (every 3rd frame).

For each of face PSNR, landmark error and identity distance, the x264 bitrate reaching our codec's figure is
interpolated on the sweep (log bitrate); its ratio to our bitrate is that metric's ratio and `bitrate_ratio` is
the least of the three (conservative). Where x264's lowest bitrate already does better than ours, that lowest
bitrate is used and the ratio is an upper bound (`*_bound: "at most"`). Two accountings: `steady` leaves out each
codec's first keyframe (our first JPEG, x264's first IDR packet), as on a call of more than a minute; `all_bits`
counts everything, on a 10 s clip made of the sample clip played forwards and backwards."""

from __future__ import annotations

import math
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..engine.codec.container import KEYFRAME, Header, frame_count, group_frames, record_size, records
from ..engine.codec.decoder import KeypointDecoder
from ..engine.codec.encoder import KeypointEncoder
from ..engine.codec.transport import DATAGRAM_HEADER, KeypointReceiver, KeypointSender
from ..media import VideoSource
from ..samples import DEMO_CLIP, sample
from ..settings import CodecSettings
from .metrics import ReferenceJudge, judge_iris, psnr, ssim

CRFS = (24, 30, 34, 38, 42, 46, 51)
IDENTITY_STEP = 3
CROP_SCALE = 1.25
LONG_SECONDS = 10.0
LOSSES = (0.0, 0.05, 0.2)  # datagram loss of the live runs (seeded)
RATIO_METRICS = (("face_psnr_db", True), ("landmark_nme_pct", False), ("identity_distance", False))


def _frames() -> tuple[list[np.ndarray], float]:
    src = VideoSource.open_file(sample(DEMO_CLIP))
    return list(src.frames()), src.fps


def calibration_clip() -> tuple[list[np.ndarray], float]:
    """The clip the codec's and the data saver's defaults were chosen on (never the evaluation's)."""
    from ..compress import calibration

    src = VideoSource.open_file(calibration._file(next(pf for pf in calibration.VIDEO_FILES
                                                       if pf.file.endswith(".mp4"))))
    return list(src.frames()), src.fps


def ping_pong(frames: list[np.ndarray], n: int) -> list[np.ndarray]:
    """`n` frames of the clip played forwards, backwards, forwards ..."""
    cycle = frames + frames[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(n)]


def ours(frames: list[np.ndarray], fps: float, settings: CodecSettings | None = None, live: bool = False) -> dict:
    """The clip through the codec as `codec encode` writes a file (the keyframe planned, frames grouped), or
    (`live`) as `codec send` sends it: the first frame with a face as the keyframe, a record per frame, each in a
    datagram with its header (counted; not the keyframe's chunks, nor IP and UDP's own 28 bytes)."""
    size = (frames[0].shape[1], frames[0].shape[0])
    if live:
        enc = KeypointEncoder(size, fps, settings or CodecSettings.live())
    else:
        enc = KeypointEncoder(size, fps, settings, group_frames=group_frames(fps))
        enc.plan_keyframe(iter(frames))
    data = enc.header.pack() + b"".join(r for f in frames for r in enc.encode(f)) + b"".join(enc.flush())
    recs = list(records(data, Header.size(), "stream"))
    if live:
        data += bytes(DATAGRAM_HEADER * sum(k != KEYFRAME for k, _ in recs))
    first_key = next(record_size(len(p)) for k, p in recs if k == KEYFRAME)
    dec = KeypointDecoder(Header.unpack(data, "stream"))
    out = [f for k, p in recs for f in dec.decode(k, p)]
    return {"frames": out, "bits": len(data) * 8, "bits_steady": (len(data) - first_key) * 8,
            "keyframes": sum(k == KEYFRAME for k, _ in recs), "motion_frames": sum(frame_count(k, p) for k, p in recs),
            "plan": enc.plan}


def hevc_available() -> bool:
    import av

    try:
        av.codec.Codec("libx265", "w")
        return True
    except Exception:  # noqa: BLE001 - PyAV raises several types for an unknown codec
        return False


def encoder_context(codec: str, size: tuple[int, int], fps: float, crf: int, preset: str = "medium", **options):
    """A PyAV encoder of libx264/libx265 for BGR frames of `size` converted to yuv420p."""
    import av

    enc = av.CodecContext.create(codec, "w")
    enc.width, enc.height, enc.pix_fmt = size[0], size[1], "yuv420p"
    enc.time_base, enc.framerate = Fraction(1, round(fps)), Fraction(round(fps))
    quiet = {"x265-params": "log-level=error"} if "265" in codec else {}
    enc.options = {"crf": str(crf), "preset": preset, **quiet, **options}
    return enc


def x26x(frames: list[np.ndarray], fps: float, crf: int, codec: str = "libx264") -> dict:
    """`frames` through libx264/libx265 at `crf` (preset medium), decoded back."""
    import av

    h, w = frames[0].shape[:2]
    enc = encoder_context(codec, (w, h), fps, crf)
    packets = []
    for i, f in enumerate(frames):
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="bgr24").reformat(format="yuv420p")
        vf.pts = i
        packets += enc.encode(vf)
    packets += enc.encode(None)
    sizes = [p.size for p in packets]
    dec = av.CodecContext.create("hevc" if "265" in codec else "h264", "r")
    out = []
    for p in packets:
        out += [fr.to_ndarray(format="bgr24") for fr in dec.decode(p)]
    out += [fr.to_ndarray(format="bgr24") for fr in dec.decode(None)]
    return {"frames": out, "bits": 8 * sum(sizes), "bits_steady": 8 * sum(sizes[1:])}


def _box(lm: np.ndarray, shape) -> tuple[slice, slice]:
    lo, hi = lm[:468, :2].min(0), lm[:468, :2].max(0)
    c, half = (lo + hi) / 2, (hi - lo).max() * CROP_SCALE / 2
    x0, y0 = np.maximum(np.floor(c - half).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(c + half).astype(int), [shape[1], shape[0]])
    return slice(int(y0), int(y1)), slice(int(x0), int(x1))


class Judges:
    """The reference mesh and dlib's descriptor, with the originals' figures computed once."""

    def __init__(self, originals: list[np.ndarray]):
        from ..reference import DlibFaces

        self.mesh, self.dlib = ReferenceJudge(), DlibFaces()
        self.originals = originals
        self.marks = [self.mesh.landmarks(f) for f in originals]
        self.ids = {i: self._descriptor(originals[i]) for i in range(0, len(originals), IDENTITY_STEP)}

    def _descriptor(self, frame: np.ndarray):
        found = self.dlib.descriptors(frame)
        return found[0][1] if found else None

    def quality(self, decoded: list[np.ndarray]) -> dict:
        p, s, nme, ident, whole, lost = [], [], [], [], [], 0
        for i, (orig, dec) in enumerate(zip(self.originals, decoded)):
            whole.append(psnr(orig, dec))
            ref = self.marks[i]
            if ref is None:
                continue
            box = _box(ref, orig.shape)
            p.append(psnr(orig[box], dec[box]))
            s.append(ssim(orig[box], dec[box]))
            got = self.mesh.landmarks(dec)
            if got is None:
                lost += 1
            else:
                iod = float(np.linalg.norm(judge_iris(ref, 0)[0] - judge_iris(ref, 1)[0]))
                nme.append(100 * float(np.linalg.norm(got[:468, :2] - ref[:468, :2], axis=1).mean()) / iod)
            if self.ids.get(i) is not None:
                d = self._descriptor(dec)
                ident.append(1.0 if d is None else float(np.linalg.norm(d - self.ids[i])))
        return {"face_psnr_db": round(float(np.mean(p)), 2), "face_ssim": round(float(np.mean(s)), 4),
                "landmark_nme_pct": round(float(np.mean(nme)), 3) if nme else float("nan"),
                "identity_distance": round(float(np.median(ident)), 3) if ident else float("nan"),
                "frame_psnr_db": round(float(np.mean(whole)), 2), "judge_lost_frames": lost}


def equal_quality_kbps(curve: list[dict], metric: str, higher_better: bool, target: float) -> tuple[float, str]:
    """The bitrate at which the sweep `curve` (dicts with kbps and the metric) first reaches `target`,
    interpolated in log bitrate; with 'at most' when its lowest bitrate already does better, 'at least' when
    even its highest does not reach it."""
    pts = sorted((c["kbps"], c[metric]) for c in curve)
    good = [(q >= target) if higher_better else (q <= target) for _, q in pts]
    if good[0]:
        return pts[0][0], "at most"
    for (k0, q0), (k1, q1), g in zip(pts, pts[1:], good[1:]):
        if g:
            t = 0.0 if q1 == q0 else (target - q0) / (q1 - q0)
            return float(math.exp(math.log(k0) + t * (math.log(k1) - math.log(k0)))), "interpolated"
    return pts[-1][0], "at least"


def _ratios(our_kbps: float, our_q: dict, curve: list[dict]) -> dict:
    out, least = {}, None
    for metric, higher in RATIO_METRICS:
        kbps, how = equal_quality_kbps(curve, metric, higher, our_q[metric])
        ratio = kbps / our_kbps
        out[metric] = {"x_kbps": round(kbps, 2), "ratio": round(ratio, 3), "bound": how}
        least = ratio if least is None else min(least, ratio)
    return {"per_metric": out, "ratio": round(least, 3)}


def _sweep(judges: Judges, frames, fps, codec: str, key: str, progress) -> list[dict]:
    seconds, curve = len(frames) / fps, []
    for crf in CRFS:
        r = x26x(frames, fps, crf, codec)
        q = judges.quality(r["frames"])
        curve.append({"crf": crf, "kbps": round(r[key] / 1000 / seconds, 2), **q})
        progress(f"{codec} crf {crf}: {curve[-1]['kbps']} kbps, face {q['face_psnr_db']} dB, "
                 f"NME {q['landmark_nme_pct']} %, identity {q['identity_distance']}")
    return curve


def _accounting(frames, fps, key: str, progress, settings) -> dict:
    seconds = len(frames) / fps
    judges = Judges(frames)
    mine = ours(frames, fps, settings)
    q = judges.quality(mine["frames"])
    kbps = mine[key] / 1000 / seconds
    progress(f"ours: {kbps:.2f} kbps ({mine['keyframes']} keyframes), face {q['face_psnr_db']} dB, "
             f"NME {q['landmark_nme_pct']} %, identity {q['identity_distance']}")
    result = {"seconds": round(seconds, 2), "frames": len(frames), "kbps": round(kbps, 3),
              "keyframes": mine["keyframes"], **q}
    for codec, name in (("libx264", "x264"), ("libx265", "x265")):
        if codec == "libx265" and not hevc_available():
            continue
        curve = _sweep(judges, frames, fps, codec, key, progress)
        r = _ratios(kbps, q, curve)
        result[name] = {"curve": curve, **r}
    judges.mesh.close()
    return result


def _live_form(frames, fps, curve: list[dict], progress) -> dict:
    """The steady state of a live stream (no lookahead, a datagram per frame) against the same x264 sweep."""
    judges = Judges(frames)
    mine = ours(frames, fps, live=True)
    q = judges.quality(mine["frames"])
    judges.mesh.close()
    kbps = mine["bits_steady"] / 1000 / (len(frames) / fps)
    progress(f"live form: {kbps:.2f} kbps, face {q['face_psnr_db']} dB, NME {q['landmark_nme_pct']} %, "
             f"identity {q['identity_distance']}")
    return {"kbps": round(kbps, 3), **q, "x264": _ratios(kbps, q, curve)}


def run(progress=print, out_dir: Path | None = None, settings: CodecSettings | None = None,
        long_seconds: float = LONG_SECONDS) -> dict:
    frames, fps = _frames()
    progress(f"steady state: the sample clip ({len(frames)} frames), first keyframes left out")
    steady = _accounting(frames, fps, "bits_steady", progress, settings)
    progress(f"every bit: the clip played forwards and backwards for {long_seconds:g} s")
    every = _accounting(ping_pong(frames, round(long_seconds * fps)), fps, "bits", progress, settings)
    x264 = steady["x264"]
    live_form = _live_form(frames, fps, x264["curve"], progress)
    live_form["loss"] = [{k: v for k, v in live(frames, fps, loss).items() if k != "frames"}  # over lossy UDP
                         for loss in LOSSES]
    progress(f"live over UDP: {live_form['loss']}")
    if out_dir is not None:
        plot(steady, every, out_dir / "codec_rate_quality.png", live_form)
    return {"name": "codec", "judge": "mediapipe-reference mesh + dlib descriptor", "clip": DEMO_CLIP,
            "kbps": steady["kbps"], "x264_kbps_at_equal_quality": min(m["x_kbps"] for m in
                                                                     x264["per_metric"].values()),
            "bitrate_ratio": x264["ratio"], "bitrate_ratio_all_bits_10s": every["x264"]["ratio"],
            "bitrate_ratio_live": live_form["x264"]["ratio"], "steady": steady, "all_bits": every, "live": live_form}


def plot(steady: dict, every: dict, path: Path, live: dict | None = None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for ax, (metric, _) in zip(axes, RATIO_METRICS):
        for acc, style in ((steady, "-"), (every, ":")):
            label = "steady" if acc is steady else "all bits, 10 s"
            for name in ("x264", "x265"):
                if name in acc:
                    c = acc[name]["curve"]
                    ax.plot([p["kbps"] for p in c], [p[metric] for p in c], style, marker=".",
                            label=f"{name} ({label})")
            ax.plot([acc["kbps"]], [acc[metric]], "*", markersize=12, label=f"keypoint codec ({label})")
        if live is not None:
            ax.plot([live["kbps"]], [live[metric]], "P", markersize=10, label="keypoint codec (live stream, steady)")
        ax.set_xscale("log")
        ax.set_xlabel("kbps")
        ax.set_title(metric)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


class LossySender(KeypointSender):
    """A sender whose network loses each datagram with probability `loss` (seeded: repeatable)."""

    def __init__(self, *args, loss: float = 0.0, seed: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss, self.rng, self.dropped = loss, np.random.default_rng(seed), 0

    def _datagram(self, kind: bytes, body: bytes) -> None:
        if self.rng.random() < self.loss:
            self.seq = (self.seq + 1) & 0xFFFF
            self.dropped += 1
            return
        super()._datagram(kind, body)


def live(frames: list[np.ndarray], fps: float, loss: float, settings: CodecSettings | None = None,
         seed: int = 0) -> dict:
    """The clip sent over UDP on localhost through a network losing `loss` of the datagrams: what arrives, and
    the time from handing a frame to the sender to having its picture at the receiver."""
    settings = settings or CodecSettings.live()
    receiver = KeypointReceiver(0, "127.0.0.1")
    size = (frames[0].shape[1], frames[0].shape[0])
    sender = LossySender(KeypointEncoder(size, fps, settings), ("127.0.0.1", receiver.port), loss=loss, seed=seed)
    shown, ms, start = [], [], time.perf_counter()
    for i, f in enumerate(frames):
        late = time.perf_counter() - (start + i / fps)  # a camera's pace: frames come 1/fps apart, never in a
        if late > 1 / fps:  # burst after a slow step (the first frame builds the tracker): the schedule moves on
            start += late
        time.sleep(max(0.0, start + i / fps - time.perf_counter()))
        t0 = time.perf_counter()
        sender.send(f)
        got = receiver.receive(timeout=0.05)
        if got:
            ms.append((time.perf_counter() - t0) * 1000)
        shown += got
    shown += receiver.receive(timeout=0.2)
    s = receiver.stats
    receiver.close()
    sender.close()
    return {"loss_pct": round(100 * loss, 1), "datagrams_lost": sender.dropped, "frames_sent": len(frames),
            "frames_shown": len(shown), "frames_held": s.held, "keyframes_received": s.keyframes,
            "requests": s.requests, "keyframes_sent": sender.encoder.keyframes,
            "chunks_resent": sender.resent_chunks,
            "latency_ms_median": round(float(np.median(ms)), 2) if ms else float("nan"),
            "kbps_on_the_wire": round(sender.bytes_sent * 8 / 1000 / (len(frames) / fps), 2), "frames": shown}
