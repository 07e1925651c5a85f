"""Raw-frame conversions used by the OBS raw-frame (async) path; no OBS needed.

The expected values are computed here independently of `obs_deepzoom.obs.frames`: the planes are unpacked with
numpy slicing by each format's byte layout, and the BT.601 equations are written out (limited range, 16-235,
for the 4:2:0 / 4:2:2 formats; full range for I444, whose planes are Y, Cb, Cr as OpenCV's YCrCb)."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.obs.frames import SUPPORTED, plane_shapes, to_bgr, write_back

W, H = 320, 240
RGB_FORMATS = ("RGBA", "BGRA", "BGRX")
PACKED = {"YUY2": (0, 1, 3), "UYVY": (1, 0, 2), "YVYU": (0, 3, 1)}  # byte offsets of Y (every 2), U, V (every 4)


def planes_from_bgr(fmt, bgr):
    """Build the planes of a format from a BGR image with OpenCV (what a camera/decoder would deliver)."""
    h, w = bgr.shape[:2]
    if fmt in RGB_FORMATS:
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
    yo, uo, vo = PACKED[fmt]
    packed[:, yo::2], packed[:, uo::4], packed[:, vo::4] = y, np.repeat(u, 2, 0), np.repeat(v, 2, 0)
    return [packed]


def yuv_samples(fmt, planes):
    """Full-resolution Y, U (Cb), V (Cr) as floats, chroma repeated over the pixels it covers."""
    def up(c, ry, rx):
        return np.repeat(np.repeat(c, ry, 0), rx, 1).astype(float)

    if fmt == "I420":
        return planes[0].astype(float), up(planes[1], 2, 2), up(planes[2], 2, 2)
    if fmt == "NV12":
        return planes[0].astype(float), up(planes[1][:, 0::2], 2, 2), up(planes[1][:, 1::2], 2, 2)
    if fmt == "I444":
        return tuple(p.astype(float) for p in planes)
    yo, uo, vo = PACKED[fmt]
    p = planes[0]
    return p[:, yo::2].astype(float), up(p[:, uo::4], 1, 2), up(p[:, vo::4], 1, 2)


def expected_bgr(fmt, planes):
    """The BGR picture the planes encode, by the equations."""
    if fmt in RGB_FORMATS:
        px = planes[0].reshape(H, W, 4)
        return px[..., 2::-1] if fmt == "RGBA" else px[..., :3]
    y, u, v = yuv_samples(fmt, planes)
    u, v = u - 128, v - 128
    if fmt == "I444":  # full range
        r, g, b = y + 1.402 * v, y - 0.344136 * u - 0.714136 * v, y + 1.772 * u
    else:  # limited range
        y = 1.164383 * (y - 16)
        r, g, b = y + 1.596027 * v, y - 0.391762 * u - 0.812968 * v, y + 2.017232 * u
    return np.clip(np.rint(np.dstack([b, g, r])), 0, 255)


def expected_code(fmt, bgr):
    """The bytes one BGR colour encodes to: (Y, U, V), or the 4 pixel bytes of the RGB formats."""
    b, g, r = (float(c) for c in bgr)
    if fmt in RGB_FORMATS:
        return (r, g, b) if fmt == "RGBA" else (b, g, r)
    if fmt == "I444":
        y = 0.299 * r + 0.587 * g + 0.114 * b
        return y, 128 + 0.564 * (b - y), 128 + 0.713 * (r - y)
    return (16 + 0.256788 * r + 0.504129 * g + 0.097906 * b, 128 - 0.148223 * r - 0.290993 * g + 0.439216 * b,
            128 + 0.439216 * r - 0.367788 * g - 0.071427 * b)


@pytest.fixture
def small(portrait):
    return cv2.resize(portrait, (W, H))


@pytest.mark.parametrize("fmt", SUPPORTED)
def test_to_bgr_matches_the_equations(small, fmt):
    planes = planes_from_bgr(fmt, small)
    assert [p.shape for p in planes] == plane_shapes(fmt, W, H)
    got = to_bgr(fmt, planes, W, H)
    assert got.shape == (H, W, 3) and got.dtype == np.uint8
    err = np.abs(got.astype(int) - expected_bgr(fmt, planes))
    assert err.max() <= 2, f"{fmt}: differs from the BT.601 equations by up to {err.max()}"
    assert np.abs(got.astype(int) - small).mean() < 3  # and the picture survives the round trip


@pytest.mark.parametrize("fmt", SUPPORTED)
def test_unchanged_frame_keeps_the_bytes_a_full_rewrite_would_alter(small, fmt):
    planes = planes_from_bgr(fmt, small)
    before = [p.copy() for p in planes]
    got = to_bgr(fmt, planes, W, H)
    assert write_back(fmt, planes, got, got.copy()) == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, planes)), "passthrough must be byte-exact"
    # what that saves: writing every pixel back (here the "before" frame differs everywhere) re-encodes them
    rewritten = [p.copy() for p in planes]
    assert write_back(fmt, rewritten, 255 - got, got) == W * H
    if fmt not in RGB_FORMATS:
        assert any(not np.array_equal(a, b) for a, b in zip(before, rewritten)), f"{fmt}: re-encoding drifts"
    assert np.abs(to_bgr(fmt, rewritten, W, H).astype(int) - got).mean() < 3


@pytest.mark.parametrize("fmt", SUPPORTED)
def test_only_changed_pixels_are_written(small, fmt):
    planes = planes_from_bgr(fmt, small)
    before = [p.copy() for p in planes]
    frame = to_bgr(fmt, planes, W, H)
    edited = frame.copy()
    red = (0, 0, 255)
    edited[100:140, 160:200] = red
    assert write_back(fmt, planes, frame, edited) == 40 * 40
    # inside the rectangle the planes hold red's code, by the equations
    want = expected_code(fmt, red)
    if fmt in RGB_FORMATS:
        px = planes[0].reshape(H, W, 4)[100:140, 160:200, :3]
        assert np.abs(px.astype(float) - want).max() <= 1
    else:
        y, u, v = yuv_samples(fmt, planes)
        for got, w in zip((y, u, v), want):
            assert np.abs(got[100:140, 160:200] - w).max() <= 1.5, f"{fmt}: red encodes to {want}"
    after = to_bgr(fmt, planes, W, H)
    assert np.abs(after[110:130, 170:190].astype(int) - red).max() < 30  # red, within YUV error
    # far from the rectangle nothing moved: neither the bytes nor the decoded picture
    mask = np.ones((H, W), bool)
    mask[96:144, 156:204] = False
    assert np.array_equal(after[mask], to_bgr(fmt, before, W, H)[mask])
    outside = [p.copy() for p in planes]
    for p, b in zip(outside, before):
        rows = p.shape[0] * 96 // H, p.shape[0] * 144 // H
        cols = p.shape[1] * 156 // W, p.shape[1] * 204 // W
        p[rows[0]:rows[1], cols[0]:cols[1]] = b[rows[0]:rows[1], cols[0]:cols[1]]
    assert all(np.array_equal(a, b) for a, b in zip(outside, before)), "bytes outside the rectangle changed"


# OBS's own YUV -> RGB matrices (video_format_get_parameters): BT.601 limited range, BT.709 full range
BT601_LIMITED = [1.164384, 0.0, 1.596027, -0.874202, 1.164384, -0.391762, -0.812968, 0.531668,
                 1.164384, 2.017232, 0.0, -1.085631, 0.0, 0.0, 0.0, 1.0]
BT709_FULL = [1.0, 0.0, 1.5748, -0.7874, 1.0, -0.187324, -0.468124, 0.327724, 1.0, 1.8556, 0.0, -0.9278,
              0.0, 0.0, 0.0, 1.0]


def test_a_picture_drawn_in_a_frames_place_gets_the_frames_colours():
    """A concealed picture is drawn as RGBA where OBS would have converted the camera's YUV with the frame's
    matrix: with the matrix `to_bgr` assumes it comes out as it went in; with a BT.709 full-range camera's, as
    OBS shows that camera (not as `to_bgr` read it)."""
    from obs_deepzoom.obs.frames import to_obs_rgba

    rng = np.random.default_rng(1)
    blocks = rng.integers(20, 236, (12, 16, 3), np.uint8)
    bgr = cv2.resize(blocks, (64, 48), interpolation=cv2.INTER_NEAREST)  # flat 4x4 blocks: no chroma subsampling loss
    same = to_obs_rgba(bgr, "I420", np.array(BT601_LIMITED))
    assert same.shape == (48, 64, 4) and (same[..., 3] == 255).all()
    assert np.abs(same[..., :3].astype(int) - bgr[..., ::-1]).max() <= 3
    other = to_obs_rgba(bgr, "NV12", np.array(BT709_FULL))
    assert np.abs(other[..., :3].astype(int) - bgr[..., ::-1]).mean() > 5  # what OBS shows differs
    assert np.array_equal(to_obs_rgba(bgr, "BGRA", np.array(BT601_LIMITED))[..., :3], bgr[..., ::-1])
    assert np.array_equal(to_obs_rgba(bgr, "I420", np.zeros(16))[..., :3], bgr[..., ::-1])  # no matrix known
    odd = to_obs_rgba(bgr[:47, :63], "I444", np.array(BT601_LIMITED))
    assert odd.shape == (47, 63, 4)
