"""Identity clustering as it happens live: labelled pictures shown one after another as a video (a "slideshow"
of people walking in and out of view), the face tracker and `FaceAnalyzer` on every frame with an empty
gallery, so every label is an `unknown-N` the session made up. Then: how many labels it made against how many
people were shown, and how pure they are.

- A shot: one picture around its largest face, scaled so the face is a third of the frame's height, centred
  on a grey 1280x720 canvas, for `SHOT_S` seconds; between shots `GAP_S` seconds of empty canvas (longer than
  `relink_s`, so a new person is a new track, as when one leaves and another sits down). The order is a fixed
  shuffle: a person comes back several times, in consecutive shots only by chance.
- What it does not test: a shot is one still picture repeated (no motion, pose change or blur within it);
  one face at a time (never two people in view together); the gaps are longer than `relink_s`, so the
  tracker's relinking of a briefly lost face is not exercised here (tests/test_analytics.py does that).
- Scored frames: every frame whose face has a label. **Purity**: the share of them whose label's most common
  person is the person shown (labels that mix people lower it). **Completeness**: the share of them whose
  person's most common label is the label given (a person split over labels lowers it). Also per shot: the
  label the shot ended with."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from ..engine.analytics.analyzer import FaceAnalyzer
from ..engine.analytics.still import StillFaces
from ..engine.face import FaceTracker
from ..errors import InputError
from ..media import read_image
from ..settings import AnalyticsSettings, FaceTrackingSettings

SIZE = (1280, 720)
FPS = 10.0
SHOT_S = 2.0
GAP_S = 2.0
SEED = 7
GREY = 110  # the canvas


def _shot(img: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    """The picture's surroundings of its face (`box`: x, y, w, h) on the canvas, the face 240 px tall."""
    w, h = SIZE
    x, y, bw, bh = box
    cx, cy, r = x + bw / 2, y + bh / 2, 1.5 * max(bw, bh)
    x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
    img = img[y0:int(cy + r), x0:int(cx + r)]
    scale = min(240.0 / bh, 0.9 * h / img.shape[0], 0.9 * w / img.shape[1])
    pic = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    canvas = np.full((h, w, 3), GREY, np.uint8)
    y, x = (h - pic.shape[0]) // 2, (w - pic.shape[1]) // 2
    canvas[y:y + pic.shape[0], x:x + pic.shape[1]] = pic
    return canvas


def order(people: list[str], seed: int = SEED) -> list[int]:
    """A fixed shuffle of the pictures' indices."""
    return list(np.random.default_rng(seed).permutation(len(people)))


def score(shown: list[str], labels: list[str]) -> dict:
    """Purity and completeness of (person shown, label given) per scored frame."""
    if not shown:
        return {"purity": float("nan"), "completeness": float("nan"), "scored_frames": 0}
    pairs = Counter(zip(labels, shown))
    by_label: dict[str, Counter] = {}
    by_person: dict[str, Counter] = {}
    for (label, person), n in pairs.items():
        by_label.setdefault(label, Counter())[person] += n
        by_person.setdefault(person, Counter())[label] += n
    n = len(shown)
    return {"purity": round(sum(c.most_common(1)[0][1] for c in by_label.values()) / n, 4),
            "completeness": round(sum(c.most_common(1)[0][1] for c in by_person.values()) / n, 4),
            "scored_frames": n}


def run_clip(items: list[tuple[str, Path]], settings: AnalyticsSettings | None = None, progress=print) -> dict:
    """`items`: (person, picture); each picture's largest face is the one shown."""
    s = (settings or AnalyticsSettings()).model_copy(update={"attributes": False, "expressions": False})
    tracker = FaceTracker(FaceTrackingSettings(max_faces=1))
    still = StillFaces()
    analyzer = FaceAnalyzer(s, people={})
    blank = np.full((SIZE[1], SIZE[0], 3), GREY, np.uint8)
    people = [p for p, _ in items]
    shown, labels, shot_labels, t, missed = [], [], [], 0.0, 0
    idx = order(people)
    for k, i in enumerate(idx):
        img = read_image(items[i][1])
        faces = still(img)
        if not faces:
            raise InputError(f"{items[i][1]}: no face found for the clustering clip")
        frame = _shot(img, faces[0].box)
        last = None
        for _ in range(int(SHOT_S * FPS)):
            recs = analyzer.process(frame, tracker.process(frame, t), t)
            if recs and recs[0].identity is not None:
                shown.append(people[i])
                labels.append(recs[0].identity)
                last = recs[0].identity
            t += 1 / FPS
        missed += last is None
        shot_labels.append((people[i], last))
        for _ in range(int(GAP_S * FPS)):
            analyzer.process(blank, tracker.process(blank, t), t)
            t += 1 / FPS
        if (k + 1) % 10 == 0:
            progress(f"  {k + 1}/{len(idx)} shots")
    out = {"people": len(set(people)), "shots": len(idx), "identities_found": len(set(labels)),
           "shots_unlabelled": missed, **score(shown, labels)}
    end = score([p for p, lab in shot_labels if lab], [lab for _, lab in shot_labels if lab])
    out["shot_purity"], out["shot_completeness"] = end["purity"], end["completeness"]
    return out
