"""Face tracking: BlazeFace detection every N frames (and whenever no face is tracked), the 468-point mesh
and both irises every frame on regions tracked from the previous frame's landmarks, One-Euro smoothing,
head pose, eye aperture / blink and an iris-based distance estimate. One FaceState per face.

A tracker made with `iris=False` (for effects that only need where the face is) skips the iris model: the
iris, eye contour and eye aperture fields then come from the mesh's eye rings (coarser: the iris is the ring's
centre with a typical diameter)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..settings import FaceTrackingSettings
from .canonical import load_canonical_face
from .geometry import Roi, iou
from .headpose import HeadPose, Pose, camera_matrix
from .models import Detection, FaceDetector, FaceMesh, IrisLandmarks
from .smoothing import OneEuro

IRIS_DIAMETER_MM = 11.7
# Eyes are ordered image-left then image-right (the subject's right eye first).
EYE_CORNERS = ((33, 133), (362, 263))  # outer/inner corner pairs as MediaPipe's iris ROIs use them
MIRROR_EYE = (False, True)  # the iris model knows the image-left eye; the other one is mirrored
MESH_ROI_SCALE, IRIS_ROI_SCALE = 1.5, 2.3
# The mesh's eye rings in the order of the iris model's first 16 contour points (0/8 corners, 4/12 lid centres).
EYE_RINGS = ((33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
             (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466))
IRIS_PER_EYE_WIDTH = 0.39  # a typical iris diameter over the eye's corner-to-corner width
CONTOUR_POINTS = 71


@dataclass
class FaceState:
    """Everything known about one tracked face in one frame. Coordinates are frame pixels."""

    face_id: int
    score: float  # mesh presence probability
    roi: Roi  # region the mesh ran on
    landmarks: np.ndarray  # 468x3 smoothed (x, y, z); z in pixel scale, negative = towards the camera
    landmarks_raw: np.ndarray  # 468x3 as the model gave them
    iris: np.ndarray  # 2x5x2 smoothed iris centre + 4 boundary points, eyes image-left then image-right
    eye_contours: np.ndarray  # 2x71x2 eye contour + brow points from the iris model
    pitch: float  # degrees, > 0 looking up
    yaw: float  # degrees, > 0 face turned towards image right
    roll: float  # degrees, > 0 tilted clockwise
    rvec: np.ndarray
    tvec: np.ndarray  # head position in mm, camera coordinates (from the canonical face)
    eye_aperture: tuple[float, float]  # lid gap / eye width per eye (iris-model eyelid contour)
    eye_closed: tuple[bool, bool]
    iris_diameter_px: float
    distance_cm: float  # camera to eyes, from the iris size and the camera's field of view
    frames_tracked: int

    @property
    def box(self) -> tuple[float, float, float, float]:
        lo, hi = self.landmarks[:, :2].min(0), self.landmarks[:, :2].max(0)
        return float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])

    @property
    def blink(self) -> bool:
        return all(self.eye_closed)

    @property
    def inter_ocular_px(self) -> float:
        return float(np.linalg.norm(self.iris[0, 0] - self.iris[1, 0]))


@dataclass
class _Track:
    face_id: int
    landmarks: np.ndarray
    frames: int = 0
    pose: Pose | None = None
    mesh_filter: OneEuro = field(default_factory=OneEuro)
    iris_filter: OneEuro = field(default_factory=OneEuro)


def _roi_from_detection(d: Detection) -> Roi:
    x, y, w, h = d.box
    anchor = Roi.around(np.vstack([d.keypoints[:2], [[x, y], [x + w, y + h]]]), 0, 1, MESH_ROI_SCALE)
    return Roi(x + w / 2, y + h / 2, max(w, h) * MESH_ROI_SCALE, anchor.angle)


def _eye_roi(landmarks: np.ndarray, eye: int) -> Roi:
    a, b = EYE_CORNERS[eye]
    return Roi.around(landmarks[[a, b]], 0, 1, IRIS_ROI_SCALE)


def eyes_from_mesh(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(2x5x2 iris centre + 4 boundary points, 2x71x2 eye contours) estimated from the mesh alone: each eye
    ring's centre with a typical iris diameter, and the ring as the contour's first 16 points (the rest repeat
    the centre)."""
    iris = np.empty((2, 5, 2), np.float32)
    contours = np.empty((2, CONTOUR_POINTS, 2), np.float32)
    for e, ring in enumerate(EYE_RINGS):
        pts = landmarks[list(ring), :2]
        centre = pts.mean(0)
        r = IRIS_PER_EYE_WIDTH / 2 * float(np.linalg.norm(pts[0] - pts[8]))
        iris[e] = centre + np.array([[0, 0], [r, 0], [0, -r], [-r, 0], [0, r]], np.float32)
        contours[e, :len(ring)], contours[e, len(ring):] = pts, centre
    return iris, contours


class FaceTracker:
    def __init__(self, settings: FaceTrackingSettings | None = None, iris: bool = True):
        self.settings = settings or FaceTrackingSettings()
        s = self.settings
        self.detector = FaceDetector(s.detector, s.device, s.min_detection_confidence, s.precision)
        self.mesh = FaceMesh(s.device, precision=s.precision)
        self.irises = IrisLandmarks(s.device, precision=s.precision) if iris else None
        self.headpose = HeadPose(load_canonical_face())
        self.tracks: list[_Track] = []
        self.frame_index = 0
        self._next_id = 0
        self._k: tuple[tuple[int, int], np.ndarray] | None = None
        self.last_timings: dict[str, float] = {}

    def reset(self) -> None:
        self.tracks.clear()
        self.frame_index = 0

    def camera(self, w: int, h: int) -> np.ndarray:
        """Intrinsics for a w x h frame from the configured field of view."""
        if self._k is None or self._k[0] != (w, h):
            self._k = ((w, h), camera_matrix(w, h, self.settings.camera_fov_deg))
        return self._k[1]

    def process(self, frame: np.ndarray, timestamp: float | None = None) -> list[FaceState]:
        """Track faces in one BGR frame; timestamp (seconds) drives smoothing (defaults to the clock)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR frame, got {frame.dtype} {frame.shape}")
        t = time.perf_counter() if timestamp is None else timestamp
        s = self.settings
        timings = {"detect_ms": 0.0}
        t0 = time.perf_counter()
        states = []
        for track in list(self.tracks):
            state = self._follow(frame, track, t)
            if state is None:
                self.tracks.remove(track)
            else:
                states.append(state)
        timings["track_ms"] = (time.perf_counter() - t0) * 1e3

        due = self.frame_index % s.detect_every == 0
        if len(self.tracks) < s.max_faces and (due or not self.tracks):
            t1 = time.perf_counter()
            for det in self.detector.detect(frame):
                if len(self.tracks) >= s.max_faces:
                    break
                if any(iou(det.box, st.box) > 0.3 for st in states):
                    continue
                state = self._start(frame, det, t)
                if state is not None:
                    states.append(state)
            timings["detect_ms"] = (time.perf_counter() - t1) * 1e3
        self.frame_index += 1
        self.last_timings = timings
        return states

    def _start(self, frame: np.ndarray, det: Detection, t: float) -> FaceState | None:
        landmarks, score = self.mesh.run(frame, _roi_from_detection(det))
        if score < self.settings.min_tracking_confidence:
            return None
        s = self.settings
        track = _Track(self._next_id, landmarks, mesh_filter=OneEuro(s.smooth_min_cutoff, s.smooth_beta),
                       iris_filter=OneEuro(s.smooth_min_cutoff, s.smooth_beta))
        self._next_id += 1
        self.tracks.append(track)
        return self._follow(frame, track, t)

    def _follow(self, frame: np.ndarray, track: _Track, t: float) -> FaceState | None:
        s = self.settings
        prev = track.landmarks
        if self.irises is not None:  # runs beside the mesh
            self.irises.start(frame, (_eye_roi(prev, 0), _eye_roi(prev, 1)), MIRROR_EYE)
        roi = Roi.around(prev, 33, 263, MESH_ROI_SCALE)
        raw, score = self.mesh.run(frame, roi)
        if self.irises is not None:
            contours, irises = self.irises.wait()
            contours, iris_raw = contours[:, :, :2], irises[:, :, :2]
        else:
            iris_raw, contours = eyes_from_mesh(raw)
        if score < s.min_tracking_confidence:
            return None
        track.landmarks = raw
        track.frames += 1

        iod = float(np.linalg.norm(raw[33, :2] - raw[263, :2]))
        if s.smoothing:
            landmarks = track.mesh_filter(raw, t, iod).astype(np.float32)
            iris = track.iris_filter(iris_raw, t, iod).astype(np.float32)
        else:
            landmarks, iris = raw, iris_raw

        h, w = frame.shape[:2]
        k = self.camera(w, h)
        track.pose = pose = self.headpose.solve(landmarks, k, track.pose)
        # eye aperture from the iris model's eyelid contour (its first 16 points follow the mesh's eye ring:
        # 0/8 the corners, 4/12 the lower/upper lid centre), which closes on blinks far better than the mesh
        lids = contours[:, [0, 8, 4, 12]]
        apertures = [float(np.linalg.norm(e[3] - e[2]) / max(np.linalg.norm(e[1] - e[0]), 1e-6)) for e in lids]
        # iris diameter from the two boundary-point pairs, averaged over both eyes
        diam = float(np.mean([np.linalg.norm(e[1] - e[3]) + np.linalg.norm(e[2] - e[4]) for e in iris]) / 2)
        distance_cm = k[0, 0] * IRIS_DIAMETER_MM / max(diam, 1e-6) / 10
        return FaceState(
            face_id=track.face_id, score=score, roi=roi, landmarks=landmarks, landmarks_raw=raw, iris=iris,
            eye_contours=contours, pitch=pose.pitch, yaw=pose.yaw, roll=pose.roll, rvec=pose.rvec,
            tvec=pose.tvec, eye_aperture=(apertures[0], apertures[1]),
            eye_closed=(apertures[0] < s.blink_threshold, apertures[1] < s.blink_threshold),
            iris_diameter_px=diam, distance_cm=float(distance_cm), frames_tracked=track.frames)
