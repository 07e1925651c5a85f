"""`deepzoom eval datasaver`: what the data saver (background modes flat / posterize, and blur beside them) saves
a meeting app's encoder, at unchanged face quality.

Clip: the sample clip (640x360, 72 frames); the modes' settings were chosen on the calibration clip. Each mode's
output and the untouched clip go through x264 at CRF 23 (preset medium, the same encoder call as `eval codec`);
the bitrate counts every packet. The face region is the convex hull of MediaPipe's reference mesh (the
evaluation's judge, not the segmentation the effect uses) on the original frame, less a band of 4 % of the face's
width along the outline (where the edge matte mixes face and background in every mode); there the PSNR of the decoded
video against the original, with and without the mode. `face_psnr_change_db` is the difference (the goal: within
0.3 dB), `saving_pct` the bitrate saved; `face_psnr_before_encoding_db` shows the effect itself leaves the face
alone."""

from __future__ import annotations

import cv2
import numpy as np

from ..engine.chain import Chain
from ..settings import ChainSettings, apply_overrides
from .codec import _frames, x26x
from .metrics import ReferenceJudge, luma

CRF = 23
EDGE = 0.04  # the face region leaves out this share of the face's width along its outline
MODES = ("blur", "flat", "posterize")  # each at its default settings
PRESET = "data-saver"  # posterize with the settings chosen on the calibration clip (tools/tune_datasaver.py)


def face_masks(frames: list[np.ndarray]) -> list[np.ndarray | None]:
    judge = ReferenceJudge()
    masks = []
    for f in frames:
        lm = judge.landmarks(f)
        if lm is None:
            masks.append(None)
            continue
        m = np.zeros(f.shape[:2], np.uint8)
        cv2.fillConvexPoly(m, cv2.convexHull(lm[:468, :2].astype(np.int32)), 1)
        edge = max(1, round(EDGE * float(np.ptp(lm[:468, 0]))))  # the outline itself mixes in the background
        masks.append(cv2.erode(m, np.ones((2 * edge + 1, 2 * edge + 1), np.uint8)).astype(bool))
    judge.close()
    return masks


def masked_psnr(a: list[np.ndarray], b: list[np.ndarray], masks: list[np.ndarray | None]) -> float:
    """PSNR of the luma over every frame's face region together."""
    se, n = 0.0, 0
    for x, y, m in zip(a, b, masks):
        if m is not None:
            d = luma(x)[m] - luma(y)[m]
            se, n = se + float((d * d).sum()), n + int(m.sum())
    mse = se / max(n, 1)
    return 99.0 if mse < 1e-10 else 10 * float(np.log10(255 ** 2 / mse))


def measure(frames: list[np.ndarray], fps: float, overrides: dict[str, list[str]], progress=print) -> dict:
    masks = face_masks(frames)
    seconds = len(frames) / fps
    plain = x26x(frames, fps, CRF)
    base_kbps, base_psnr = plain["bits"] / 1000 / seconds, masked_psnr(plain["frames"], frames, masks)
    progress(f"untouched: {base_kbps:.1f} kbps, face {base_psnr:.2f} dB")
    out = {"crf": CRF, "frames": len(frames), "face_frames": sum(m is not None for m in masks),
           "kbps_untouched": round(base_kbps, 2), "face_psnr_untouched_db": round(base_psnr, 2), "modes": {}}
    for mode, sets in overrides.items():
        chain = Chain(["background"], apply_overrides(ChainSettings(), sets))
        shown = [chain.process(f, i / fps)[0] for i, f in enumerate(frames)]
        coded = x26x(shown, fps, CRF)
        kbps, face = coded["bits"] / 1000 / seconds, masked_psnr(coded["frames"], frames, masks)
        out["modes"][mode] = {"kbps": round(kbps, 2), "saving_pct": round(100 * (1 - kbps / base_kbps), 1),
                              "face_psnr_db": round(face, 2), "face_psnr_change_db": round(face - base_psnr, 3),
                              "face_psnr_before_encoding_db": round(masked_psnr(shown, frames, masks), 2)}
        progress(f"{mode}: {kbps:.1f} kbps ({out['modes'][mode]['saving_pct']} % saved), face {face:.2f} dB")
    return out


def run(progress=print) -> dict:
    from ..presets import load

    frames, fps = _frames()
    preset = load(PRESET).settings.background
    modes = {m: [f"background.mode={m}"] for m in MODES}
    modes[PRESET] = [f"background.{k}={v}" for k, v in preset.model_dump().items() if k != "color"]
    result = measure(frames, fps, modes, progress)
    chosen = result["modes"][PRESET]
    return {"name": "datasaver", "judge": "mediapipe-reference mesh (face hull)", **result,
            "saving_pct": chosen["saving_pct"], "face_psnr_change_db": chosen["face_psnr_change_db"]}
