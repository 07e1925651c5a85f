"""`deepzoom eval gaze`: the whole eye-contact effect, judged by a tracker it does not use.

The judge is MediaPipe's own FaceMesh with refined irises (the test-only reference, `metrics.ReferenceJudge`):
a different network from our tracker's mesh + iris models. Our effect runs exactly as the chain runs it
(`Chain(["gaze"])`: our face tracker, the angle from the camera geometry and the distance, the gating and
fade, the warp) on frame streams at 30 fps; nothing of its own is read back to score it.

Gaze angles are read from the judge's points: the iris centre's offset across the eye (normal of the line
through the eye corners), turned into degrees with the standard eyeball (radius 12 mm, iris 11.7 mm, scaled
by the judge's iris diameter). The eye frame (corners, iris size) is taken from the judge on the unedited
frame: the head and every pixel outside the eyes are the same in the edited one.

(a) synthetic: every clip frame (1280x720) gets its eyes turned down by 5/10/15 degrees (placed by the
    judge's points); the chain runs with the camera set that far above the screen point (at the judge's
    distance of the face), warmed up first so the fade-in is over; residual = |judge's vertical gaze after
    the effect - the original frame's|, over every frame (frames the effect leaves alone count as they are:
    uncorrected; a frame the judge loses after the effect counts as the whole angle);
(b) the clip as it is, default settings (camera 12 cm above), from the first frame (fade-in included):
    the change the judge sees vs the correction wanted at the judge's distance; frames the effect switches
    off (blinks, fade-in) stay in, as seen;
(c) pixels outside the eyes: a mask fixed before the effect runs (the judge's eye rings on the input, grown by
    MASK_MARGIN eye widths), PSNR over the frame and over the face box outside it, changed-pixel count;
(d) jitter on output pixels, still head (a portrait with fresh sensor noise every frame): the judge's iris
    positions on the output frames (beside the same on the input frames: the judge's own noise floor) and the
    frame-to-frame pixel change inside the eye mask, output vs input;
(e) switched off when it should, on a chain already correcting: eyes turned 25 degrees further sideways,
    painted-shut eyes, and the clip's real blink (frames 26-27): output identical to the input."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.headpose import camera_matrix
from ..engine.video.gaze import EYEBALL_RADIUS_MM, IRIS_DIAMETER_MM, correction_deg, eye_frame, warp_eye
from ..media import VideoSource, read_image
from ..samples import DEMO_CLIP, PORTRAITS, sample
from ..settings import ChainSettings, FaceTrackingSettings, GazeSettings, apply_overrides
from .metrics import JUDGE_CORNERS, ReferenceJudge, eye_mask, judge_iris

FPS = 30.0
SIZE = (1280, 720)
ANGLES = (5, 10, 15)
WARMUP = 8  # frames of the first picture before a stream: the 150 ms fade-in is over
# The eye mask grows the judge's eye rings by this many eye widths. Chosen on the three sample portraits
# (not the clip the figures come from) by `changed_extent`: the farthest changed pixel there lies 0.34 eye
# widths outside the ring (the band above the upper lid that follows the gaze); rounded up.
MASK_MARGIN = 0.4
JITTER_FRAMES, JITTER_SETTLE = 60, 15


REAL_BLINK = (26, 27)  # clip frames with a real blink


def _frames(step: int = 1, limit: int | None = None) -> tuple[list[int], list[np.ndarray]]:
    """Clip frame numbers and the frames at 1280x720 (every `step`-th of the first `limit`)."""
    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    index = list(range(len(frames)))[:limit:step]
    return index, [cv2.resize(frames[i], SIZE, interpolation=cv2.INTER_CUBIC) for i in index]


# ---- the judge's geometry ---------------------------------------------------------------------------------
def judge_face(lm: np.ndarray) -> SimpleNamespace:
    """The judge's points in the shape the eye warp reads (mesh, 2x5 iris points, iris diameter): to place
    synthetic edits with the judge's geometry rather than our tracker's."""
    iris = np.stack([lm[468:473, :2], lm[473:478, :2]])
    diameter = float(np.mean([judge_iris(lm, e)[1] for e in (0, 1)]))
    return SimpleNamespace(landmarks=lm[:468], iris=iris, iris_diameter_px=diameter)


def judge_pitch(ref: np.ndarray, lm: np.ndarray) -> float:
    """Vertical eye rotation (up > 0, degrees, mean of both eyes) of the irises in `lm`, measured in the eye
    frame (corners, eyeball radius) of `ref`, the judge's points on the unedited frame."""
    out = []
    for eye in (0, 1):
        a, b = JUDGE_CORNERS[eye]
        p, q = ref[a, :2], ref[b, :2]
        u = (q - p) / max(np.linalg.norm(q - p), 1e-6)
        v = np.array([-u[1], u[0]])
        radius = EYEBALL_RADIUS_MM * judge_iris(ref, eye)[1] / IRIS_DIAMETER_MM
        centre = judge_iris(lm, eye)[0]
        out.append(-math.degrees(math.asin(float(np.clip((centre - (p + q) / 2) @ v / radius, -1, 1)))))
    return float(np.mean(out))


def judge_yaw(lm: np.ndarray) -> float:
    """Sideways eye rotation in the head (towards image right > 0, degrees, mean of both eyes)."""
    f = judge_face(lm)
    out = []
    for eye in (0, 1):
        e = eye_frame(f, eye)
        out.append(math.degrees(math.asin(float(np.clip((e.iris - e.centre) @ e.u / e.radius_px, -1, 1)))))
    return float(np.mean(out))


def judge_distance_cm(lm: np.ndarray, shape) -> float:
    """Camera to eyes from the judge's iris size, with the camera model our tracker assumes by default."""
    k = camera_matrix(shape[1], shape[0], FaceTrackingSettings().camera_fov_deg)
    diameter = float(np.mean([judge_iris(lm, e)[1] for e in (0, 1)]))
    return float(k[0, 0] * IRIS_DIAMETER_MM / max(diameter, 1e-6) / 10)


# ---- helpers shared with the unit tests ---------------------------------------------------------------------
def _turn(img: np.ndarray, face, pitch: float, yaw: float = 0.0) -> np.ndarray:
    """`img` with both eyes turned by (pitch up, yaw towards image right) degrees, placed by `face` (ours or
    the judge's `judge_face`)."""
    out = img.copy()
    for eye in (0, 1):
        warp_eye(img, out, face, eye, pitch, yaw, GazeSettings().lid_follow)
    return out


def _iris_pitch(ref, face) -> float:
    """Vertical eye rotation of OUR tracker's iris in `face`, in `ref`'s eye frame (the engine's unit tests use
    it; the evaluation judges with `judge_pitch`)."""
    out = []
    for eye in (0, 1):
        f = eye_frame(ref, eye)
        out.append(-math.degrees(math.asin(float(np.clip((face.iris[eye, 0] - f.centre) @ f.v / f.radius_px, -1, 1)))))
    return float(np.mean(out))


def _chain(**gaze) -> Chain:
    return Chain(["gaze"], apply_overrides(ChainSettings(), [f"gaze.{k}={v}" for k, v in gaze.items()]))


def _state(chain: Chain) -> dict | None:
    last = chain.effects[0].last
    return last[0] if last else None


def _warm(chain: Chain, frame: np.ndarray) -> None:
    for k in range(WARMUP):
        chain.process(frame, (k - WARMUP) / FPS)


def _psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    if not where.any():
        return 100.0
    mse = float(((a.astype(np.float64) - b)[where] ** 2).mean())
    return 100.0 if mse == 0 else min(100.0, 10 * math.log10(255 ** 2 / mse))


def _face_box(lm: np.ndarray, shape) -> np.ndarray:
    box = np.zeros(shape[:2], bool)
    (x0, y0), (x1, y1) = np.floor(lm[:, :2].min(0)).astype(int), np.ceil(lm[:, :2].max(0)).astype(int)
    box[max(y0, 0):y1 + 1, max(x0, 0):x1 + 1] = True
    return box


def _eyes_crop(lm: np.ndarray):
    (x0, y0), (x1, y1) = judge_iris(lm, 0)[0], judge_iris(lm, 1)[0]
    pad = int(0.6 * abs(x1 - x0))

    def crop(img):
        c = img[int(min(y0, y1)) - pad // 2: int(max(y0, y1)) + pad // 2, int(x0) - pad: int(x1) + pad]
        return cv2.resize(c, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)

    return crop


# ---- (a) synthetic known angles ------------------------------------------------------------------------------
def _synthetic(judge: ReferenceJudge, index, frames, truth, progress, out_dir: Path | None) -> dict:
    keep = [i for i, lm in enumerate(truth) if lm is not None]
    distance = float(np.median([judge_distance_cm(truth[i], frames[i].shape) for i in keep]))
    res = {"synthetic_distance_cm": round(distance, 1)}
    for angle in ANGLES:
        above = math.tan(math.radians(angle)) * distance  # the camera that far above the screen point
        chain = _chain(camera_above_cm=round(above, 3))
        turned = {i: _turn(frames[i], judge_face(truth[i]), -angle) for i in keep}
        _warm(chain, turned[keep[0]])
        residual, seen, on, lost = [], [], 0, 0
        for i in keep:
            out, _ = chain.process(turned[i], index[i] / FPS)
            state = _state(chain)
            on += bool(state and state["state"] == "on" and state["weight"] > 0)
            base = judge_pitch(truth[i], truth[i])
            lm_turned, lm_out = judge.landmarks(turned[i]), judge.landmarks(out)
            if lm_turned is not None:
                seen.append(base - judge_pitch(truth[i], lm_turned))
            if lm_out is None:  # the judge cannot read it: counted as not corrected at all
                lost += 1
                residual.append(float(angle))
            else:
                residual.append(abs(judge_pitch(truth[i], lm_out) - base))
            if out_dir is not None and i == keep[0]:
                crop = _eyes_crop(truth[i])
                cv2.imwrite(str(out_dir / f"gaze_synthetic_{angle}deg.png"),
                            np.vstack([crop(frames[i]), crop(turned[i]), crop(out)]))
        res[f"residual_deg_{angle}"] = round(float(np.mean(residual)), 2)
        res[f"residual_deg_{angle}_p90"] = round(float(np.percentile(residual, 90)), 2)
        res[f"synthetic_down_seen_deg_{angle}"] = round(float(np.mean(seen)), 2)
        res[f"synthetic_on_pct_{angle}"] = round(100 * on / len(keep), 1)
        res[f"synthetic_judge_lost_{angle}"] = lost
        progress(f"turned down {angle} deg (judge saw {np.mean(seen):.1f}): residual after the effect "
                 f"{np.mean(residual):.2f} deg over {len(keep)} frames, effect on in {on}")
    res["n_synthetic"] = len(keep)
    return res


# ---- (b) + (c) the clip as it is ---------------------------------------------------------------------------
def _clip(judge: ReferenceJudge, index, frames, truth, progress, out_dir: Path | None) -> dict:
    chain = _chain()
    wanted, asked, seen, on_flags, psnr_frame, psnr_face = [], [], [], [], [], []
    changed_outside, blink_ok = 0, []
    for i, img in enumerate(frames):
        lm = truth[i]
        # the mask is fixed from the input before the effect runs
        mask = eye_mask(lm, img.shape, MASK_MARGIN) if lm is not None else None
        out, _ = chain.process(img, index[i] / FPS)
        state = _state(chain)
        on = bool(state and state["state"] == "on" and state["weight"] > 0)
        if index[i] in REAL_BLINK:  # a real blink: the effect must leave the frame alone
            blink_ok.append(bool(state and state["state"] == "blink") and np.array_equal(out, img))
        if lm is None:
            continue
        outside = ~mask
        changed_outside += int(np.count_nonzero(np.any(out != img, axis=-1) & outside))
        psnr_frame.append(_psnr(out, img, outside))
        psnr_face.append(_psnr(out, img, outside & _face_box(lm, img.shape)))
        want = correction_deg(GazeSettings(), judge_distance_cm(lm, img.shape))[0]
        lm_out = judge.landmarks(out)
        change = 0.0 if lm_out is None else judge_pitch(lm, lm_out) - judge_pitch(lm, lm)
        wanted.append(want)
        asked.append(state["applied_deg"][0] if state else 0.0)
        seen.append(change)
        on_flags.append(on)
        if out_dir is not None and i == 0:  # the mask (light) over the input
            cv2.imwrite(str(out_dir / "gaze_clip_mask.png"), np.where(mask[..., None], img // 2 + 127, img))
        if out_dir is not None and index[i] == 30:
            crop = _eyes_crop(lm)
            cv2.imwrite(str(out_dir / "gaze_clip_before_after.png"), np.vstack([crop(img), crop(out)]))
    wanted, seen, on_flags = np.array(wanted), np.array(seen), np.array(on_flags)
    err = np.abs(wanted - seen)
    progress(f"clip: wanted {wanted.mean():.1f} deg up, the judge saw {seen.mean():.1f} deg over {len(seen)} "
             f"frames (effect on in {on_flags.sum()}; {seen[on_flags].mean():.1f} deg there)")
    return {"clip_correction_wanted_deg": round(float(wanted.mean()), 2),
            "clip_correction_asked_deg": round(float(np.mean(asked)), 2),
            "clip_correction_seen_deg": round(float(seen.mean()), 2),
            "clip_residual_deg": round(float(err.mean()), 2),
            "clip_residual_deg_on": round(float(err[on_flags].mean()), 2) if on_flags.any() else float("nan"),
            "clip_on_pct": round(100 * float(on_flags.mean()), 1),
            "psnr_outside_eyes_db": round(float(min(psnr_frame)), 2),
            "psnr_face_outside_eyes_db": round(float(min(psnr_face)), 2),
            "changed_px_outside_eyes": changed_outside, "mask_margin_eye_widths": MASK_MARGIN,
            "clip_blink_left_alone": blink_ok, "n_clip": len(seen)}


# ---- (d) jitter on output pixels --------------------------------------------------------------------------
def _jitter(judge: ReferenceJudge, progress, frames: int = JITTER_FRAMES) -> dict:
    img = read_image(sample("single_face.jpg"))
    rng = np.random.default_rng(0)
    chain = _chain()
    mask = eye_mask(judge.landmarks(img), img.shape, MASK_MARGIN)
    iris_in, iris_out, step_in, step_out, on = [], [], [], [], 0
    prev = None
    for i in range(frames):
        noisy = np.clip(img + rng.normal(0, 2, img.shape), 0, 255).astype(np.uint8)
        out, _ = chain.process(noisy, i / FPS)
        if i < JITTER_SETTLE:  # the fade-in
            continue
        state = _state(chain)
        on += bool(state and state["state"] == "on")
        a, b = judge.landmarks(noisy), judge.landmarks(out)
        if a is not None and b is not None:
            iris_in.append([judge_iris(a, e)[0] for e in (0, 1)])
            iris_out.append([judge_iris(b, e)[0] for e in (0, 1)])
        if prev is not None:
            step_in.append(((noisy.astype(np.float64) - prev[0])[mask] ** 2).mean())
            step_out.append(((out.astype(np.float64) - prev[1])[mask] ** 2).mean())
        prev = (noisy, out)

    def rms(p):
        p = np.array(p)
        return float(np.sqrt(((p - p.mean(0)) ** 2).sum(-1).mean())) if len(p) else float("nan")

    j_in, j_out = rms(iris_in), rms(iris_out)
    pix_in, pix_out = float(np.sqrt(np.mean(step_in))), float(np.sqrt(np.mean(step_out)))
    progress(f"still head with sensor noise ({len(iris_out)} frames, effect on in {on}): the judge's iris "
             f"jitter {j_out:.3f} px RMS on the output, {j_in:.3f} px on the input; eye pixels change "
             f"{pix_out:.2f} grey levels RMS frame to frame (input {pix_in:.2f})")
    return {"jitter_px_rms": round(j_out, 3), "jitter_px_rms_input": round(j_in, 3),
            "jitter_px_excess": round(math.sqrt(max(j_out ** 2 - j_in ** 2, 0.0)), 3),
            "eye_pixel_step_rms": round(pix_out, 3), "eye_pixel_step_rms_input": round(pix_in, 3),
            "jitter_on_pct": round(100 * on / max(frames - JITTER_SETTLE, 1), 1), "n_jitter": len(iris_out)}


# ---- (e) switched off when it should --------------------------------------------------------------------
def _switch_off(frames, truth, progress, blink_ok: list[bool], n: int = 6, hold: int = 5) -> dict:
    """Each case is held for `hold` frames after the chain was correcting the unedited frame: switched off on
    the first frame, or how many frames it took (the tracker's smoothing lags a sudden change of the eyes)."""
    keep = [i for i, lm in enumerate(truth) if lm is not None]
    picks = keep[:: max(len(keep) // n, 1)][:n]
    first, lags = 0, []
    for i in picks:
        img, face = frames[i], judge_face(truth[i])
        sideways = judge_yaw(truth[i])
        away = _turn(img, face, 0.0, 25.0 if sideways >= 0 else -25.0)  # further from the camera
        for kind, frame in (("looking away", away), ("blink", _closed_eyes(img, face))):
            chain = _chain()
            _warm(chain, img)  # correcting when the case comes
            lag = hold + 1  # never within the hold
            for k in range(hold):
                out, _ = chain.process(frame, k / FPS)
                state = _state(chain)
                if bool(state and state["state"] == kind) and np.array_equal(out, frame):
                    lag = k
                    break
            lags.append(lag)
            first += lag == 0
    cases = len(lags) + len(blink_ok)  # and the clip's real blink, frames 26-27 (first frame only)
    first += sum(blink_ok)
    progress(f"switched off at once in {first}/{cases} look-away/blink frames (incl. the clip's real blink); "
             f"frames it took in the synthetic cases: {lags}")
    return {"switched_off_pct": round(100 * first / max(cases, 1), 1), "n_switch_off": cases,
            "switch_off_lag_frames_max": int(max(lags)) if lags else 0,
            "switched_off_within_hold_pct": round(100 * (sum(x <= hold for x in lags) + sum(blink_ok)) / cases, 1)}


def _closed_eyes(img: np.ndarray, face) -> np.ndarray:
    """Paint each eye shut (a synthetic blink): skin from below the eye over the whole aperture, and a
    lash line from corner to corner."""
    out = img.copy()
    for (a, b), (up, low) in (((33, 133), (159, 145)), ((362, 263), (386, 374))):
        pts = face.landmarks[[a, up, b, low], :2]
        width = float(np.linalg.norm(pts[2] - pts[0]))
        x0, y0 = (pts.min(0) - 0.12 * width).astype(int)
        x1, y1 = (pts.max(0) + 0.12 * width).astype(int)
        skin = out[y1 + 2: y1 + 2 + (y1 - y0) // 2, x0:x1].reshape(-1, 3).mean(0)
        out[y0:y1, x0:x1] = skin
        lash = np.rint(pts[[0, 3, 2]]).astype(np.int32)
        cv2.polylines(out, [lash], False, (40, 40, 40), max(2, int(width / 18)), cv2.LINE_AA)
    return out


def changed_extent(judge: ReferenceJudge | None = None) -> float:
    """How far (in eye widths) outside the judge's eye rings the effect changes pixels on the sample
    portraits, default settings, after the fade-in: what MASK_MARGIN was chosen from (not the clip)."""
    judge = judge or ReferenceJudge()
    worst = 0.0
    for name in PORTRAITS:
        img = read_image(sample(name))
        lm = judge.landmarks(img)
        chain = _chain()
        _warm(chain, img)
        out, _ = chain.process(img, 0.0)
        changed = np.any(out != img, axis=-1)
        if lm is None or not changed.any():
            continue
        for eye in (0, 1):
            a, b = JUDGE_CORNERS[eye]
            width = float(np.linalg.norm(lm[a, :2] - lm[b, :2]))
            ring = eye_mask(lm, img.shape, 0.0)
            dist = cv2.distanceTransform((~ring).astype(np.uint8), cv2.DIST_L2, 5)
            near = changed & (np.abs(np.arange(img.shape[1]) - lm[[a, b], 0].mean())[None, :] < width * 1.5)
            if near.any():
                worst = max(worst, float(dist[near].max()) / width)
    return worst


def run(progress=print, out_dir: Path | None = None, step: int = 1, limit: int | None = None,
        jitter_frames: int = JITTER_FRAMES) -> dict:
    """The whole evaluation; `step`/`limit` thin the clip and `jitter_frames` shortens the still-head run
    (the quality guard of the test suite runs it smaller)."""
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    judge = ReferenceJudge()  # first: it imports MediaPipe's protobuf before anything else can
    index, frames = _frames(step, limit)
    truth = [judge.landmarks(f) for f in frames]  # the judge on the unedited frames, before any effect
    result = {"name": "gaze", "judge": judge.name}
    result.update(_synthetic(judge, index, frames, truth, progress, out_dir))
    clip = _clip(judge, index, frames, truth, progress, out_dir)
    blink_ok = clip.pop("clip_blink_left_alone")
    result.update(clip)
    result.update(_jitter(judge, progress, jitter_frames))
    result.update(_switch_off(frames, truth, progress, blink_ok))
    first = next(lm for lm in truth if lm is not None)
    result["wanted_deg_default_settings"] = [round(x, 2) for x in correction_deg(
        GazeSettings(), judge_distance_cm(first, frames[0].shape))]
    result["n"] = len(frames)
    return result
