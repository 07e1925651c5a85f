"""Raw OBS frame planes (I420, NV12, YUY2, UYVY, YVYU, I444, RGBA, BGRA, BGRX) <-> BGR numpy images.

`to_bgr` converts planes (2-D uint8 views, rows x bytes, padding already cut) to a BGR frame. `write_back`
writes a processed BGR frame into the planes **only where it differs** from the frame it came from, so an
effect that leaves pixels alone leaves their YUV bytes exactly as they were (no colour-conversion drift).
No libobs here: the OBS filter builds the plane views, tests use plain arrays."""

from __future__ import annotations

import cv2
import numpy as np

PACKED_422 = {"YUY2": (0, 1, 3), "UYVY": (1, 0, 2), "YVYU": (0, 3, 1)}  # Y offset (every 2), U, V (every 4)
SUPPORTED = ("I420", "NV12", "I444", "RGBA", "BGRA", "BGRX", *PACKED_422)


def plane_shapes(fmt: str, w: int, h: int) -> list[tuple[int, int]]:
    """(rows, bytes per row) of each plane."""
    if fmt == "I420":
        return [(h, w), (h // 2, w // 2), (h // 2, w // 2)]
    if fmt == "NV12":
        return [(h, w), (h // 2, w)]
    if fmt == "I444":
        return [(h, w)] * 3
    if fmt in PACKED_422:
        return [(h, w * 2)]
    if fmt in ("RGBA", "BGRA", "BGRX"):
        return [(h, w * 4)]
    raise ValueError(f"unsupported video format {fmt}")


def _i420(planes: list[np.ndarray], h: int, w: int) -> np.ndarray:
    buf = np.empty((h * 3 // 2, w), np.uint8)
    buf[:h] = planes[0]
    chroma = buf[h:].reshape(-1)
    n = (h // 2) * (w // 2)
    chroma[:n] = planes[1].reshape(-1)
    chroma[n:] = planes[2].reshape(-1)
    return buf


def to_bgr(fmt: str, planes: list[np.ndarray], w: int, h: int) -> np.ndarray:
    if fmt == "I420":
        return cv2.cvtColor(_i420(planes, h, w), cv2.COLOR_YUV2BGR_I420)
    if fmt == "NV12":
        return cv2.cvtColor(np.vstack([planes[0], planes[1]]), cv2.COLOR_YUV2BGR_NV12)
    if fmt == "I444":
        return cv2.cvtColor(np.dstack([planes[0], planes[2], planes[1]]), cv2.COLOR_YCrCb2BGR)
    if fmt in PACKED_422:
        code = {"YUY2": cv2.COLOR_YUV2BGR_YUY2, "UYVY": cv2.COLOR_YUV2BGR_UYVY, "YVYU": cv2.COLOR_YUV2BGR_YVYU}
        return cv2.cvtColor(planes[0].reshape(h, w, 2), code[fmt])
    px = planes[0].reshape(h, w, 4)
    return cv2.cvtColor(px, cv2.COLOR_RGBA2BGR if fmt == "RGBA" else cv2.COLOR_BGRA2BGR)


def to_obs_rgba(bgr: np.ndarray, fmt: str, matrix: np.ndarray) -> np.ndarray:
    """RGBA that looks as OBS would show this picture had it come as a frame of format `fmt` with YUV -> RGB
    `matrix` (4x4, row-major, on values 0..1, as struct obs_source_frame holds it): the picture is taken back to
    the YUV values `to_bgr` read it from, then through the frame's own matrix (its colour space and range)."""
    if fmt not in SUPPORTED or fmt in ("RGBA", "BGRA", "BGRX") or not np.any(matrix):
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGBA)
    h, w = bgr.shape[:2]
    if fmt == "I444":
        y, v, u = cv2.split(cv2.cvtColor(bgr, cv2.COLOR_BGR2YCrCb))
    else:
        yuv = cv2.cvtColor(bgr[: h - h % 2, : w - w % 2], cv2.COLOR_BGR2YUV_I420)
        hh, ww = h - h % 2, w - w % 2
        y = yuv[:hh]
        rest = yuv[hh:].reshape(-1)
        n = (hh // 2) * (ww // 2)
        up = lambda c: cv2.resize(c.reshape(hh // 2, ww // 2), (ww, hh), interpolation=cv2.INTER_NEAREST)  # noqa: E731
        u, v = up(rest[:n]), up(rest[n:])
        y, u, v = (cv2.copyMakeBorder(c, 0, h - hh, 0, w - ww, cv2.BORDER_REPLICATE) for c in (y, u, v))
    yuv1 = np.stack([y, u, v, np.full_like(y, 255)], axis=-1).astype(np.float32) / 255
    m = np.asarray(matrix, np.float32).reshape(4, 4)[:3]
    rgb = np.clip(yuv1 @ m.T, 0, 1) * 255 + 0.5
    return np.dstack([rgb.astype(np.uint8), np.full((h, w), 255, np.uint8)])


def write_back(fmt: str, planes: list[np.ndarray], before: np.ndarray, after: np.ndarray) -> int:
    """Write `after` into the planes where it differs from `before`; returns the number of changed pixels."""
    changed = np.any(after != before, axis=2)
    count = int(np.count_nonzero(changed))
    if not count:
        return 0
    h, w = changed.shape
    if fmt in ("RGBA", "BGRA", "BGRX"):
        px = planes[0].reshape(h, w, 4)
        px[..., :3][changed] = after[changed][:, ::-1] if fmt == "RGBA" else after[changed]
        return count
    if fmt == "I444":
        ycrcb = cv2.cvtColor(after, cv2.COLOR_BGR2YCrCb)
        for plane, channel in zip(planes, (0, 2, 1)):
            plane[changed] = ycrcb[..., channel][changed]
        return count
    yuv = cv2.cvtColor(after, cv2.COLOR_BGR2YUV_I420)
    y, rest = yuv[:h], yuv[h:].reshape(-1)
    n = (h // 2) * (w // 2)
    u, v = rest[:n].reshape(h // 2, w // 2), rest[n:].reshape(h // 2, w // 2)
    if fmt in PACKED_422:
        yo, uo, vo = PACKED_422[fmt]
        packed = planes[0]
        packed[:, yo::2][changed] = y[changed]
        chroma_changed = changed.reshape(h, w // 2, 2).any(2)
        u422, v422 = np.repeat(u, 2, axis=0), np.repeat(v, 2, axis=0)
        packed[:, uo::4][chroma_changed] = u422[chroma_changed]
        packed[:, vo::4][chroma_changed] = v422[chroma_changed]
        return count
    planes[0][changed] = y[changed]
    chroma_changed = changed.reshape(h // 2, 2, w // 2, 2).any((1, 3))
    if fmt == "I420":
        planes[1][chroma_changed] = u[chroma_changed]
        planes[2][chroma_changed] = v[chroma_changed]
    else:  # NV12: interleaved U, V
        planes[1][:, 0::2][chroma_changed] = u[chroma_changed]
        planes[1][:, 1::2][chroma_changed] = v[chroma_changed]
    return count
