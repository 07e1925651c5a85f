"""`deepzoom eval restore`: face super-resolution against bicubic and Lanczos on real portraits.

Each sample portrait is reduced x2 and x4 (OpenCV bicubic) and JPEG-compressed at quality 40, then enlarged
back by our restore effect (upscale mode: face tracker on the small picture, FSRCNN on the face, bicubic
elsewhere), by bicubic and by Lanczos. PSNR and SSIM are measured on the luma of every face (detector box on
the original, x1.2) against the original. The same is reported without JPEG (`_clean`) and for the model and deblock
options (`_without_deblock`: the step off; `_strength_S`: deblock_strength S), which is how their defaults were
chosen. Composites go to --out-dir when given.

Two disjoint sets, both disjoint from the deblocker's training pictures (tools/train_deblock.py TRAINING):
- validation (unprefixed keys): the portraits every restore option was chosen on; `choose_strength` picks
  deblock_strength there (`deblock_strength_chosen_on_validation`);
- test (keys `test_*`): held-out frames of the sample clip, measured the same way, never used to choose
  anything. These are the figures to quote."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.models import FaceDetector
from ..media import VideoSource, read_image, write_image
from ..samples import DEMO_CLIP, PORTRAITS, sample
from ..settings import ChainSettings
from .metrics import psnr, ssim

# Validation: everything about restore was chosen on these six faces (region margins, blend ramp, thresholds,
# which fine-tuning step of the deblocker to keep, deblock_strength); none was used in training.
VALIDATION = (*PORTRAITS, "multi_face.jpg")
IMAGES = VALIDATION
# Test (held out): frames of the sample clip, never used to train or choose anything for restore (a webcam-like
# 640x360 H.264 video; the same person as single_face.jpg, other pictures). Reported only.
TEST_CLIP = DEMO_CLIP
TEST_FRAMES = (0, 14, 28, 42, 56, 70)
STRENGTHS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)  # deblock_strength values tried on the validation faces
TEST_STRENGTHS = (0.8, 1.0)  # the old and the new default, side by side on the test faces
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


def centre_inside(box, region) -> bool:
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


def _measure(items, scales, variants: dict, both_clean: bool, progress, out_dir: Path | None, prefix: str) -> dict:
    """Mean PSNR/SSIM per method and degradation over `items` ((name, original, face boxes)); `variants` are the
    restore options measured as ours+suffix (strength variants only on JPEG input: clean input is not deblocked)."""
    acc: dict[str, list[float]] = {}
    restored = total = 0
    for name, original, boxes in items:
        for scale in scales:
            h, w = (s // scale * scale for s in original.shape[:2])
            hr = original[:h, :w]
            for clean in (False, True) if both_clean else (False,):
                lr = degrade(hr, scale, None if clean else JPEG_QUALITY)
                tag = f"x{scale}" + ("_clean" if clean else "")
                outs = {"bicubic": cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC),
                        "lanczos": cv2.resize(lr, (w, h), interpolation=cv2.INTER_LANCZOS4)}
                for suffix, options in variants.items():
                    if clean and "deblock_strength" in options:
                        continue
                    chain = _chain(h, **options)
                    outs["ours" + suffix], _ = chain.process(lr, 0.0)
                    if not suffix:
                        regions = chain.effects[0].regions
                        total += len(boxes)
                        restored += sum(any(centre_inside(b, r) for r in regions) for b in boxes)
                for method, out in outs.items():
                    p, s = _scores(out, hr, boxes)
                    acc.setdefault(f"psnr_{method}_{tag}", []).extend(p)
                    acc.setdefault(f"ssim_{method}_{tag}", []).extend(s)
                if out_dir is not None and not clean:
                    x0, y0, x1, y1 = boxes[0]
                    row = [cv2.resize(o[y0:y1, x0:x1], (256, 256), interpolation=cv2.INTER_NEAREST)
                           for o in (outs["bicubic"], outs["lanczos"], outs["ours"], hr)]
                    write_image(Path(out_dir) / f"restore_{prefix}{Path(name).stem}_{tag}.png", np.hstack(row))
                progress(f"{prefix}{name} {tag}: PSNR bicubic {np.mean(_scores(outs['bicubic'], hr, boxes)[0]):.2f}, "
                         f"ours {np.mean(_scores(outs['ours'], hr, boxes)[0]):.2f} dB")
    result: dict = {}
    for key, values in acc.items():
        result[key] = round(float(np.mean(values)), 4 if key.startswith("ssim") else 3)
    tags = [f"x{s}{c}" for s in scales for c in (("", "_clean") if both_clean else ("",))]
    for tag in tags:
        result[f"psnr_gain_vs_bicubic_{tag}"] = round(result[f"psnr_ours_{tag}"] - result[f"psnr_bicubic_{tag}"], 3)
        result[f"psnr_gain_vs_lanczos_{tag}"] = round(result[f"psnr_ours_{tag}"] - result[f"psnr_lanczos_{tag}"], 3)
        result[f"ssim_gain_vs_bicubic_{tag}"] = round(result[f"ssim_ours_{tag}"] - result[f"ssim_bicubic_{tag}"], 4)
        for suffix in variants:
            if suffix and f"psnr_ours{suffix}_{tag}" in result:
                result[f"psnr_gain_vs_bicubic_{tag}{suffix}"] = round(
                    result[f"psnr_ours{suffix}_{tag}"] - result[f"psnr_bicubic_{tag}"], 3)
    result["faces_restored_pct"] = round(100 * restored / max(total, 1), 1)
    result["n"] = len(acc[f"psnr_bicubic_{tags[0]}"])
    return result


def validation_items(detector: FaceDetector, names=VALIDATION):
    for name in names:
        original = read_image(sample(name))
        yield name, original, face_boxes(original, detector)


def held_out_items(detector: FaceDetector, frames=TEST_FRAMES):
    """The held-out frames of the test clip with a face (all of them, on the sample clip)."""
    clip = list(VideoSource.open_file(sample(TEST_CLIP)).frames())
    for i in frames:
        boxes = face_boxes(clip[i], detector)
        if boxes:
            yield f"{Path(TEST_CLIP).stem}#{i}", clip[i], boxes


def strength_variants(strengths=STRENGTHS) -> dict:
    return {f"_strength_{v:g}": {"deblock_strength": v} for v in strengths}


def choose_strength(validation: dict, strengths=STRENGTHS) -> float:
    """The rule, fixed before the test faces were measured: the deblock_strength with the largest PSNR gain over
    bicubic on the validation faces at x2 + JPEG (the issue's measure); ties (within 0.001 dB) to the lower."""
    gains = {v: validation[f"psnr_gain_vs_bicubic_x2_strength_{v:g}"] for v in strengths}
    best = max(gains.values())
    return min(v for v, g in gains.items() if g >= best - 0.001)


def run(progress=print, out_dir: Path | None = None, split: str = "both", scales=(2, 4),
        test_frames=TEST_FRAMES) -> dict:
    """split: 'validation' (the portraits, with the option variants and the deblock_strength sweep that chooses
    the default), 'test' (the held-out frames: our default, the strengths for the side-by-side) or 'both'."""
    detector = FaceDetector("short")
    result: dict = {"name": "restore", "jpeg_quality": JPEG_QUALITY,
                    "deblock_strength_default": ChainSettings().restore.deblock_strength}
    if split in ("validation", "both"):
        val = _measure(validation_items(detector), scales, {**VARIANTS, **strength_variants()}, True, progress,
                       out_dir, "")
        result.update(val)
        if 2 in scales:
            result["deblock_strength_chosen_on_validation"] = choose_strength(val)
    if split in ("test", "both"):
        test = _measure(held_out_items(detector, test_frames), scales, {"": {}, **strength_variants(TEST_STRENGTHS)},
                        False, progress, out_dir, "test_")
        result.update({f"test_{k}": v for k, v in test.items()})
    return result
