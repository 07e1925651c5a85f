"""`deepzoom eval avatar`: the photo avatar against real frames, judged by a tracker the avatar does not use.

The judge is MediaPipe's own FaceMesh with refined irises (the test-only reference, `metrics.ReferenceJudge`):
a different network from the tracker whose landmarks drive the avatar's warp. Every landmark-based figure
below (crop boxes, NME, pose and expression series, re-tracked jitter) comes from the judge, on the real
frames and on the avatar's output alike; our tracker only drives the avatar.

Self-reenactment: the portrait is frame 0 of the sample clip and the clip drives it, so every output frame has
a ground truth (the real frame). On the driver's face box (landmark box x 1.25): PSNR and SSIM of the luma,
and the landmark NME (the judge's 468 mesh points on the output against the judge's on the real frame, % of the
real frame's inter-ocular distance, iris centre to iris centre); the same numbers for the trivial baseline (the
portrait repeated).

Cross-identity: grace_hopper.jpg driven by the clip. The judge tracks the driver and the output; pose (yaw,
pitch, roll: a similarity fit of the judge's rigid points to the first frame's, unsmoothed) and expression
(mouth opening and width, eye aperture from the judge's lid points) series are correlated (Pearson).
Jitter: RMS frame-to-frame motion of the avatar's face-mesh control points (output pixels: what a viewer sees
move) with a truly still driver (one clip frame repeated with fresh sensor noise, sigma 2 grey levels, 60
frames); beside it the same over the clip's stillest 10 frames (where the driver itself still moves a little)
and the judge's jitter on the output there (it includes the judge's own noise)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import cv2
import numpy as np

from ..engine.chain import Chain
from ..media import VideoSource, video_writer
from ..samples import DEMO_CLIP, sample
from ..settings import ChainSettings, apply_overrides
from .metrics import RIGID_POINTS, ReferenceJudge, euler_deg, judge_eye_aperture, judge_iris, psnr, similarity, ssim

CROSS_SOURCE = "grace_hopper.jpg"
IDENTITY_STEP = 3  # every 3rd output frame gets a dlib descriptor
STILL_WINDOW = 10
CROP_SCALE = 1.25


def _frames() -> list[np.ndarray]:
    return list(VideoSource.open_file(sample(DEMO_CLIP)).frames())


def _judge_all(judge: ReferenceJudge, frames: list[np.ndarray]) -> list[np.ndarray | None]:
    """The judge's 478 points on each frame (None where it finds no face)."""
    return [judge.landmarks(f) for f in frames]


def _crop_box(lm: np.ndarray, shape) -> tuple[int, int, int, int]:
    lo, hi = lm[:468, :2].min(0), lm[:468, :2].max(0)
    c, half = (lo + hi) / 2, (hi - lo).max() * CROP_SCALE / 2
    h, w = shape[:2]
    x0, y0 = np.maximum(np.floor(c - half).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(c + half).astype(int), [w, h])
    return int(x0), int(y0), int(x1), int(y1)


def _inter_ocular(lm: np.ndarray) -> float:
    return float(np.linalg.norm(judge_iris(lm, 0)[0] - judge_iris(lm, 1)[0]))


def _nme(a: np.ndarray | None, ref: np.ndarray) -> float:
    if a is None:
        return float("nan")
    err = np.linalg.norm(a[:468, :2] - ref[:468, :2], axis=1).mean()
    return float(100 * err / _inter_ocular(ref))


def _animate(source: Path, frames: list[np.ndarray]):
    """Avatar output for each driver frame, and the avatar's control-point targets per frame."""
    chain = Chain(["avatar"], apply_overrides(ChainSettings(), [f"avatar.source={source}"]))
    avatar = chain.effects[0]
    outs, targets = [], []
    for i, f in enumerate(frames):
        out, _ = chain.process(f, i / 30)
        outs.append(out)
        targets.append(avatar.renderer.targets[:468].copy())
    return outs, np.array(targets)


def _signals(marks: list[np.ndarray | None]) -> dict[str, np.ndarray]:
    """Pose and expression series from the judge's points, unsmoothed. Pose: the rotation of a similarity
    fit of the rigid points to those of the first judged frame (degrees)."""
    keys = ("yaw", "pitch", "roll", "mouth_open", "mouth_width", "eye_aperture")
    out = {k: [] for k in keys}
    ref = next((lm for lm in marks if lm is not None), None)
    rigid = list(RIGID_POINTS)
    for lm in marks:
        if lm is None:
            for k in keys:
                out[k].append(np.nan)
            continue
        pitch, yaw, roll = euler_deg(similarity(ref[rigid], lm[rigid])[1])
        iod = _inter_ocular(lm)
        out["yaw"].append(yaw)
        out["pitch"].append(pitch)
        out["roll"].append(roll)
        out["mouth_open"].append(np.linalg.norm(lm[13, :2] - lm[14, :2]) / iod)
        out["mouth_width"].append(np.linalg.norm(lm[61, :2] - lm[291, :2]) / iod)
        out["eye_aperture"].append(judge_eye_aperture(lm))
    return {k: np.array(v, np.float64) for k, v in out.items()}


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3 or a[ok].std() < 1e-9 or b[ok].std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a[ok], b[ok])[0, 1])


def _still_window(marks: list[np.ndarray | None]) -> int:
    """Start of the STILL_WINDOW frames where the driver's landmarks (the judge's) move least."""
    lm = np.array([m[:468, :2] if m is not None else np.full((468, 2), np.nan) for m in marks])
    motion = np.nanmean(np.linalg.norm(np.diff(lm, axis=0), axis=2), axis=1)
    scores = [np.nanmean(motion[i:i + STILL_WINDOW - 1]) for i in range(len(motion) - STILL_WINDOW + 2)]
    return int(np.nanargmin(scores))


def _still_driver_jitter(source: Path, frame: np.ndarray, n: int = 60, settle: int = 15) -> float:
    settle = min(settle, n // 2)
    rng = np.random.default_rng(0)
    frames = [np.clip(frame + rng.normal(0, 2, frame.shape), 0, 255).astype(np.uint8) for _ in range(n)]
    _, targets = _animate(source, frames)
    return _rms_step(targets[settle:])


def _rms_step(points: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum(np.diff(points, axis=0) ** 2, axis=2))))


def _identity(source: Path, driver: list[np.ndarray], self_out: list[np.ndarray], cross: list[np.ndarray],
              step: int = IDENTITY_STEP) -> dict:
    """Identity by a second model (dlib's ResNet descriptor, which no part of the avatar uses): the distance of
    each output frame's face to its source picture's (self-reenactment: clip frame 0; cross: the portrait), and,
    for scale, the portrait's distance to the driver (another person). dlib calls below 0.6 the same person."""
    from ..reference import DLIB_SAME_BELOW, DlibFaces

    faces = DlibFaces()
    portrait = faces.descriptor(cv2.imread(str(source)))
    first = faces.descriptor(driver[0])

    def dist(ref, frames):
        found = [faces.descriptor(f) for f in frames[1::step]]
        d = np.array([np.linalg.norm(x - ref) for x in found if x is not None and ref is not None])
        return d, len(found)

    d_self, n_self = dist(first, self_out)
    d_cross, n_cross = dist(portrait, cross)
    d_other, _ = dist(portrait, driver)
    med = lambda d: round(float(np.median(d)), 3) if len(d) else float("nan")  # noqa: E731
    return {"identity_judge": faces.name, "identity_same_below": DLIB_SAME_BELOW,
            "identity_distance_self_median": med(d_self), "identity_distance_cross_median": med(d_cross),
            "identity_distance_cross_max": round(float(d_cross.max()), 3) if len(d_cross) else float("nan"),
            "identity_distance_portrait_vs_driver_median": med(d_other),
            "identity_same_pct_cross": round(100 * float(np.mean(d_cross < DLIB_SAME_BELOW)), 1) if len(d_cross)
            else 0.0,
            "identity_found_pct": round(100 * (len(d_self) + len(d_cross)) / max(1, n_self + n_cross), 1)}


def _save(path: Path, left: list[np.ndarray], right: list[np.ndarray]) -> None:
    h = left[0].shape[0]
    pairs = [np.hstack([a, cv2.resize(b, (b.shape[1] * h // b.shape[0], h))]) for a, b in zip(left, right)]
    with video_writer(path, 30.0, (pairs[0].shape[1], pairs[0].shape[0])) as write:
        for p in pairs:
            write(p)
    strip = np.vstack([pairs[0], pairs[len(pairs) // 3], pairs[2 * len(pairs) // 3]])
    cv2.imwrite(str(path.with_suffix(".png")), strip)


def run(out_dir: Path | None = None, progress=print, limit: int | None = None, still_frames: int = 60) -> dict:
    """The whole evaluation; `limit` keeps the first frames of the clip and `still_frames` sets the length of
    the still-driver run (the quality guard of the test suite runs it smaller)."""
    judge = ReferenceJudge()  # first: it imports MediaPipe's protobuf before anything else can
    frames = _frames()[:limit]
    progress(f"the judge ({judge.name}) on the driver ({len(frames)} frames)")
    driver = _judge_all(judge, frames)

    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "frame0.png"
        cv2.imwrite(str(first), frames[0])
        progress("self-reenactment: frame 0 driven by the clip")
        outs, _ = _animate(first, frames)
    rendered = _judge_all(judge, outs)
    p_ours, p_base, s_ours, s_base, n_ours, n_base = [], [], [], [], [], []
    for i in range(1, len(frames)):
        ref = driver[i]
        if ref is None or driver[0] is None:
            continue
        x0, y0, x1, y1 = _crop_box(ref, frames[i].shape)
        real = frames[i][y0:y1, x0:x1]
        ours, base = outs[i][y0:y1, x0:x1], frames[0][y0:y1, x0:x1]
        p_ours.append(psnr(ours, real))
        p_base.append(psnr(base, real))
        s_ours.append(ssim(ours, real))
        s_base.append(ssim(base, real))
        n_ours.append(_nme(rendered[i], ref))
        n_base.append(_nme(driver[0], ref))

    progress(f"cross-identity: {CROSS_SOURCE} driven by the clip")
    cross, targets = _animate(sample(CROSS_SOURCE), frames)
    cross_marks = _judge_all(judge, cross)
    sd, so = _signals(driver), _signals(cross_marks)
    corr = {k: _corr(sd[k], so[k]) for k in sd}
    start = _still_window(driver)
    window = slice(start, start + STILL_WINDOW)
    judged = np.array([m[:468, :2] for m in cross_marks[window] if m is not None])
    driver_still = np.array([m[:468, :2] for m in driver[window] if m is not None])
    jitter_still = _still_driver_jitter(sample(CROSS_SOURCE), frames[start], n=still_frames)
    progress("identity: dlib's face descriptor on the outputs")
    identity = _identity(sample(CROSS_SOURCE), frames, outs, cross)
    if out_dir is not None:
        _save(out_dir / "avatar_self.mp4", frames, outs)
        _save(out_dir / "avatar_cross.mp4", frames, cross)
        progress(f"saved side-by-side videos (driver | avatar) and PNG strips in {out_dir}")

    pose = [corr[k] for k in ("yaw", "pitch", "roll")]
    expr = [corr[k] for k in ("mouth_open", "mouth_width", "eye_aperture")]
    return {
        "name": "avatar", "judge": judge.name, "n": len(p_ours), "frames": len(frames),
        "psnr_db": round(float(np.mean(p_ours)), 2), "psnr_db_baseline": round(float(np.mean(p_base)), 2),
        "psnr_gain_db": round(float(np.mean(p_ours) - np.mean(p_base)), 2),
        "ssim": round(float(np.mean(s_ours)), 4), "ssim_baseline": round(float(np.mean(s_base)), 4),
        "nme_pct": round(float(np.nanmean(n_ours)), 3), "nme_pct_baseline": round(float(np.nanmean(n_base)), 3),
        "tracked_output_pct": round(100 * float(np.mean([m is not None for m in rendered])), 1),
        "tracked_cross_pct": round(100 * float(np.mean([m is not None for m in cross_marks])), 1),
        **{f"corr_{k}": round(v, 3) for k, v in corr.items()},
        "pose_corr": round(float(np.nanmean(pose)), 3), "expression_corr": round(float(np.nanmean(expr)), 3),
        "pose_expression_corr": round(float(np.nanmean(pose + expr)), 3),
        "still_frames": f"{start}-{start + STILL_WINDOW - 1}",
        "jitter_px": round(jitter_still, 3), "jitter_px_clip_stillest": round(_rms_step(targets[window]), 3),
        "jitter_px_retracked": round(_rms_step(judged), 3) if len(judged) > 1 else float("nan"),
        "jitter_px_driver": round(_rms_step(driver_still), 3),
        **identity,
    }
