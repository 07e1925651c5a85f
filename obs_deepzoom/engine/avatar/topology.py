"""Groups of the 468-point face mesh the avatar moves, and the face frame they are measured in.

Eyes are in image order (image-left first). Lid lists run from the eye's image-left corner to its image-right
corner, so upper[i] and lower[i] face each other across the eye."""

from __future__ import annotations

import numpy as np

FACE_OVAL = np.array([10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
                      152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109])
LIPS_INNER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
LIPS_INNER_UPPER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
LIPS_INNER_LOWER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
LIPS_OUTER_LOWER = np.array([61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])
MOUTH_CORNERS = (61, 291)
LIP_CENTRE = (13, 14)  # inner upper / lower lip, middle
FOREHEAD, CHIN = 10, 152
UPPER_LID = (np.array([246, 161, 160, 159, 158, 157, 173]), np.array([398, 384, 385, 386, 387, 388, 466]))
LOWER_LID = (np.array([7, 163, 144, 145, 153, 154, 155]), np.array([382, 381, 380, 374, 373, 390, 249]))
LID_CREASE = (np.array([247, 30, 29, 27, 28, 56, 190]), np.array([414, 286, 258, 257, 259, 260, 467]))
EYE_CORNERS = ((33, 133), (362, 263))


def similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares s, R, t with dst ~ s * R @ src + t (Umeyama), for N x 3 point sets."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(b.T @ a / len(src))
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1
    rot = u @ np.diag(d) @ vt
    var = (a ** 2).sum() / len(src)
    s = float((sig * d).sum() / max(var, 1e-12))
    return s, rot, mu_d - s * rot @ mu_s


def euler(rot: np.ndarray) -> np.ndarray:
    """(yaw about y, pitch about x, roll about z) in radians for rot = Ry(yaw) @ Rx(pitch) @ Rz(roll)."""
    pitch = np.arcsin(np.clip(-rot[1, 2], -1, 1))
    yaw = np.arctan2(rot[0, 2], rot[2, 2])
    roll = np.arctan2(rot[1, 0], rot[1, 1])
    return np.array([yaw, pitch, roll])


def from_euler(angles: np.ndarray) -> np.ndarray:
    yaw, pitch, roll = angles
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz
