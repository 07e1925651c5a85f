"""`deepzoom eval background`: our person mask and composites against MediaPipe's own SelfieSegmentation.

- mask: IoU and boundary F-measure (DAVIS tolerance) of our alpha > 0.5 against MediaPipe's mask > 0.5 at its
  resolution (the input's), for the landscape and general models, with and without our edge refinement, on the
  sample clip (72 frames) and the portraits; `person_area_pct_no_face` on the clip without people;
- flicker: mean IoU between consecutive masks on the clip's stillest segment (with / without our temporal
  smoothing, and MediaPipe's), and IoU against MediaPipe on the moving frames (smoothing must not ghost);
- halo (`halo_px_*`): in blur mode, how many 1-px bands on either side of the person's edge differ by more
  than HALO_TOLERANCE grey levels from the ideal result (the original inside; outside, a blur of background
  pixels only): a plain blur of the whole frame under a bilinear mask (`naive`), ours without edge refinement
  (`raw`), ours.
The person's edge is MediaPipe's mask > 0.5 throughout.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..engine.matting import background_blur
from ..engine.video.background import Background
from ..media import VideoSource, read_image, write_image
from ..reference import mediapipe
from ..samples import DEMO_CLIP, PORTRAITS, sample
from ..settings import BackgroundSettings
from .metrics import boundary_f, mask_iou

IMAGES = (*PORTRAITS, "multi_face.jpg")
HALO_TOLERANCE = 8.0  # grey levels
HALO_RANGE = 40  # px each side of the edge
STILL_DIFF = 1.0  # mean grey change per frame below which the clip counts as still


def _frames(name: str) -> list[np.ndarray]:
    return list(VideoSource.open_file(sample(name)).frames())


def _still_segment(frames: list[np.ndarray]) -> tuple[int, int]:
    """Longest run of frames [a, b) whose consecutive mean grey change is below STILL_DIFF."""
    grey = [cv2.cvtColor(cv2.resize(f, (160, 90), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
            .astype(np.float32) for f in frames]
    still = [float(np.abs(b - a).mean()) < STILL_DIFF for a, b in zip(grey, grey[1:])]
    best, start = (0, 1), None
    for i, s in enumerate([*still, False]):
        if s and start is None:
            start = i
        elif not s and start is not None:
            if i + 1 - start > best[1] - best[0]:
                best = (start, i + 1)
            start = None
    return best


def _run(settings: BackgroundSettings, frames: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Composites and alphas of a fresh effect over `frames` (a video, or one image)."""
    effect = Background(settings)
    outs, alphas = [], []
    for f in frames:
        outs.append(effect.process(f, None))
        alphas.append(effect.alpha)
    return outs, alphas


def _reference(mp, frames: list[np.ndarray], model: str) -> list[np.ndarray]:
    with mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=int(model == "landscape")) as seg:
        return [seg.process(cv2.cvtColor(f, cv2.COLOR_BGR2RGB)).segmentation_mask.copy() for f in frames]


def _distances(ref_person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance (px) of every pixel to the reference person outside / inside it."""
    person = ref_person.astype(np.uint8)
    return cv2.distanceTransform(1 - person, cv2.DIST_L2, 3), cv2.distanceTransform(person, cv2.DIST_L2, 3)


def _halo(composite: np.ndarray, frame: np.ndarray, ref_person: np.ndarray, sigma: float) -> int:
    """1-px bands within HALO_RANGE of the reference edge where the composite is off the ideal result."""
    d_out, d_in = _distances(ref_person)
    ideal_bg = background_blur(frame.astype(np.float32), (d_out > 3).astype(np.float32), sigma)
    err_out = np.abs(composite.astype(np.float32) - ideal_bg).mean(2)
    err_in = np.abs(composite.astype(np.float32) - frame.astype(np.float32)).mean(2)
    bands = 0
    for dist, err in ((d_out, err_out), (d_in, err_in)):
        band = np.minimum(np.ceil(dist), HALO_RANGE + 1).astype(np.int32)
        sums = np.bincount(band.ravel(), err.ravel(), HALO_RANGE + 2)
        counts = np.bincount(band.ravel(), minlength=HALO_RANGE + 2)
        means = sums[1:HALO_RANGE + 1] / np.maximum(counts[1:HALO_RANGE + 1], 1)
        bands += int((means > HALO_TOLERANCE).sum())
    return bands


def _naive_blur(frame: np.ndarray, prob: np.ndarray, sigma: float) -> np.ndarray:
    """What a plain implementation does: blur the whole frame, blend with the bilinear-upsampled mask."""
    h, w = frame.shape[:2]
    alpha = np.clip(cv2.resize(prob, (w, h), interpolation=cv2.INTER_LINEAR), 0, 1)
    return cv2.blendLinear(frame, cv2.GaussianBlur(frame, (0, 0), sigma), alpha, 1 - alpha)


def _mask_scores(mp, clip, images, progress) -> dict:
    out: dict = {}
    for model in ("landscape", "general"):
        for refine in (True, False):
            base = BackgroundSettings(model=model, refine=refine, smoothing=0.0)
            ious, bfs = [], []
            sets = [clip] + [[img] for img in images]
            for frames in sets:
                ref = _reference(mp, frames, model)
                _, alphas = _run(base, frames)
                ious += [mask_iou(a > 0.5, r > 0.5) for a, r in zip(alphas, ref)]
                bfs += [boundary_f(a > 0.5, r > 0.5) for a, r in zip(alphas, ref)]
            tag = model + ("" if refine else "_raw")
            out[f"mask_iou_{tag}"] = round(float(np.mean(ious)), 4)
            out[f"mask_iou_{tag}_min"] = round(float(np.min(ious)), 4)
            out[f"boundary_f_{tag}"] = round(float(np.mean(bfs)), 4)
            progress(f"{tag}: IoU {out[f'mask_iou_{tag}']:.4f} (min {out[f'mask_iou_{tag}_min']:.4f}), "
                     f"boundary F {out[f'boundary_f_{tag}']:.4f} over {len(ious)} frames/images")
    out["n"] = len(clip) + len(images)
    return out


def _temporal(mp, clip, progress) -> dict:
    a, b = _still_segment(clip)
    ref = _reference(mp, clip, "landscape")
    moving = [i for i in range(len(clip)) if not a <= i < b]
    out = {"still_frames": b - a}
    for tag, smoothing in (("", BackgroundSettings().smoothing), ("_no_smoothing", 0.0)):
        _, alphas = _run(BackgroundSettings(smoothing=smoothing), clip)
        masks = [x > 0.5 for x in alphas]
        out[f"flicker_iou{tag}"] = round(float(np.mean([mask_iou(masks[i], masks[i + 1]) for i in range(a, b - 1)])), 4)
        out[f"mask_iou_moving{tag}"] = round(float(np.mean([mask_iou(masks[i], ref[i] > 0.5) for i in moving])), 4)
    ref_masks = [r > 0.5 for r in ref]
    out["flicker_iou_mediapipe"] = round(float(np.mean([mask_iou(ref_masks[i], ref_masks[i + 1])
                                                        for i in range(a, b - 1)])), 4)
    progress(f"still frames {a}..{b}: consecutive-mask IoU ours {out['flicker_iou']:.4f}, without smoothing "
             f"{out['flicker_iou_no_smoothing']:.4f}, mediapipe {out['flicker_iou_mediapipe']:.4f}")
    return out


def _halos(mp, clip, images, progress, out_dir: Path | None) -> dict:
    settings = BackgroundSettings()
    frames = clip[::8] + list(images)
    ref = [_reference(mp, [f], "landscape")[0] > 0.5 for f in frames]
    widths: dict[str, list[int]] = {"naive": [], "raw": [], "ours": []}
    for i, (frame, r) in enumerate(zip(frames, ref)):
        sigma = settings.blur * frame.shape[0] / 720
        raw_effect = Background(settings.model_copy(update={"refine": False}))
        raw, ours = raw_effect.process(frame, None), Background(settings).process(frame, None)
        naive = _naive_blur(frame, raw_effect.prob, sigma)
        for tag, comp in (("naive", naive), ("raw", raw), ("ours", ours)):
            widths[tag].append(_halo(comp, frame, r, sigma))
        if out_dir is not None and i in (3, len(frames) - 3):
            write_image(out_dir / f"background_blur_{i}.png", np.hstack([naive, raw, ours]))
    out = {f"halo_px_{k}": round(float(np.mean(v)), 2) for k, v in widths.items()}
    progress(f"halo (px bands off the ideal blur): plain blur {out['halo_px_naive']}, ours unrefined "
             f"{out['halo_px_raw']}, ours {out['halo_px_ours']}")
    return out


def _no_person(progress) -> dict:
    frames = _frames("no_face.mp4")[::4]
    _, alphas = _run(BackgroundSettings(), frames)
    area = float(np.mean([(a > 0.5).mean() for a in alphas])) * 100
    progress(f"no_face.mp4: person area {area:.2f} %")
    return {"person_area_pct_no_face": round(area, 3)}


def _composites(clip, out_dir: Path) -> None:
    frame = clip[40]
    rows = []
    for options in ({"mode": "blur"}, {"mode": "replace", "image": str(sample("no_face.mp4"))},
                    {"mode": "color", "color": (200, 80, 0)}, {"mode": "foreground"}):
        outs, _ = _run(BackgroundSettings(**options), clip[:41])
        rows.append(outs[-1])
    write_image(out_dir / "background_modes.png", np.vstack([np.hstack([frame, rows[0]]), np.hstack(rows[1:3]),
                                                              np.hstack([rows[3], np.zeros_like(frame)])]))
    crops = []
    for refine in (False, True):
        outs, _ = _run(BackgroundSettings(mode="color", color=(200, 80, 0), refine=refine), clip[:41])
        crops.append(outs[-1][10:170, 180:400])
    write_image(out_dir / "background_edges.png", cv2.resize(np.hstack(crops), None, fx=2, fy=2,
                                                             interpolation=cv2.INTER_NEAREST))


def run(progress=print, out_dir: Path | None = None) -> dict:
    mp = mediapipe()
    clip = _frames(DEMO_CLIP)
    images = [read_image(sample(n)) for n in IMAGES]
    result: dict = {"name": "background"}
    result.update(_mask_scores(mp, clip, images, progress))
    result.update(_temporal(mp, clip, progress))
    result.update(_halos(mp, clip, images, progress, out_dir))
    result.update(_no_person(progress))
    if out_dir is not None:
        _composites(clip, out_dir)
    return result
