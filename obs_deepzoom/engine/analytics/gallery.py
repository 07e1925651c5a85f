"""Enrolled faces: a folder the user owns (nothing else is ever stored). One `person-N.npy` of unit embeddings
per person plus `gallery.json` (name -> file, how many pictures, when); written atomically, so a crash loses
nothing. Files are named by number, not by name, so no two names can ever share a file."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import paths
from ...errors import DeepZoomError

NAME_RE = re.compile(r"^[\w][\w .'-]{0,63}$")
INDEX = "gallery.json"

EMBED_DIM = 128  # what models.FaceEmbedder (SFace) makes; a gallery enrolled with another model is refused


@dataclass(frozen=True)
class Person:
    name: str
    pictures: int
    enrolled: str  # ISO time of the last enrolment


@dataclass(frozen=True)
class Match:
    name: str | None  # None: nobody enrolled is close enough
    distance: float  # to the nearest enrolled person (inf when the gallery is empty)
    nearest: str | None  # that person, close enough or not


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class Gallery:
    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def _index(self) -> dict:
        p = self.folder / INDEX
        if not p.is_file():
            return {}
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise DeepZoomError(f"the face gallery index {p} is unreadable ({e}); remove it to start over") from e
        ok = isinstance(data, dict) and all(
            isinstance(v, dict) and isinstance(v.get("pictures"), int) and isinstance(v.get("file"), str)
            and re.fullmatch(r"person-\d+\.npy", v["file"]) for v in data.values())
        if not ok:
            raise DeepZoomError(f"the face gallery index {p} is not one this version wrote; remove it to start over")
        return data

    def _write_index(self, index: dict) -> None:
        _atomic_write(self.folder / INDEX, lambda f: f.write(json.dumps(index, indent=1).encode()))

    def people(self) -> list[Person]:
        return [Person(n, v["pictures"], str(v.get("enrolled", ""))) for n, v in sorted(self._index().items())]

    def enroll(self, name: str, embeddings: np.ndarray) -> Person:
        """Add `embeddings` (k x D unit vectors) to `name` (created if new; a person whose file was lost starts
        over with these)."""
        if not NAME_RE.match(name) or name.strip() != name:
            raise DeepZoomError(f"'{name}' is not a usable name (letters, digits, spaces, . ' - and _; at most 64)")
        e = np.atleast_2d(np.asarray(embeddings, np.float32))
        if e.shape[0] == 0:
            raise DeepZoomError(f"nothing to enrol for {name}")
        self.folder.mkdir(parents=True, exist_ok=True)
        index = self._index()
        clash = [n for n in index if n != name and n.casefold() == name.casefold()]
        if clash:
            raise DeepZoomError(f"'{name}' differs from the enrolled '{clash[0]}' only in case; use that name")
        entry = index.get(name)
        if entry is None:
            used = {v["file"] for v in index.values()}
            entry = {"file": next(f"person-{i}.npy" for i in range(1, len(used) + 2) if f"person-{i}.npy" not in used)}
        path = self.folder / entry["file"]
        old = self._load(name, path) if path.is_file() else np.zeros((0, e.shape[1]), np.float32)
        if old.shape[1] != e.shape[1]:
            raise DeepZoomError(_other_model([name], old.shape[1], e.shape[1]))
        both = np.concatenate([old, e])
        _atomic_write(path, lambda f: np.save(f, both))
        index[name] = {**entry, "pictures": int(both.shape[0]), "enrolled": time.strftime("%Y-%m-%dT%H:%M:%S")}
        self._write_index(index)
        return Person(name, both.shape[0], index[name]["enrolled"])

    def remove(self, name: str) -> None:
        index = self._index()
        if name not in index:
            raise DeepZoomError(f"nobody called '{name}' is enrolled in {self.folder}")
        entry = index.pop(name)
        self._write_index(index)
        (self.folder / entry["file"]).unlink(missing_ok=True)

    def _load(self, name: str, path: Path) -> np.ndarray:
        try:
            e = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DeepZoomError(f"the embeddings of {name} ({path}) are unreadable ({exc}); "
                                f"`deepzoom faces remove \"{name}\"` and enrol again") from exc
        if e.ndim != 2:
            raise DeepZoomError(f"the embeddings of {name} ({path}) have shape {e.shape}; remove and enrol again")
        return e.astype(np.float32)

    def embeddings(self, name: str) -> np.ndarray:
        index = self._index()
        if name not in index:
            raise DeepZoomError(f"nobody called '{name}' is enrolled in {self.folder}")
        path = self.folder / index[name]["file"]
        if not path.is_file():
            raise DeepZoomError(f"the embeddings of {name} ({path}) are missing; enrol {name} again")
        return self._load(name, path)

    def usable(self, dim: int) -> tuple[dict[str, np.ndarray], str | None]:
        """The embeddings of everyone enrolled with the face model in use (`dim`-D), and a message naming
        those enrolled with another model (None when there are none)."""
        out = {p.name: self.embeddings(p.name) for p in self.people()}
        other = {n: e.shape[1] for n, e in out.items() if e.shape[1] != dim}
        if not other:
            return out, None
        return ({n: e for n, e in out.items() if n not in other},
                _other_model(sorted(other), next(iter(other.values())), dim))

    def loaded(self, dim: int | None = None) -> dict[str, np.ndarray]:
        """Everyone's embeddings; `dim`: the size the face model in use makes (anyone enrolled with another
        model is an error that names them all and says what to do)."""
        if dim is None:
            return {p.name: self.embeddings(p.name) for p in self.people()}
        out, other = self.usable(dim)
        if other:
            raise DeepZoomError(other)
        return out


def _other_model(names: list[str], had: int, wanted: int) -> str:
    quoted = " ".join(f'"{n}"' for n in names)
    return (f"{', '.join(names)} {'was' if len(names) == 1 else 'were'} enrolled with another face model "
            f"({had}-D embeddings, this version makes {wanted}-D): `deepzoom faces remove` each "
            f"({quoted}) and enrol again")


def match(embedding: np.ndarray, people: dict[str, np.ndarray], threshold: float) -> Match:
    """The enrolled person nearest to `embedding` (distance to their nearest picture), if within `threshold`."""
    best, dist = None, float("inf")
    for name, e in people.items():
        d = float(np.min(np.linalg.norm(e - embedding, axis=1)))
        if d < dist:
            best, dist = name, d
    return Match(best if dist < threshold else None, dist, best)


def gallery_folder(setting: str) -> Path:
    """The gallery a setting names (analytics.gallery), else the default folder ($DEEPZOOM_GALLERY or
    ~/.local/share/obs-deepzoom/faces)."""
    return Path(setting) if setting else paths.gallery_dir()
