"""`deepzoom eval analytics`: face verification, identity clustering (analytics_clusters) and apparent gender,
against dlib's face recognition (the descriptor users know from the face_recognition package) in the same run.

Verification: every pair of pictures of a set, same person or not. ROC AUC needs no threshold. Accuracy is
*balanced* (the mean of the same-pair and different-pair accuracies: the sets hold far more different pairs)
at a threshold chosen by a fixed rule (`choose_threshold`: the midpoint of the widest best range). On the tune
set (`johns`) it is measured by leave-one-person-out: for each person, the threshold is chosen on the pairs
without them and scored on the pairs with them; the shipped default (`AnalyticsSettings.threshold`) is the
rule applied to every johns pair, and is then scored once on the held-out sets: face_recognition's four
pictures, and the AT&T/ORL faces (40 people, 10 pictures each: the headline `verify_*` keys). dlib gets the
same treatment, plus its own documented threshold 0.6. Expressions: CK+ frames (`expression_accuracy`).

Caveats, also in docs/analytics.md: the johns are dlib's own example pictures (its network may have seen
them); ORL's pictures are small (92x112) and greyscale; gender labels are ours: the verification
sets' people are all men (by their names), the sample portraits (5 women, 4 men) and the CK+ people (8 women,
2 men) labelled by eye; gender accuracy is balanced (the mean of the per-class accuracies) and per class; no
age-labelled faces exist in the packages, so age is not scored."""

from __future__ import annotations

import itertools
import time

import numpy as np

from ..engine.analytics.models import EXPRESSIONS, ExpressionEstimator, FaceEmbedder, GenderEstimator
from ..engine.analytics.still import StillFaces
from ..media import read_image
from ..samples import sample
from ..settings import AnalyticsSettings
from . import analytics_clusters, face_data

DLIB_THRESHOLD = 0.6
# the CK+ people's apparent genders, labelled by us by eye on their frames
CKPLUS_GENDER = {"S052": "female", "S055": "female", "S074": "female", "S106": "female", "S111": "female",
                 "S113": "male", "S124": "female", "S125": "female", "S130": "female", "S132": "male"}
CLUSTER_PEOPLE, CLUSTER_PICTURES = 20, 3  # the ORL clustering clip: 60 shots
# the sample portraits, labelled by us by eye: (label, approximate face centre in pixels or None for the only face)
GENDER_LABELS = {
    "grace_hopper.jpg": [("female", None)], "astronaut.png": [("female", None)], "single_face.jpg": [("male", None)],
    "multi_face.jpg": [("male", (262, 130)), ("male", (477, 265)), ("female", (363, 302)), ("female", (581, 377)),
                       ("female", (739, 362))],
}


def roc_auc(same: np.ndarray, diff: np.ndarray) -> float:
    """P(a same-person distance < a different-person distance), ties counting half (Mann-Whitney)."""
    if len(same) == 0 or len(diff) == 0:
        return float("nan")
    d = np.concatenate([same, diff])
    order = d.argsort(kind="mergesort")
    ranks = np.empty(len(d))
    sorted_d = d[order]
    i = 0
    while i < len(d):  # average ranks over ties
        j = i
        while j + 1 < len(d) and sorted_d[j + 1] == sorted_d[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    r_same = ranks[: len(same)].sum()
    u = r_same - len(same) * (len(same) + 1) / 2  # same-pair distances ranked above different ones
    return float(1.0 - u / (len(same) * len(diff)))


def balanced_accuracy(same: np.ndarray, diff: np.ndarray, threshold: float) -> float:
    return float((np.mean(same < threshold) + np.mean(diff >= threshold)) / 2)


def choose_threshold(same: np.ndarray, diff: np.ndarray) -> float:
    """The rule, fixed before any figure was seen: among the cut points between sorted distances, those with the
    best balanced accuracy; of those, the middle of the widest gap."""
    cuts = np.unique(np.concatenate([same, diff]))
    mids = np.concatenate([[cuts[0] - 1e-3], (cuts[1:] + cuts[:-1]) / 2, [cuts[-1] + 1e-3]])
    acc = np.array([balanced_accuracy(same, diff, t) for t in mids])
    best = np.flatnonzero(acc >= acc.max() - 1e-12)
    gaps = [(cuts[min(i, len(cuts) - 1)] - cuts[max(i - 1, 0)], i) for i in best]
    return float(mids[max(gaps)[1]])


def _labelled_faces(path, labels, still: StillFaces, gender: GenderEstimator) -> list[tuple[str, str | None]]:
    """(label, the network's answer or None when no face was found there) per labelled face of a picture."""
    found = still(read_image(path))
    out = []
    for label, centre in labels:
        if centre is None:
            f = found[0] if found else None
        else:
            near = [f for f in found if np.hypot(f.box[0] + f.box[2] / 2 - centre[0],
                                                 f.box[1] + f.box[3] / 2 - centre[1]) < 60]
            f = near[0] if near else None
        out.append((label, None if f is None else
                    ("female" if gender(f.picture, f.face.landmarks) >= 0.5 else "male")))
    return out


def expression_accuracy(still: StillFaces, progress=print) -> dict:
    """The expression network on CK+ frames (face_data.expressions): accuracy over every face, per class, and
    balanced (the mean over the classes present; only one disgust face, no fear or sad)."""
    net = ExpressionEstimator()
    hits: dict[str, list[bool]] = {}
    confusions: dict[str, int] = {}
    missed = 0
    for label, path in face_data.expressions():
        found = still(read_image(path))
        if not found:
            missed += 1
            continue
        guess = EXPRESSIONS[int(np.argmax(net(found[0].picture, found[0].face.landmarks)))]
        hits.setdefault(label, []).append(guess == label)
        if guess != label:
            confusions[f"{label}->{guess}"] = confusions.get(f"{label}->{guess}", 0) + 1
    every = [h for hs in hits.values() for h in hs]
    out = {"expression_accuracy": round(float(np.mean(every)), 4),
           "expression_accuracy_balanced": round(float(np.mean([np.mean(h) for h in hits.values()])), 4),
           "expression_n": len(every), "expression_missed": missed, "expression_confusions": confusions}
    out.update({f"expression_accuracy_{k}": round(float(np.mean(h)), 4) for k, h in sorted(hits.items())})
    out.update({f"expression_n_{k}": len(h) for k, h in sorted(hits.items())})
    progress(f"expressions (CK+): {int(np.sum(every))} of {len(every)} right, balanced "
             f"{out['expression_accuracy_balanced']}")
    return out


def _pairs(people: list[str], vectors: list[np.ndarray | None]) -> tuple[list, list]:
    same, diff = [], []
    for i, j in itertools.combinations(range(len(people)), 2):
        if vectors[i] is None or vectors[j] is None:
            continue
        d = float(np.linalg.norm(vectors[i] - vectors[j]))
        (same if people[i] == people[j] else diff).append((people[i], people[j], d))
    return same, diff


def _dist(pairs, keep=lambda a, b: True) -> np.ndarray:
    return np.array([d for a, b, d in pairs if keep(a, b)])


def _leave_one_out(same, diff, people: list[str]) -> float:
    """Balanced accuracy over every person's pairs, each scored at a threshold chosen without that person."""
    hits_s, hits_d, n_s, n_d = 0, 0, 0, 0
    for k in sorted(set(people)):
        def without(a, b, k=k):
            return k not in (a, b)

        def with_(a, b, k=k):
            return k in (a, b)

        t = choose_threshold(_dist(same, without), _dist(diff, without))
        s, d = _dist(same, with_), _dist(diff, with_)
        hits_s, n_s = hits_s + int(np.sum(s < t)), n_s + len(s)
        hits_d, n_d = hits_d + int(np.sum(d >= t)), n_d + len(d)
    return (hits_s / max(n_s, 1) + hits_d / max(n_d, 1)) / 2


def _ours(items, still: StillFaces, embed: FaceEmbedder, gender: GenderEstimator | None = None):
    vecs, genders, ms = [], [], []
    for _, path in items:
        img = read_image(path)
        t = time.perf_counter()
        found = still(img)
        if found:
            f = found[0]
            vecs.append(embed(f.picture, f.face.landmarks))
            genders.append(None if gender is None else gender(f.picture, f.face.landmarks))
        else:
            vecs.append(None)
            genders.append(None)
        ms.append(1000 * (time.perf_counter() - t))
    return vecs, genders, ms


def _dlib(items, faces, whole: bool):
    vecs, ms = [], []
    for _, path in items:
        img = read_image(path)
        t = time.perf_counter()
        vecs.append(faces.descriptor(img, whole=whole))
        ms.append(1000 * (time.perf_counter() - t))
    return vecs, ms


def _verification(prefix: str, people, vecs, default: float | None, loo: bool) -> dict:
    same, diff = _pairs(people, vecs)
    s, d = _dist(same), _dist(diff)
    out = {f"{prefix}same_pairs": len(s), f"{prefix}different_pairs": len(d),
           f"{prefix}roc_auc": round(roc_auc(s, d), 4),
           f"{prefix}faces_found_pct": round(100 * float(np.mean([v is not None for v in vecs])), 1),
           f"{prefix}same_distance_median": round(float(np.median(s)), 4) if len(s) else float("nan"),
           f"{prefix}different_distance_median": round(float(np.median(d)), 4) if len(d) else float("nan")}
    if loo:
        out[f"{prefix}accuracy_leave_one_person_out"] = round(_leave_one_out(same, diff, people), 4)
        out[f"{prefix}threshold_chosen"] = round(choose_threshold(s, d), 4)
    if default is not None and len(s) and len(d):
        out[f"{prefix}accuracy_at_default"] = round(balanced_accuracy(s, d, default), 4)
    return out


def run(progress=print) -> dict:
    from ..reference import DlibFaces

    settings = AnalyticsSettings()
    still, embed, gender = StillFaces(), FaceEmbedder(), GenderEstimator()
    dlib = DlibFaces()
    res: dict = {"name": "analytics", "peer": dlib.name, "peer_kind": "outside",
                 "threshold_default": settings.threshold, "peer_threshold_default": DLIB_THRESHOLD}
    sets = {}
    for key, prefix, whole, loo in (("johns", "tune_", True, True), ("held_out", "", False, False),
                                    ("orl", "orl_", True, False), ("ckplus", "ckplus_", True, False)):
        items = face_data.labelled(key)
        people = [p for p, _ in items]
        progress(f"{key}: {len(items)} pictures of {len(set(people))} people")
        vecs, fem, ms = _ours(items, still, embed, gender if key in ("johns", "held_out") else None)
        dvecs, dms = _dlib(items, dlib, whole=whole)
        res.update(_verification(prefix, people, vecs, settings.threshold, loo=loo))
        res.update(_verification(f"{prefix}peer_", people, dvecs, DLIB_THRESHOLD, loo=loo))
        if key in ("johns", "held_out"):  # men by their names
            sets[key] = (fem, ms, dms)
    fem = [f for fs, _, _ in sets.values() for f in fs]
    ms = [x for _, m, _ in sets.values() for x in m]
    dms = [x for _, _, d in sets.values() for x in d]
    # the headline keys: the held-out CK+ people (nothing was chosen on them; ORL chose the network, johns the
    # threshold), threshold-free AUC and balanced accuracy at the shipped threshold (dlib: at its own 0.6)
    res["verify_auc"], res["peer_verify_auc"] = res["ckplus_roc_auc"], res["ckplus_peer_roc_auc"]
    res["verify_accuracy"] = res["ckplus_accuracy_at_default"]
    res["peer_verify_accuracy"] = res["ckplus_peer_accuracy_at_default"]

    # identity clustering: the sets as a live "slideshow" with an empty gallery (analytics_clusters); ORL: the
    # first CLUSTER_PICTURES pictures (1.pgm, 2.pgm, …) of its first CLUSTER_PEOPLE people (s1, s2, …)
    by_person: dict[str, list] = {}
    for person, path in face_data.labelled("orl"):
        by_person.setdefault(person, []).append((person, path))
    first = sorted(by_person, key=lambda p: int(p[1:]))[:CLUSTER_PEOPLE]  # s1, s2, … s20
    orl = [x for p in first for x in sorted(by_person[p], key=lambda x: int(x[1].stem))[:CLUSTER_PICTURES]]
    for key, prefix, items in (("johns", "clusters_tune_", face_data.labelled("johns")),
                               ("held_out", "clusters_", face_data.labelled("held_out")),
                               ("orl", "clusters_orl_", orl),
                               ("ckplus", "clusters_ckplus_", face_data.labelled("ckplus"))):
        progress(f"identity clustering: {key} as a clip ({len(items)} shots)")
        got = analytics_clusters.run_clip(items, settings, progress=lambda *_: None)
        res.update({f"{prefix}{k}": v for k, v in got.items()})

    res.update(expression_accuracy(still, progress))

    # apparent gender: every johns and held-out face is a man's; the sample portraits and the CK+ people (one
    # neutral frame each) labelled by us by eye
    truth = ["male"] * len(fem)
    guess = [None if f is None else ("female" if f >= 0.5 else "male") for f in fem]
    pictures = [(sample(name), labels) for name, labels in GENDER_LABELS.items()]
    pictures += [(path, [(CKPLUS_GENDER[path.name[:4]], None)]) for path in face_data.first_neutral_frames()]
    for path, labels in pictures:
        for label, found in _labelled_faces(path, labels, still, gender):
            truth.append(label)
            guess.append(found)
    scored = [(t, g) for t, g in zip(truth, guess) if g is not None]
    for cls in ("female", "male"):
        of = [g == t for t, g in scored if t == cls]
        res[f"gender_accuracy_{cls}"] = round(float(np.mean(of)), 4) if of else float("nan")
        res[f"gender_n_{cls}"] = len(of)
    res["gender_accuracy"] = round((res["gender_accuracy_female"] + res["gender_accuracy_male"]) / 2, 4)
    res["gender_missed"] = sum(g is None for g in guess)
    res["age_mae"] = "not measured: no age-labelled faces in the packages (docs/analytics.md)"
    res["ms_per_picture"] = round(float(np.median(ms)), 2)
    res["peer_ms_per_picture"] = round(float(np.median(dms)), 2)
    res["n"] = len(ms)
    progress(f"verification on CK+ (held out): AUC ours {res['verify_auc']} / dlib {res['peer_verify_auc']}; "
             f"balanced accuracy at the defaults {res['verify_accuracy']} / {res['peer_verify_accuracy']}; tune "
             f"set AUC {res['tune_roc_auc']} / {res['tune_peer_roc_auc']}")
    return res
