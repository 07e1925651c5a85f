"""`deepzoom eval background`: our person mask and composites against MediaPipe's own SelfieSegmentation.

- mask: IoU and boundary F-measure (DAVIS tolerance) of our alpha > 0.5 against MediaPipe's mask > 0.5 at its
  resolution (the input's), for the landscape and general models, with and without our edge refinement, on the
  sample clip (72 frames) and the portraits; `person_area_pct_no_face` on the clip without people;
- flicker: mean IoU between consecutive masks on the clip's stillest segment (with / without our temporal
  smoothing, and MediaPipe's), and IoU against MediaPipe on the moving frames (smoothing must not ghost);
- known matte (`known_*`, `halo_px_*`, `edge_error_*`): synthetic composites whose truth is known exactly. A
  person picture is cut out with a matte from another network (MediaPipe's BlazePose segmentation, not the
  selfie segmentation our model and the reference share) and pasted onto known backgrounds (two frames of the
  sky clip, generated shelves), large (the canvas height, 1280x720) and small (TINY_PX tall). Masks: IoU /
  boundary F of alpha > 0.5 against the matte > 0.5 (ours, unrefined, MediaPipe's). Blur mode: the ideal result
  is computable from the layers (matte x person + (1 - matte) x Gaussian blur of the whole known background);
  `halo_px_*` counts the 1-px bands within HALO_RANGE either side of the true edge whose mean error exceeds
  HALO_TOLERANCE grey levels, `edge_error_*` is the mean error over those bands, for a plain blur of the whole
  frame under a bilinear mask (`naive`), ours without edge refinement (`raw`), ours.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

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


def _halo(composite: np.ndarray, ideal: np.ndarray, person: np.ndarray) -> tuple[int, float]:
    """1-px bands within HALO_RANGE of the true edge (either side) where the composite's mean error against the
    ideal result exceeds HALO_TOLERANCE, and the mean error (grey levels) over those 2 x HALO_RANGE px."""
    d_out, d_in = _distances(person)
    err = np.abs(composite.astype(np.float32) - ideal).mean(2)
    bands, near = 0, []
    for dist in (d_out, d_in):
        band = np.minimum(np.ceil(dist), HALO_RANGE + 1).astype(np.int32)
        sums = np.bincount(band.ravel(), err.ravel(), HALO_RANGE + 2)
        counts = np.bincount(band.ravel(), minlength=HALO_RANGE + 2)
        means = sums[1:HALO_RANGE + 1] / np.maximum(counts[1:HALO_RANGE + 1], 1)
        bands += int((means > HALO_TOLERANCE).sum())
        near.append(err[(band >= 1) & (band <= HALO_RANGE)])
    return bands, float(np.concatenate(near).mean())


# ---- synthetic composites with a known matte (the independent reference) ----------------------------------
CANVAS = (1280, 720)
PEOPLE = (("single_face.mp4", 0), ("single_face.mp4", 40), ("single_face.jpg", None), ("grace_hopper.jpg", None),
          ("astronaut.png", None))
TINY_PX = 86  # person height pasted for the small-person scenes (720p)


def _person_picture(name: str, frame: int | None) -> np.ndarray:
    if frame is None:
        return read_image(sample(name))
    return _frames(name)[frame]


def known_matte(mp, picture: np.ndarray) -> np.ndarray:
    """The person's matte from another segmenter: MediaPipe's BlazePose (pose_landmark_full, its segmentation
    output; a different network from the selfie segmentation our model and the reference come from)."""
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=True) as pose:
        res = pose.process(cv2.cvtColor(picture, cv2.COLOR_BGR2RGB))
    if res.segmentation_mask is None:
        raise RuntimeError("BlazePose found no person")
    return np.clip(res.segmentation_mask, 0, 1).astype(np.float32)


def shelves(seed: int = 7) -> np.ndarray:
    """A known, busy background: shelves of coloured boxes (hard, high-contrast edges a blur must not smear onto
    the person), with a little grain."""
    rng = np.random.default_rng(seed)
    w, h = CANVAS
    img = np.full((h, w, 3), (60, 80, 100), np.float32)
    for y0 in range(0, h, 120):
        img[y0 + 110:y0 + 120] = (30, 40, 55)
        x = int(rng.integers(0, 30))
        while x < w:
            bw = int(rng.integers(20, 90))
            top = y0 + int(rng.integers(10, 60))
            img[top:y0 + 110, x:x + bw] = rng.integers(20, 250, 3)
            x += bw + int(rng.integers(2, 25))
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def backgrounds() -> list[np.ndarray]:
    """Two frames of the sky clip (no person) and the shelves, all at CANVAS size."""
    sky = _frames("no_face.mp4")
    return [cv2.resize(sky[0], CANVAS, interpolation=cv2.INTER_CUBIC),
            cv2.resize(sky[len(sky) // 2], CANVAS, interpolation=cv2.INTER_CUBIC), shelves()]


def paste(person: np.ndarray, matte: np.ndarray, background: np.ndarray, height: int,
          x_centre: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person picture scaled to `height` px, bottom-aligned at x_centre of the background; returns the composite
    (uint8), the alpha over the canvas and the foreground layer (float32)."""
    h, w = background.shape[:2]
    s = height / person.shape[0]
    fg = cv2.resize(person, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    a = np.clip(cv2.resize(matte, fg.shape[1::-1], interpolation=cv2.INTER_LINEAR), 0, 1)
    ph, pw = fg.shape[:2]
    x0 = int(round(x_centre * w - pw / 2))
    cx0, cx1 = max(x0, 0), min(x0 + pw, w)  # the part of the picture that fits the canvas
    alpha = np.zeros((h, w), np.float32)
    layer = np.zeros((h, w, 3), np.float32)
    alpha[h - ph:, cx0:cx1] = a[:, cx0 - x0:cx1 - x0]
    layer[h - ph:, cx0:cx1] = fg[:, cx0 - x0:cx1 - x0]
    comp = alpha[..., None] * layer + (1 - alpha[..., None]) * background.astype(np.float32)
    return np.clip(np.round(comp), 0, 255).astype(np.uint8), alpha, layer


def ideal_blur(alpha: np.ndarray, layer: np.ndarray, background: np.ndarray, sigma: float) -> np.ndarray:
    """What background blur should give, from the known layers: the person as is over the blurred background
    (which is known behind the person too)."""
    blurred = cv2.GaussianBlur(background.astype(np.float32), (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return alpha[..., None] * layer + (1 - alpha[..., None]) * blurred


def scenes(mp, people=PEOPLE, tiny: bool = True):
    """(name, composite, alpha, ideal-blur input: layer and background): every person large (the canvas height)
    over every background, and small (TINY_PX) over the sky and the shelves."""
    bgs = backgrounds()
    for name, frame in people:
        picture = _person_picture(name, frame)
        matte = known_matte(mp, picture)
        tag = Path(name).stem + ("" if frame is None else f"#{frame}")
        for k, bg in enumerate(bgs):
            comp, alpha, layer = paste(picture, matte, bg, CANVAS[1])
            yield f"{tag}_bg{k}", comp, alpha, layer, bg
        if tiny:
            for k in (0, 2):
                comp, alpha, layer = paste(picture, matte, bgs[k], TINY_PX, x_centre=0.4)
                yield f"{tag}_bg{k}_tiny", comp, alpha, layer, bgs[k]


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


def _synthetic(mp, progress, out_dir: Path | None, people=PEOPLE, tiny: bool = True) -> dict:
    """Masks and blur-mode composites on the synthetic scenes, against the known matte and the exact ideal."""
    settings = BackgroundSettings()
    sigma = settings.blur * CANVAS[1] / 720
    acc: dict[str, list[float]] = {}
    for i, (name, comp, alpha, layer, bg) in enumerate(scenes(mp, people, tiny)):
        truth = alpha > 0.5
        raw_effect = Background(settings.model_copy(update={"refine": False}))
        raw = raw_effect.process(comp, None)
        effect = Background(settings)
        ours = effect.process(comp, None)
        ref = _reference(mp, [comp], "landscape")[0]
        small = name.endswith("_tiny")
        key = "_tiny" if small else ""
        for tag, mask in (("", effect.alpha), ("_raw", raw_effect.alpha), ("_mediapipe", ref)):
            acc.setdefault(f"known_iou{tag}{key}", []).append(mask_iou(mask > 0.5, truth))
            if not small:
                acc.setdefault(f"known_boundary_f{tag}", []).append(boundary_f(mask > 0.5, truth))
        if not small:
            ideal = ideal_blur(alpha, layer, bg, sigma)
            naive = _naive_blur(comp, raw_effect.prob, sigma)
            for tag, out in (("naive", naive), ("raw", raw), ("ours", ours)):
                bands, err = _halo(out, ideal, truth)
                acc.setdefault(f"halo_px_{tag}", []).append(bands)
                acc.setdefault(f"edge_error_{tag}", []).append(err)
            if out_dir is not None and i in (0, 9):
                write_image(out_dir / f"background_known_{i}.png",
                            np.vstack([np.hstack([comp, np.clip(ideal, 0, 255).astype(np.uint8)]),
                                       np.hstack([naive, ours])]))
        progress(f"{name}: IoU against the known matte ours {acc[f'known_iou{key}'][-1]:.4f}, "
                 f"mediapipe {acc[f'known_iou_mediapipe{key}'][-1]:.4f}"
                 + ("" if small else f"; halo bands plain/raw/ours {acc['halo_px_naive'][-1]}/"
                    f"{acc['halo_px_raw'][-1]}/{acc['halo_px_ours'][-1]}"))
    out = {k: round(float(np.mean(v)), 2 if k.startswith(("halo", "edge")) else 4) for k, v in acc.items()}
    out["known_iou_tiny_min"] = round(float(np.min(acc["known_iou_tiny"])), 4) if tiny else None
    out["known_scenes"] = len(acc["known_iou"])
    progress(f"synthetic scenes (known matte): halo bands plain blur {out['halo_px_naive']}, ours unrefined "
             f"{out['halo_px_raw']}, ours {out['halo_px_ours']}; edge error {out['edge_error_naive']} / "
             f"{out['edge_error_raw']} / {out['edge_error_ours']} grey levels")
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
    result.update(_synthetic(mp, progress, out_dir))
    result.update(_no_person(progress))
    if out_dir is not None:
        _composites(clip, out_dir)
    return result
