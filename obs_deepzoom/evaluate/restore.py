"""`deepzoom eval restore`: face super-resolution against bicubic and Lanczos on real portraits.

Each sample portrait is reduced x2 and x4 (OpenCV bicubic) and JPEG-compressed at quality 40, then enlarged
back by our restore effect (upscale mode: face tracker on the small picture, FSRCNN on the face, bicubic
elsewhere), by bicubic and by Lanczos. PSNR and SSIM are measured on the luma of every face (detector box on
the original, x1.2) against the original. The same is reported without JPEG (`_clean`) and for the model and deblock
options (`_without_deblock`: the step off), which is how their defaults were chosen. Composites go to --out-dir
when given."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.models import FaceDetector
from ..media import read_image, write_image
from ..samples import PORTRAITS, sample
from ..settings import ChainSettings
from .metrics import psnr, ssim

IMAGES = (*PORTRAITS, "multi_face.jpg")
JPEG_QUALITY = 40
DETECTOR = "full"  # the face tracker's full-range model: multi_face.jpg is a group photo, faces are small at x4
VARIANTS = {"": {}, "_without_deblock": {"deblock": False}, "_with_x2_model": {"model": "x2"}}


def degrade(hr: np.ndarray, scale: int, quality: int | None = JPEG_QUALITY) -> np.ndarray:
    h, w = hr.shape[:2]
    lr = cv2.resize(hr, (w // scale, h // scale), interpolation=cv2.INTER_CUBIC)
    if quality is None:
        return lr
    ok, data = cv2.imencode(".jpg", lr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def face_boxes(hr: np.ndarray, detector: FaceDetector) -> list[tuple[int, int, int, int]]:
    h, w = hr.shape[:2]
    out = []
    for d in detector.detect(hr):
        x, y, bw, bh = d.box
        cx, cy, side = x + bw / 2, y + bh / 2, max(bw, bh) * 1.2
        box = (int(max(0, cx - side / 2)), int(max(0, cy - side / 2)), int(min(w, cx + side / 2)),
               int(min(h, cy + side / 2)))
        if box[2] - box[0] >= 16 and box[3] - box[1] >= 16:
            out.append(box)
    return out


def _inside(box, region) -> bool:
    """The centre of `box` lies in `region` (both x0, y0, x1, y1)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


def _chain(height: int, **options) -> Chain:
    settings = ChainSettings()
    settings.face.max_faces = 4
    settings.face.detector = DETECTOR
    settings.restore = settings.restore.model_copy(update={"mode": "upscale", "output_height": height, **options})
    return Chain(["restore"], settings)


def _scores(out: np.ndarray, hr: np.ndarray, boxes) -> tuple[list[float], list[float]]:
    crops = [(out[y0:y1, x0:x1], hr[y0:y1, x0:x1]) for x0, y0, x1, y1 in boxes]
    return [psnr(a, b) for a, b in crops], [ssim(a, b) for a, b in crops]


def run(progress=print, out_dir: Path | None = None) -> dict:
    detector = FaceDetector("short")
    acc: dict[str, list[float]] = {}
    faces_restored = faces_total = 0
    for name in IMAGES:
        original = read_image(sample(name))
        boxes = face_boxes(original, detector)
        for scale in (2, 4):
            h, w = (s // scale * scale for s in original.shape[:2])
            hr = original[:h, :w]
            for clean in (False, True):
                lr = degrade(hr, scale, None if clean else JPEG_QUALITY)
                tag = f"x{scale}" + ("_clean" if clean else "")
                outs = {"bicubic": cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC),
                        "lanczos": cv2.resize(lr, (w, h), interpolation=cv2.INTER_LANCZOS4)}
                for suffix, options in VARIANTS.items():
                    chain = _chain(h, **options)
                    outs["ours" + suffix], _ = chain.process(lr, 0.0)
                    if not suffix:
                        regions = chain.effects[0].regions
                        faces_total += len(boxes)
                        faces_restored += sum(any(_inside(b, r) for r in regions) for b in boxes)
                for method, out in outs.items():
                    p, s = _scores(out, hr, boxes)
                    acc.setdefault(f"psnr_{method}_{tag}", []).extend(p)
                    acc.setdefault(f"ssim_{method}_{tag}", []).extend(s)
                if out_dir is not None and not clean:
                    x0, y0, x1, y1 = boxes[0]
                    row = [cv2.resize(o[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_NEAREST)
                           for o in (outs["bicubic"], outs["lanczos"], outs["ours"], hr)]
                    write_image(Path(out_dir) / f"restore_{Path(name).stem}_{tag}.png", np.hstack(row))
                progress(f"{name} {tag}: PSNR bicubic {np.mean(_scores(outs['bicubic'], hr, boxes)[0]):.2f}, "
                         f"ours {np.mean(_scores(outs['ours'], hr, boxes)[0]):.2f} dB")
    result: dict = {"name": "restore", "jpeg_quality": JPEG_QUALITY}
    for key, values in acc.items():
        result[key] = round(float(np.mean(values)), 4 if key.startswith("ssim") else 3)
    for tag in ("x2", "x4", "x2_clean", "x4_clean"):
        result[f"psnr_gain_vs_bicubic_{tag}"] = round(result[f"psnr_ours_{tag}"] - result[f"psnr_bicubic_{tag}"], 3)
        result[f"psnr_gain_vs_lanczos_{tag}"] = round(result[f"psnr_ours_{tag}"] - result[f"psnr_lanczos_{tag}"], 3)
        result[f"ssim_gain_vs_bicubic_{tag}"] = round(result[f"ssim_ours_{tag}"] - result[f"ssim_bicubic_{tag}"], 4)
    for suffix in VARIANTS:
        if suffix:
            for tag in ("x2", "x4", "x2_clean", "x4_clean"):
                result[f"psnr_gain_vs_bicubic_{tag}{suffix}"] = round(
                    result[f"psnr_ours{suffix}_{tag}"] - result[f"psnr_bicubic_{tag}"], 3)
    result["faces_restored_pct"] = round(100 * faces_restored / max(faces_total, 1), 1)
    result["n"] = len(acc["psnr_bicubic_x2"])
    return result
