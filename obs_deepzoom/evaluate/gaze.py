"""`deepzoom eval gaze`: eye-contact correction measured with our own gaze estimator (head pose + iris
position between the eye corners and lids) on the sample clip at 1280x720.

(a) synthetic known angles: real frames are turned down by 5/10/15 degrees with the same eyeball model, then
    corrected back; residual = |gaze after correction - gaze of the original frame| (vertical, mean of eyes);
    and on the clip as it is: the change the estimator sees vs the correction asked for;
(b) pixels outside the eye boxes: PSNR (exactly unchanged -> reported as 100 dB) and changed-pixel count;
(c) jitter of the corrected iris on a still head (the portrait with fresh sensor noise every frame);
(d) switched off when it should: synthetic look-away (eyes turned 25 degrees sideways) and closed eyes."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np

from ..engine.chain import FrameContext
from ..engine.face import FaceTracker
from ..engine.video.gaze import GazeCorrector, correction_deg, eye_angles, eye_frame, warp_eye
from ..media import VideoSource, read_image
from ..samples import DEMO_CLIP, sample
from ..settings import FaceTrackingSettings, GazeSettings


def _track(img: np.ndarray, then: np.ndarray | None = None):
    """The face in `img`; with `then`, the face in `then` followed from `img` (as a live stream tracks an
    edited frame: the eye crops of the iris model come from `img`'s mesh, not from a mesh that already
    reacted to the edited iris and moves the crops with it)."""
    tracker = FaceTracker(FaceTrackingSettings(smoothing=False))
    faces = tracker.process(img, 0.0)
    if then is not None and faces:
        faces = tracker.process(then, 0.0)
    return faces[0] if faces else None


def _pitch(face) -> float:
    return float(np.mean([eye_angles(face, e)[0] for e in (0, 1)]))


def _iris_pitch(ref, face) -> float:
    """Vertical eye rotation seen in `face` measured in `ref`'s eye frame (same head, same frame geometry):
    the mesh's eye corners drift with the iris's appearance, so they are taken from the untouched frame."""
    out = []
    for eye in (0, 1):
        f = eye_frame(ref, eye)
        out.append(-math.degrees(math.asin(float(np.clip((face.iris[eye, 0] - f.centre) @ f.v / f.radius_px, -1, 1)))))
    return float(np.mean(out))


def _turn(img: np.ndarray, face, pitch: float, yaw: float = 0.0) -> np.ndarray:
    out = img.copy()
    for eye in (0, 1):
        warp_eye(img, out, face, eye, pitch, yaw, GazeSettings().lid_follow)
    return out


def _frames() -> list[np.ndarray]:
    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    return [cv2.resize(f, (1280, 720), interpolation=cv2.INTER_CUBIC) for f in frames[::6]]


def _synthetic(frames, progress, out_dir: Path | None) -> dict:
    res = {}
    for angle in (5, 10, 15):
        residual, seen = [], []
        for i, img in enumerate(frames):
            face = _track(img)
            down = _turn(img, face, -angle)
            face_down = _track(img, down)
            fixed = _turn(down, face_down, angle)
            face_fixed = _track(img, fixed)
            base = _iris_pitch(face, face)
            seen.append(base - _iris_pitch(face, face_down))
            residual.append(abs(_iris_pitch(face, face_fixed) - base))
            if out_dir is not None and i == 0:
                crop = _eyes_crop(face)
                cv2.imwrite(str(out_dir / f"gaze_synthetic_{angle}deg.png"),
                            np.vstack([crop(img), crop(down), crop(fixed)]))
        res[f"residual_deg_{angle}"] = round(float(np.mean(residual)), 2)
        res[f"synthetic_down_seen_deg_{angle}"] = round(float(np.mean(seen)), 2)
        progress(f"turned down {angle} deg: estimator saw {np.mean(seen):.1f} deg; residual after correction "
                 f"{np.mean(residual):.2f} deg")
    return res


def _eyes_crop(face):
    (x0, y0), (x1, y1) = face.iris[0, 0], face.iris[1, 0]
    pad = int(0.6 * abs(x1 - x0))

    def crop(img):
        c = img[int(min(y0, y1)) - pad // 2: int(max(y0, y1)) + pad // 2, int(x0) - pad: int(x1) + pad]
        return cv2.resize(c, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)

    return crop


def _clip(frames, progress, out_dir: Path | None) -> dict:
    s = GazeSettings(smoothing_ms=0)
    corrector = GazeCorrector(s)
    asked, seen, outside_changed, psnrs = [], [], 0, []
    for i, img in enumerate(frames):
        face = _track(img)
        ctx = FrameContext(i, i / 5, [face])
        out = corrector.process(img, ctx)
        decision = corrector.last[0]
        if decision["state"] != "on":
            continue
        boxes = []
        for eye in (0, 1):
            box = warp_eye(img, img.copy(), face, eye, *decision["applied_deg"], s.lid_follow)
            if box:
                boxes.append(box)
        mask = np.ones(img.shape[:2], bool)
        for x0, y0, x1, y1 in boxes:
            mask[y0:y1, x0:x1] = False
        diff = (out.astype(np.float64) - img)[mask]
        outside_changed += int(np.count_nonzero(np.any(out[mask] != img[mask], axis=-1)))
        mse = float((diff ** 2).mean())
        psnrs.append(100.0 if mse == 0 else min(100.0, 10 * math.log10(255 ** 2 / mse)))
        after = _track(img, out)
        asked.append(decision["applied_deg"][0])
        seen.append(_iris_pitch(face, after) - _iris_pitch(face, face))
        if out_dir is not None and i == 0:
            crop = _eyes_crop(face)
            cv2.imwrite(str(out_dir / "gaze_clip_before_after.png"), np.vstack([crop(img), crop(out)]))
    progress(f"clip: asked {np.mean(asked):.1f} deg up, estimator saw {np.mean(seen):.1f} deg")
    return {"clip_correction_asked_deg": round(float(np.mean(asked)), 2),
            "clip_correction_seen_deg": round(float(np.mean(seen)), 2),
            "clip_residual_deg": round(float(np.mean(np.abs(np.array(seen) - asked))), 2),
            "psnr_outside_eyes_db": round(float(min(psnrs)), 2), "changed_px_outside_eyes": outside_changed,
            "n_clip": len(asked)}


def _jitter(progress) -> dict:
    img = read_image(sample("single_face.jpg"))
    rng = np.random.default_rng(0)
    tracker, corrector = FaceTracker(), GazeCorrector(GazeSettings())
    positions = []
    for i in range(60):
        noisy = np.clip(img.astype(np.int16) + rng.normal(0, 2, img.shape).astype(np.int16), 0, 255).astype(np.uint8)
        faces = tracker.process(noisy, i / 30)
        corrector.process(noisy, FrameContext(i, i / 30, faces))
        d = corrector.last[0]
        if i >= 15 and d["state"] == "on":  # after the fade-in
            f = eye_frame(faces[0], 0)
            p, y = d["applied_deg"]
            shift = f.radius_px * (-math.sin(math.radians(p)) * f.v + math.sin(math.radians(y)) * f.u)
            positions.append(f.iris + shift)
    pos = np.array(positions)
    rms = float(np.sqrt(((pos - pos.mean(0)) ** 2).sum(1).mean())) if len(pos) else float("nan")
    progress(f"still head with sensor noise: corrected iris jitter {rms:.3f} px RMS over {len(pos)} frames")
    return {"jitter_px_rms": round(rms, 3), "n_jitter": len(pos)}


def _switch_off(frames, progress) -> dict:
    corrector = GazeCorrector(GazeSettings(smoothing_ms=0))
    cases = 0
    correct = 0
    for i, img in enumerate(frames[:6]):
        face = _track(img)
        sideways = float(np.mean([eye_angles(face, e)[1] for e in (0, 1)]))
        away = _turn(img, face, 0.0, 25.0 if sideways >= 0 else -25.0)  # further from the camera
        for kind, frame in (("looking away", away), ("blink", _closed_eyes(img, face))):
            f = _track(frame)
            if f is None:
                continue
            out = corrector.process(frame, FrameContext(i, i, [f]))
            cases += 1
            ok = corrector.last[0]["state"] == kind and np.array_equal(out, frame)
            correct += ok
    clip = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    for i in (26, 27):  # a real blink in the sample clip
        frame = cv2.resize(clip[i], (1280, 720), interpolation=cv2.INTER_CUBIC)
        f = _track(frame)
        out = corrector.process(frame, FrameContext(i, i, [f]))
        cases += 1
        correct += corrector.last[0]["state"] == "blink" and np.array_equal(out, frame)
    progress(f"switched off correctly in {correct}/{cases} look-away/blink frames (incl. the clip's real blink)")
    return {"switched_off_pct": round(100 * correct / max(cases, 1), 1), "n_switch_off": cases}


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


def run(progress=print, out_dir: Path | None = None) -> dict:
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    frames = _frames()
    result = {"name": "gaze"}
    result.update(_synthetic(frames, progress, out_dir))
    result.update(_clip(frames, progress, out_dir))
    result.update(_jitter(progress))
    result.update(_switch_off(frames, progress))
    face = _track(frames[0])
    result["wanted_deg_default_settings"] = [round(x, 2) for x in correction_deg(GazeSettings(), face.distance_cm)]
    result["n"] = len(frames)
    return result
