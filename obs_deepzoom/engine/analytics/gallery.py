"""Enrolled faces: a folder the user owns (nothing else is ever stored). One `NAME.npy` of unit embeddings per
person plus `gallery.json` (names, how many pictures, when); written atomically, so a crash loses nothing."""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import DeepZoomError

NAME_RE = re.compile(r"^[\w][\w .'-]{0,63}$")
INDEX = "gallery.json"


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


def _file(name: str) -> str:
    return name.replace(" ", "_") + ".npy"


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
        if not isinstance(data, dict):
            raise DeepZoomError(f"the face gallery index {p} is not a JSON object; remove it to start over")
        return data

    def people(self) -> list[Person]:
        return [Person(n, int(v["pictures"]), str(v["enrolled"])) for n, v in sorted(self._index().items())]

    def enroll(self, name: str, embeddings: np.ndarray) -> Person:
        """Add `embeddings` (k x D unit vectors) to `name` (created if new)."""
        if not NAME_RE.match(name) or name.strip() != name:
            raise DeepZoomError(f"'{name}' is not a usable name (letters, digits, spaces, . ' - and _; at most 64)")
        e = np.atleast_2d(np.asarray(embeddings, np.float32))
        if e.shape[0] == 0:
            raise DeepZoomError(f"nothing to enrol for {name}")
        self.folder.mkdir(parents=True, exist_ok=True)
        index = self._index()
        old = self.embeddings(name) if name in index else np.zeros((0, e.shape[1]), np.float32)
        if old.shape[1] != e.shape[1]:
            raise DeepZoomError(f"{name} was enrolled with another face model ({old.shape[1]}-D embeddings)")
        both = np.concatenate([old, e])
        _atomic_write(self.folder / _file(name), lambda f: np.save(f, both))
        index[name] = {"pictures": int(both.shape[0]), "enrolled": time.strftime("%Y-%m-%dT%H:%M:%S")}
        _atomic_write(self.folder / INDEX, lambda f: f.write(json.dumps(index, indent=1).encode()))
        return Person(name, both.shape[0], index[name]["enrolled"])

    def remove(self, name: str) -> None:
        index = self._index()
        if name not in index:
            raise DeepZoomError(f"nobody called '{name}' is enrolled in {self.folder}")
        del index[name]
        _atomic_write(self.folder / INDEX, lambda f: f.write(json.dumps(index, indent=1).encode()))
        (self.folder / _file(name)).unlink(missing_ok=True)

    def embeddings(self, name: str) -> np.ndarray:
        p = self.folder / _file(name)
        try:
            e = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DeepZoomError(f"the embeddings of {name} ({p}) are unreadable ({exc}); enrol again") from exc
        if e.ndim != 2:
            raise DeepZoomError(f"the embeddings of {name} ({p}) have shape {e.shape}; enrol again")
        return e.astype(np.float32)

    def loaded(self) -> dict[str, np.ndarray]:
        return {p.name: self.embeddings(p.name) for p in self.people()}


def match(embedding: np.ndarray, people: dict[str, np.ndarray], threshold: float) -> Match:
    """The enrolled person nearest to `embedding` (distance to their nearest picture), if within `threshold`."""
    best, dist = None, float("inf")
    for name, e in people.items():
        d = float(np.min(np.linalg.norm(e - embedding, axis=1)))
        if d < dist:
            best, dist = name, d
    return Match(best if dist < threshold else None, dist, best)
