"""`deepzoom faces`: enrol, list, remove, verify and identify faces in still pictures, with the analytics
networks. The gallery holds only what the user enrols (embeddings, never pictures)."""

from __future__ import annotations

from pathlib import Path

from ..engine.analytics.gallery import EMBED_DIM, Gallery, match
from ..engine.analytics.still import MAX_FACES, StillFaces
from ..errors import InputError
from ..media import read_image
from ..settings import AnalyticsSettings


class FaceJobs:
    def __init__(self, gallery: Path, settings: AnalyticsSettings | None = None, progress=None):
        self.s = settings or AnalyticsSettings()
        self.gallery = Gallery(gallery)
        self.progress = progress or (lambda *_: None)
        self._still = self._embed = self._age = self._gender = None

    def _models(self):
        if self._still is None:
            from ..engine.analytics.models import AgeEstimator, FaceEmbedder, GenderEstimator

            self._still, self._embed = StillFaces(), FaceEmbedder()
            self._age, self._gender = AgeEstimator(), GenderEstimator()
        return self._still, self._embed

    def faces(self, path: Path):
        still, _ = self._models()
        return still(read_image(path))

    def one_face(self, path: Path, purpose: str, largest_ok: bool = False):
        found = self.faces(path)
        if not found:
            raise InputError(f"{path}: no face found")
        if len(found) > 1 and not largest_ok:
            raise InputError(f"{path}: {len(found)} faces; {purpose} needs a picture of one person (crop it)")
        if len(found) > 1:
            self.progress(f"{path}: {len(found)} faces, using the largest")
        return found[0]

    def embedding(self, face):
        _, embed = self._models()
        return embed(face.picture, face.face.landmarks)

    def enroll(self, name: str, pictures: list[Path]) -> dict:
        if not pictures:
            raise InputError("enrol needs at least one picture")
        vectors = [self.embedding(self.one_face(p, "enrolling")) for p in pictures]  # all checked before saving
        person = self.gallery.enroll(name, vectors)
        return {"name": person.name, "pictures": person.pictures, "gallery": str(self.gallery.folder)}

    def people(self) -> list[dict]:
        return [{"name": p.name, "pictures": p.pictures, "enrolled": p.enrolled} for p in self.gallery.people()]

    def remove(self, name: str) -> dict:
        self.gallery.remove(name)
        return {"removed": name}

    def verify(self, a: Path, b: Path) -> dict:
        ea = self.embedding(self.one_face(a, "verify", largest_ok=True))
        eb = self.embedding(self.one_face(b, "verify", largest_ok=True))
        d = float(((ea - eb) ** 2).sum() ** 0.5)
        return {"same": d < self.s.threshold, "distance": round(d, 4), "threshold": self.s.threshold}

    def identify(self, path: Path) -> dict:
        people = self.gallery.loaded(EMBED_DIM)
        if not people:
            self.progress(f"the gallery {self.gallery.folder} is empty: every face is unknown "
                          "(enrol with `deepzoom faces enroll NAME PICTURE…`)")
        found = self.faces(path)
        if not found:
            raise InputError(f"{path}: no face found")
        if len(found) >= MAX_FACES:
            self.progress(f"{path}: {len(found)} faces analysed, the most the tracker follows; smaller ones may be "
                          "left out")
        rows = []
        for i, f in enumerate(found):
            lm = f.face.landmarks
            e = self.embedding(f)
            m = match(e, people, self.s.threshold)
            age, spread = self._age(f.picture, lm)
            female = self._gender(f.picture, lm)
            rows.append({"box": [round(v, 1) for v in f.box], "identity": m.name or f"unknown-{i + 1}",
                         "nearest": m.nearest, "distance": None if m.nearest is None else round(m.distance, 4),
                         "age": round(age, 1), "age_spread": round(spread, 1),
                         "gender": "female" if female >= 0.5 else "male", "female_probability": round(female, 3),
                         "yaw": round(f.face.yaw, 1), "pitch": round(f.face.pitch, 1)})
        return {"picture": str(path), "faces": rows, "threshold": self.s.threshold}
