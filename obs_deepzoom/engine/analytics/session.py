"""What the analytics filter has seen this session, per person: time in view, the share of it spent looking at
the screen, the latest age and gender estimates, how often each expression was the likeliest, and who is in
view now. A face's frames before its first
embedding are kept under its track and join its identity once it has one (one person is not counted twice)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from .analyzer import FaceRecord

MAX_GAP_S = 0.5  # a longer gap between frames (a pause) counts as this much time in view
MAX_PEOPLE = 50  # people listed (most seen first); `people_total` counts them all


@dataclass
class _Tally:
    frames: int = 0
    seconds: float = 0.0
    attentive: int = 0
    age: float | None = None
    gender: str | None = None
    enrolled: bool = False
    last_seen: float = 0.0
    expressions: Counter = field(default_factory=Counter)  # frames each expression was the likeliest

    def add(self, rec: FaceRecord, t: float, dt: float) -> None:
        self.frames += 1
        self.seconds += dt
        self.attentive += int(rec.attention)
        self.age = rec.age if rec.age is not None else self.age
        self.gender = rec.gender or self.gender
        self.enrolled = self.enrolled or rec.enrolled
        self.last_seen = t
        if rec.expression is not None:
            self.expressions[rec.expression] += 1

    def merge(self, other: _Tally) -> None:
        self.frames += other.frames
        self.seconds += other.seconds
        self.attentive += other.attentive
        self.age = self.age if self.age is not None else other.age
        self.gender = self.gender or other.gender
        self.last_seen = max(self.last_seen, other.last_seen)
        self.expressions.update(other.expressions)


def shares(counts: Counter) -> dict[str, float]:
    """Each expression's share of the frames that had one, likeliest first."""
    total = sum(counts.values())
    return {k: round(n / total, 3) for k, n in counts.most_common()} if total else {}


class SessionStats:
    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.frames = 0
        self.seconds = 0.0
        self.people: dict[str, _Tally] = {}  # identity -> tally
        self.tracks: dict[int, _Tally] = {}  # track -> tally, while the track has no identity yet
        self.in_view: list[FaceRecord] = []
        self._last_t: float | None = None
        self.resets = getattr(self, "resets", -1) + 1  # a reader waiting for a reset compares this

    def add(self, records: list[FaceRecord], t: float) -> None:
        dt = 0.0 if self._last_t is None else min(max(t - self._last_t, 0.0), MAX_GAP_S)
        self._last_t = t
        self.frames += 1
        self.seconds += dt
        self.in_view = list(records)
        for rec in records:
            if rec.identity is None:
                self.tracks.setdefault(rec.track, _Tally()).add(rec, t, dt)
                continue
            tally = self.people.setdefault(rec.identity, _Tally())
            early = self.tracks.pop(rec.track, None)
            if early is not None:
                tally.merge(early)
            tally.add(rec, t, dt)

    def snapshot(self) -> dict:
        """Plain JSON: the session so far, the people seen (most seen first) and the faces in view now."""
        rows = [(name, tally) for name, tally in self.people.items()]
        rows += [(f"track-{track}", tally) for track, tally in self.tracks.items()]
        people = [{"id": name, "enrolled": t.enrolled, "frames": t.frames, "seconds": round(t.seconds, 2),
                   "attention_pct": round(100.0 * t.attentive / max(t.frames, 1), 1),
                   "age": None if t.age is None else round(t.age, 1), "gender": t.gender,
                   "expressions": shares(t.expressions)}
                  for name, t in sorted(rows, key=lambda r: -r[1].frames)]
        # the box as an object: obs-websocket's data keeps arrays of objects only
        now = [{"id": r.identity or f"track-{r.track}", "box": dict(zip("xywh", (round(v) for v in r.box))),
                "attention": r.attention,
                "age": r.age, "gender": r.gender, "expression": r.expression} for r in self.in_view]
        return {"frames": self.frames, "seconds": round(self.seconds, 2), "in_view": len(now),
                "people": people[:MAX_PEOPLE], "people_total": len(people), "faces": now, "resets": self.resets}
