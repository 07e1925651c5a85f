"""Debug overlay of what the face tracker sees: mesh, irises, tracked region, pose axes and a status line."""

from __future__ import annotations

import cv2
import numpy as np

from ...settings import LandmarksSettings

_AXIS_MM = 60.0


class LandmarkOverlay:
    name = "landmarks"
    kind = "video"
    settings_type = LandmarksSettings
    obs_title = "DeepZoom Face Landmarks"
    needs_faces = True
    needs_iris = True

    def __init__(self, settings: LandmarksSettings):
        self.settings = settings

    def process(self, frame: np.ndarray, ctx) -> np.ndarray:
        s = self.settings
        if not s.enabled or not ctx.faces:
            return frame
        out = frame.copy()
        h, w = out.shape[:2]
        for row, face in enumerate(ctx.faces):
            if s.mesh:
                pts = np.rint(face.landmarks[:, :2]).astype(np.int32)
                ok = (pts[:, 0] >= 0) & (pts[:, 0] < w - 1) & (pts[:, 1] >= 0) & (pts[:, 1] < h - 1)
                x, y = pts[ok, 0], pts[ok, 1]
                for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # 2x2 dots, vectorised
                    out[y + dy, x + dx] = s.color
            if s.iris:
                for eye in face.iris:
                    radius = (np.linalg.norm(eye[1] - eye[3]) + np.linalg.norm(eye[2] - eye[4])) / 4
                    cv2.circle(out, _pt(eye[0]), max(1, round(radius * 4)), (255, 200, 0), 1, cv2.LINE_AA, 2)
                    cv2.circle(out, _pt(eye[0]), 4, (0, 0, 255), -1, cv2.LINE_AA, 2)
            if s.box:
                corners = face.roi.crop_to_image(1) @ np.array([[0, 1, 1, 0], [0, 0, 1, 1], [1, 1, 1, 1]])
                cv2.polylines(out, [np.rint(corners.T).astype(np.int32)], True, (0, 160, 255), 1, cv2.LINE_AA)
                x0, y0 = corners[:, 0]
                cv2.putText(out, f"#{face.face_id}", (int(x0), int(y0) - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                            (0, 160, 255), 1, cv2.LINE_AA)
            if s.pose_axes and ctx.camera is not None:
                rot, _ = cv2.Rodrigues(face.rvec)
                nose = face.landmarks[1, :2]
                # axis directions projected from the nose tip: x red, y green, z (towards camera) blue
                for axis, color in zip((rot[:, 0], rot[:, 1], -rot[:, 2]), ((0, 0, 255), (0, 255, 0), (255, 0, 0))):
                    tip = nose + axis[:2] * _AXIS_MM * ctx.camera[0, 0] / max(float(face.tvec.ravel()[2]), 1.0)
                    cv2.arrowedLine(out, _pt(nose), _pt(tip), color, 2, cv2.LINE_AA, 2, 0.2)
            if s.text:
                eyes = "closed" if face.blink else "open"
                label = (f"#{face.face_id} pitch {face.pitch:+.0f} yaw {face.yaw:+.0f} roll {face.roll:+.0f} "
                         f"{face.distance_cm:.0f}cm eyes {eyes}")
                scale = min(0.6, max(0.3, w / 1400))
                org = (8, h - 10 - row * int(30 * scale / 0.6))
                cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(out, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        return out


def _pt(p: np.ndarray) -> tuple[int, int]:
    """Point with 2 fractional bits for cv2's shift argument."""
    return int(round(float(p[0]) * 4)), int(round(float(p[1]) * 4))
