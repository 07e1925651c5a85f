"""`deepzoom eval face`: our OpenVINO face tracking against MediaPipe's own Python solutions on real media.

- landmarks: mean distance of the 468 mesh points to FaceMesh(refine_landmarks=False) (same model, video
  mode) in % of the inter-ocular distance (outer eye corners), raw and smoothed, over the sample clip;
- iris: iris centres against FaceMesh(refine_landmarks=True) points 468/473 (a different model: indicative);
- tracking: frames of the clip with a tracked face and number of re-detections;
- detection: IoU of our detector's box with MediaPipe FaceDetection's on the sample portraits.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..engine.face import FaceTracker
from ..engine.geometry import iou
from ..engine.models import FaceDetector
from ..media import VideoSource, read_image
from ..reference import mediapipe
from ..samples import DEMO_CLIP, PORTRAITS, sample
from ..settings import FaceTrackingSettings


def _ref_points(result, w: int, h: int) -> np.ndarray | None:
    if not result.multi_face_landmarks:
        return None
    return np.array([[p.x * w, p.y * h] for p in result.multi_face_landmarks[0].landmark])


def _landmarks(progress) -> dict:
    mp = mediapipe()
    frames = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    h, w = frames[0].shape[:2]
    tracker = FaceTracker(FaceTrackingSettings())
    plain = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=False)
    refined = mp.solutions.face_mesh.FaceMesh(static_image_mode=False, refine_landmarks=True)
    raw_err, smooth_err, iris_err, tracked, detections = [], [], [], 0, 0
    for i, frame in enumerate(frames):
        faces = tracker.process(frame, i / 30)
        if tracker.last_timings.get("detect_ms", 0) > 0:
            detections += 1
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        ref, ref_iris = _ref_points(plain.process(rgb), w, h), _ref_points(refined.process(rgb), w, h)
        if not faces:
            continue
        tracked += 1
        face = faces[0]
        if ref is not None:
            iod = np.linalg.norm(ref[33] - ref[263])
            raw_err.append(np.linalg.norm(face.landmarks_raw[:, :2] - ref, axis=1).mean() / iod * 100)
            smooth_err.append(np.linalg.norm(face.landmarks[:, :2] - ref, axis=1).mean() / iod * 100)
        if ref_iris is not None:
            iod = np.linalg.norm(ref_iris[33] - ref_iris[263])
            iris_err.append(np.mean([np.linalg.norm(face.iris[0, 0] - ref_iris[468]),
                                     np.linalg.norm(face.iris[1, 0] - ref_iris[473])]) / iod * 100)
    progress(f"clip: {len(frames)} frames {w}x{h}, tracked {tracked}")
    return {
        "nme_pct": round(float(np.mean(raw_err)), 3),
        "nme_pct_p95": round(float(np.percentile(raw_err, 95)), 3),
        "nme_pct_max": round(float(np.max(raw_err)), 3),
        "nme_pct_smoothed": round(float(np.mean(smooth_err)), 3),
        "iris_err_pct_vs_refined": round(float(np.mean(iris_err)), 3),
        "tracked_frames_pct": round(100 * tracked / len(frames), 2),
        "detector_runs": detections,
        "n": len(raw_err),
    }


def _detection(progress) -> dict:
    mp = mediapipe()
    ious = []
    ours = FaceDetector("short")
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as ref:
        for name in PORTRAITS:
            img = read_image(sample(name))
            h, w = img.shape[:2]
            r = ref.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            dets = ours.detect(img)
            if not r.detections or not dets:
                ious.append(0.0)
                continue
            b = r.detections[0].location_data.relative_bounding_box
            ref_box = (b.xmin * w, b.ymin * h, b.width * w, b.height * h)
            ious.append(max(iou(d.box, ref_box) for d in dets))
            progress(f"{name}: detection IoU vs mediapipe {ious[-1]:.3f}")
    return {"detection_iou_min": round(float(min(ious)), 3), "detection_iou_mean": round(float(np.mean(ious)), 3),
            "n_portraits": len(ious)}


def run(progress=print) -> dict:
    result = {"name": "face"}
    result.update(_detection(progress))
    result.update(_landmarks(progress))
    return result
