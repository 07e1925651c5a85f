import math

import numpy as np

from obs_deepzoom.engine.geometry import Roi, apply_affine, iou
from obs_deepzoom.engine.smoothing import OneEuro


def test_roi_crop_maps_back_to_the_frame():
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[90:110, 140:160] = 255  # a white square centred at (150, 100)
    roi = Roi(150, 100, 80, math.radians(30))
    patch, m = roi.crop(frame, 64)
    ys, xs = np.nonzero(patch[..., 0] > 128)
    centre = apply_affine(m, np.array([[xs.mean() + 0.5, ys.mean() + 0.5]]))
    assert np.allclose(centre, [[150, 100]], atol=1.0)


def test_mirrored_crop_is_the_flipped_crop():
    frame = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    roi = Roi(80, 60, 50, 0.2)
    a, _ = roi.crop(frame, 32)
    b, m = roi.crop(frame, 32, mirror=True)
    assert np.array_equal(a[:, ::-1], b)
    # the mirrored map sends crop x to the frame point that the plain map sends 32 - x to
    plain = roi.crop_to_image(32)
    p = np.array([[5.0, 7.0]])
    assert np.allclose(apply_affine(m, p), apply_affine(plain, np.array([[27.0, 7.0]])))


def test_roi_around_levels_the_eye_line():
    pts = np.array([[0.0, 0.0], [10.0, 10.0]])
    roi = Roi.around(pts, 0, 1, 2.0)
    assert math.isclose(roi.angle, math.radians(45), abs_tol=1e-9)
    assert (roi.cx, roi.cy, roi.size) == (5.0, 5.0, 20.0)


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (20, 20, 5, 5)) == 0.0
    assert math.isclose(iou((0, 0, 10, 10), (5, 0, 10, 10)), 50 / 150)


def test_one_euro_steadies_a_still_point_and_follows_motion():
    rng = np.random.default_rng(1)
    f = OneEuro()
    still = [f(np.array([100.0]) + rng.normal(0, 1.0, 1), i / 30, scale=100) for i in range(90)]
    assert np.std(np.array(still[30:])) < 0.5  # input jitter is 1 px
    f.reset()
    moving = [f(np.array([100.0 + 10 * i]), i / 30, scale=100) for i in range(30)]
    assert abs(moving[-1][0] - 390.0) < 15  # lag under 1.5 frames at 300 px/s
