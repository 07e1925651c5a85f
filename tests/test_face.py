"""Face tracking on real media with real models, checked against MediaPipe's own Python solutions."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.engine.face import FaceTracker
from obs_deepzoom.engine.geometry import iou
from obs_deepzoom.engine.models import FaceDetector
from obs_deepzoom.media import VideoSource, read_image
from obs_deepzoom.reference import mediapipe
from obs_deepzoom.samples import PORTRAITS, sample
from obs_deepzoom.settings import FaceTrackingSettings


@pytest.fixture(scope="module")
def mp():
    return mediapipe()


@pytest.mark.parametrize("name", PORTRAITS)
@pytest.mark.parametrize("variant", ["short", "full"])
def test_detector_box_matches_mediapipe(mp, name, variant):
    img = read_image(sample(name))
    h, w = img.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=0 if variant == "short" else 1) as ref:
        b = ref.process(cv2.cvtColor(img, cv2.COLOR_BGR2RGB)).detections[0].location_data.relative_bounding_box
    ours = FaceDetector(variant).detect(img)
    assert len(ours) == 1
    assert iou(ours[0].box, (b.xmin * w, b.ymin * h, b.width * w, b.height * h)) > 0.9


def test_landmarks_match_mediapipe_and_tracking_survives_the_clip():
    from obs_deepzoom.evaluate.face import _landmarks

    r = _landmarks(lambda *_: None)
    assert r["tracked_frames_pct"] == 100.0
    assert r["nme_pct"] < 1.5 and r["nme_pct_smoothed"] < 1.5
    assert r["detector_runs"] == 1  # found once, then tracked from landmarks to the end


def test_face_state_is_plausible(clip_720p):
    tracker = FaceTracker()
    states = [tracker.process(f, i / 30) for i, f in enumerate(clip_720p[:30])]
    assert all(len(s) == 1 for s in states)
    face = states[-1][0]
    assert face.landmarks.shape == (468, 3) and face.iris.shape == (2, 5, 2)
    assert face.iris[0, 0, 0] < face.iris[1, 0, 0]  # image-left eye first
    assert abs(face.yaw) < 15 and abs(face.pitch) < 20 and abs(face.roll) < 10  # a near-frontal talker
    assert 25 < face.distance_cm < 120
    assert not any(face.eye_closed) and min(face.eye_aperture) > 0.2
    assert face.frames_tracked == 30


def test_tracker_without_the_iris_model_estimates_the_eyes_from_the_mesh(clip_720p):
    from obs_deepzoom.engine.chain import Chain

    full, light = FaceTracker(), FaceTracker(iris=False)
    for i, f in enumerate(clip_720p[:10]):
        a, b = full.process(f, i / 30)[0], light.process(f, i / 30)[0]
    assert light.irises is None
    np.testing.assert_allclose(b.landmarks, a.landmarks)  # the same mesh track
    assert np.abs(b.iris[:, 0] - a.iris[:, 0]).max() < 0.15 * a.inter_ocular_px  # ring centre ~ iris centre
    assert abs(b.iris_diameter_px / a.iris_diameter_px - 1) < 0.35 and 25 < b.distance_cm < 120
    assert b.eye_contours.shape == a.eye_contours.shape and min(b.eye_aperture) > 0.15
    assert Chain(["restore"]).tracker.irises is None  # only where the face is: no iris model
    assert Chain(["restore", "gaze"]).tracker.irises is not None


def test_pose_follows_a_turned_and_tilted_face(clip_720p):
    frame = clip_720p[0]
    base = FaceTracker().process(frame, 0)[0]
    flipped = FaceTracker().process(np.ascontiguousarray(frame[:, ::-1]), 0)[0]
    assert np.sign(flipped.yaw) == -np.sign(base.yaw) or abs(base.yaw) < 2
    assert abs(flipped.roll + base.roll) < 3
    h, w = frame.shape[:2]
    rot = cv2.warpAffine(frame, cv2.getRotationMatrix2D((w / 2, h / 2), -20, 1.0), (w, h))  # 20 deg clockwise
    tilted = FaceTracker().process(rot, 0)[0]
    assert abs((tilted.roll - base.roll) - 20) < 4


def test_closed_eyes_are_reported(portrait):
    tracker = FaceTracker(FaceTrackingSettings(smoothing=False))
    face = tracker.process(portrait, 0)[0]
    img = portrait.copy()
    for (a, b), (up, low) in (((33, 133), (159, 145)), ((362, 263), (386, 374))):
        # paint each eye shut with the skin colour just below it
        pts = face.landmarks[[a, up, b, low], :2].astype(np.int32)
        x0, y0 = pts.min(0) - 3
        x1, y1 = pts.max(0) + 3
        skin = img[y1 + 6: y1 + 12, x0:x1].reshape(-1, 3).mean(0)
        img[y0:y1, x0:x1] = skin
        cv2.line(img, tuple(pts[0]), tuple(pts[2]), (40, 40, 40), 2)
    closed = FaceTracker(FaceTrackingSettings(smoothing=False)).process(img, 0)[0]
    assert closed.blink, closed.eye_aperture


def test_no_face_and_several_faces():
    empty = list(VideoSource.open_file(sample("no_face.mp4")).frames())[:20]
    tracker = FaceTracker()
    assert all(tracker.process(f, i / 30) == [] for i, f in enumerate(empty))
    group = read_image(sample("multi_face.jpg"))
    many = FaceTracker(FaceTrackingSettings(max_faces=4, detector="full")).process(group, 0)
    assert len(many) >= 2
    assert len({f.face_id for f in many}) == len(many)
    one = FaceTracker(FaceTrackingSettings(max_faces=1, detector="full")).process(group, 0)
    assert len(one) == 1


def test_tracker_rejects_wrong_frames():
    tracker = FaceTracker()
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        tracker.process(np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        tracker.process(np.zeros((10, 10, 3), np.float32))
