"""Labelled face pictures for the analytics evaluation, read out of pinned package archives (never committed):

- `johns`: dlib 19.5.0's example folder `examples/johns` (its sdist): 5 men called John, 11 aligned 150 px
  crops each (the set dlib's own face-clustering example uses). The tune set: the verification threshold is
  chosen here.
- `held_out`: face_recognition 1.3.0's test pictures (its sdist): three photos of Barack Obama, one of Joe
  Biden. Never used to choose anything.

The archives are pinned by sha256 (so is every byte in them); files are extracted once into the data dir."""

from __future__ import annotations

import tarfile
from pathlib import Path, PurePosixPath

from .. import paths
from ..downloads import download
from ..errors import DeepZoomError

SETS = {  # name: (package, archive sha256, folder in the archive, files or None for every .jpg under it)
    "johns": ("dlib==19.5.0", "b5896c7a51992441eac605395e07f2b31548376cadc1f392d93f69c821e6552e",
              "dlib-19.5.0/docs/docs/cache/examples/johns", None),
    "held_out": ("face-recognition==1.3.0", "5e5efdd1686aa566af0d3cc1313b131e4b197657a8ffd03669e6d3fad92705ec",
                 "face_recognition-1.3.0/tests/test_images", ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")),
}
# who is in each held-out picture (the file names say it)
HELD_OUT_PEOPLE = {"obama.jpg": "Barack_Obama", "obama2.jpg": "Barack_Obama", "obama3.jpg": "Barack_Obama",
                   "biden.jpg": "Joe_Biden"}


def _dir(name: str) -> Path:
    return paths.data_dir() / "faces_eval" / name


def fetch(name: str) -> list[Path]:
    """The set's pictures, extracted once from the pinned archive (only regular .jpg files, names checked)."""
    spec, sha, folder, files = SETS[name]
    out = _dir(name)
    done = out / ".complete"
    if not done.is_file():
        archive = download(spec, "sdist", sha)
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as t:
            for m in t.getmembers():
                rel = PurePosixPath(m.name).relative_to(folder) if m.name.startswith(folder + "/") else None
                if rel is None or not m.isfile() or rel.suffix.lower() != ".jpg" or ".." in rel.parts:
                    continue
                if files is not None and str(rel) not in files:
                    continue
                dest = out.joinpath(*rel.parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(t.extractfile(m).read())
        done.write_text("ok")
    found = sorted(p for p in out.rglob("*.jpg"))
    if not found:
        raise DeepZoomError(f"no pictures for the face set '{name}' in {out}")
    return found


def labelled(name: str) -> list[tuple[str, Path]]:
    """(person, picture) pairs of a set."""
    pics = fetch(name)
    if name == "johns":
        return [(p.parent.name, p) for p in pics]
    return [(HELD_OUT_PEOPLE[p.name], p) for p in pics]
