"""Raw-frame conversions used by the OBS raw-frame (async) path; no OBS needed."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.obs.frames import SUPPORTED, plane_shapes, to_bgr, write_back


def planes_from_bgr(fmt, bgr):
    """Build the planes of a format from a BGR image with OpenCV (what a camera/decoder would deliver)."""
    h, w = bgr.shape[:2]
    if fmt in ("RGBA", "BGRA", "BGRX"):
        code = cv2.COLOR_BGR2RGBA if fmt == "RGBA" else cv2.COLOR_BGR2BGRA
        return [cv2.cvtColor(bgr, code).reshape(h, w * 4).copy()]
    if fmt == "I444":
        ycrcb = cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb)
        return [ycrcb[..., i].copy() for i in (0, 2, 1)]
    i420 = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420)
    y, rest = i420[:h], i420[h:].reshape(-1)
    n = (h // 2) * (w // 2)
    u, v = rest[:n].reshape(h // 2, w // 2), rest[n:].reshape(h // 2, w // 2)
    if fmt == "I420":
        return [y.copy(), u.copy(), v.copy()]
    if fmt == "NV12":
        uv = np.empty((h // 2, w), np.uint8)
        uv[:, 0::2], uv[:, 1::2] = u, v
        return [y.copy(), uv]
    packed = np.empty((h, w * 2), np.uint8)
    u2, v2 = np.repeat(u, 2, 0), np.repeat(v, 2, 0)
    order = {"YUY2": (y, u2, v2, (0, 1, 3)), "UYVY": (y, u2, v2, (1, 0, 2)), "YVYU": (y, u2, v2, (0, 3, 1))}
    yy, uu, vv, (yo, uo, vo) = order[fmt]
    packed[:, yo::2], packed[:, uo::4], packed[:, vo::4] = yy, uu, vv
    return [packed]


@pytest.mark.parametrize("fmt", SUPPORTED)
def test_round_trip_and_exact_passthrough(portrait, fmt):
    bgr = cv2.resize(portrait, (320, 240))
    planes = planes_from_bgr(fmt, bgr)
    assert [p.shape for p in planes] == plane_shapes(fmt, 320, 240)
    got = to_bgr(fmt, planes, 320, 240)
    assert np.abs(got.astype(int) - bgr).mean() < 3  # chroma subsampling only
    before = [p.copy() for p in planes]
    assert write_back(fmt, planes, got, got.copy()) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, planes)), "passthrough must be byte-exact"


@pytest.mark.parametrize("fmt", SUPPORTED)
def test_only_changed_pixels_are_written(portrait, fmt):
    bgr = cv2.resize(portrait, (320, 240))
    planes = planes_from_bgr(fmt, bgr)
    before = [p.copy() for p in planes]
    frame = to_bgr(fmt, planes, 320, 240)
    edited = frame.copy()
    edited[100:140, 160:200] = (0, 0, 255)
    assert write_back(fmt, planes, frame, edited) == 40 * 40
    after = to_bgr(fmt, planes, 320, 240)
    assert np.abs(after[110:130, 170:190].astype(int) - (0, 0, 255)).max() < 30  # red, within YUV error
    # far from the rectangle nothing moved
    mask = np.ones((240, 320), bool)
    mask[96:144, 156:204] = False
    assert np.array_equal(after[mask], to_bgr(fmt, before, 320, 240)[mask])
