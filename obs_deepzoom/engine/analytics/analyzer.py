"""Per-face analytics over time: one `FaceRecord` per tracked face per frame.

The tracker gives faces and landmarks every frame; the networks run only when due (`embed_every_s`,
`attributes_every_s`, `expression_every_s` per person, and at most one network per frame: the most overdue),
and their answers are smoothed with running averages of time constant `smoothing_s` (the expression's:
`expression_smoothing_s`). Identity: the person's running embedding against
the gallery (an enrolled name), else against the unknown people seen so far this session (`unknown-N`, a new N
when nobody is close). A face lost for at most `relink_s` that reappears near where it was keeps its track id."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...settings import AnalyticsSettings
from ..face import FaceState
from .gallery import match
from .models import EXPRESSIONS


@dataclass
class FaceRecord:
    track: int
    box: tuple[float, float, float, float]  # x, y, w, h (frame pixels)
    identity: str | None  # enrolled name, unknown-N, or None before the first embedding (or identity off)
    distance: float | None  # to that identity's nearest embedding
    enrolled: bool
    age: float | None
    female: float | None  # smoothed probability that the face reads as female
    gender: str | None
    expression: str | None  # the likeliest of EXPRESSIONS (smoothed), None before the first estimate
    expressions: dict[str, float] | None  # smoothed probability of each expression
    yaw: float
    pitch: float
    roll: float
    gaze_yaw: float  # head yaw plus the eyes' own turn (degrees)
    gaze_pitch: float
    attention: bool  # looking at the screen


@dataclass
class _Person:
    track: int
    box: tuple[float, float, float, float]
    last_seen: float
    embedding: np.ndarray | None = None
    age: float | None = None
    female: float | None = None
    expression: np.ndarray | None = None  # smoothed probabilities, in EXPRESSIONS order
    identity: str | None = None
    distance: float | None = None
    enrolled: bool = False
    due: dict[str, float] = field(default_factory=dict)  # model -> time it last ran


def _ema(old, new, dt: float, tau: float):
    if old is None or tau <= 0:
        return new
    a = 1.0 - math.exp(-max(dt, 0.0) / tau)
    return old + a * (new - old)


def eye_turn_deg(face: FaceState) -> tuple[float, float]:
    """How far the irises sit from the eye centres, as an angle (sideways, up): a rough gaze-in-head estimate
    (the iris centre moves ~0.5 eye-widths across ~±45 degrees)."""
    dx, dy = [], []
    for eye in range(2):
        ring = face.eye_contours[eye, :16]
        c0, c8 = ring[0], ring[8]
        width = max(float(np.linalg.norm(c8 - c0)), 1e-6)
        centre = ring.mean(0)
        off = face.iris[eye, 0] - centre
        dx.append(off[0] / width)
        dy.append(off[1] / width)
    return float(np.mean(dx) * 90.0), float(-np.mean(dy) * 90.0)


class FaceAnalyzer:
    MODELS = ("embed", "age", "gender", "expression")

    def __init__(self, settings: AnalyticsSettings | None = None, people: dict[str, np.ndarray] | None = None,
                 models: dict | None = None, device: str = "AUTO", precision: str = "auto"):
        """`people`: the gallery's embeddings by name. `models`: callables (frame, mesh) -> answer for 'embed',
        'age', 'gender', 'expression' (built when missing and switched on, at `precision`, or at the settings'
        precision when that is 'auto'); the dict given is filled as networks compile, so a caller keeps those a
        failed construction compiled."""
        self.s = settings or AnalyticsSettings()
        precision = self.s.precision if precision == "auto" else precision
        self.people = people or {}
        self.models = models if models is not None else {}
        if "embed" not in self.models and self.s.identity:
            from .models import FaceEmbedder

            self.models["embed"] = FaceEmbedder(device, precision)
        if self.s.attributes:
            from .models import AgeEstimator, GenderEstimator

            if "age" not in self.models:
                self.models["age"] = AgeEstimator(device, precision)
            if "gender" not in self.models:
                self.models["gender"] = GenderEstimator(device, precision)
        if self.s.expressions and "expression" not in self.models:
            from .models import ExpressionEstimator

            self.models["expression"] = ExpressionEstimator(device, precision)
        self.tracks: dict[int, _Person] = {}  # tracker face_id -> person
        self.lost: list[_Person] = []
        self.unknown: dict[str, np.ndarray] = {}  # unknown-N -> running embedding
        self._next = 0
        self.runs = {m: 0 for m in self.MODELS}  # how many times each network ran
        self._pending = None  # (person, model, dt) of a network started at the previous frame

    def reset(self) -> None:
        if self._pending is not None:  # let the running request end before its person is forgotten
            self.models[self._pending[1]].finish()
            self._pending = None
        self.tracks.clear()
        self.lost.clear()
        self.unknown.clear()
        self._next = 0

    # -- tracks ---------------------------------------------------------------------------------------------
    def _person(self, face: FaceState, t: float) -> _Person:
        p = self.tracks.get(face.face_id)
        if p is not None:
            return p
        x, y, w, h = face.box
        held = self._held()
        for old in self.lost:  # relink: lost recently, the new face is near where it was, its label is free
            ox, oy, ow, oh = old.box
            near = math.hypot(x + w / 2 - ox - ow / 2, y + h / 2 - oy - oh / 2) < 0.75 * max(ow, oh, 1.0)
            if t - old.last_seen <= self.s.relink_s and near and (old.identity is None or old.identity not in held):
                self.lost.remove(old)
                self.tracks[face.face_id] = old
                return old
        p = _Person(self._next, face.box, t)
        self._next += 1
        self.tracks[face.face_id] = p
        return p

    def _held(self, but: _Person | None = None) -> set[str]:
        """Unknown-N labels held by the people in view (never given to a second one at the same time)."""
        return {q.identity for q in self.tracks.values() if q is not but and q.identity is not None}

    def _forget(self, seen: set[int], t: float) -> None:
        for fid in [f for f in self.tracks if f not in seen]:
            self.lost.append(self.tracks.pop(fid))
        self.lost = [p for p in self.lost if t - p.last_seen <= self.s.relink_s]

    # -- networks -------------------------------------------------------------------------------------------
    def _interval(self, model: str) -> float:
        return {"embed": self.s.embed_every_s, "expression": self.s.expression_every_s}.get(
            model, self.s.attributes_every_s)

    def _pick(self, faces: list[tuple[FaceState, _Person]], t: float):
        """The most overdue (face, model) pair, or None."""
        best, late = None, -1.0
        for face, p in faces:
            for m in self.MODELS:
                if m not in self.models:
                    continue
                last = p.due.get(m)
                over = float("inf") if last is None else (t - last) - self._interval(m)
                if over >= 0 and over > late:
                    best, late = (face, p, m), over
        return best

    def _run(self, frame: np.ndarray, face: FaceState, p: _Person, model: str, t: float) -> None:
        """Run `model` on the face; a model with start()/finish() (the embedding) runs asynchronously: started
        now, its answer collected at the next frame, so the frame that starts it does not wait for it."""
        dt = t - p.due.get(model, t)
        p.due[model] = t
        self.runs[model] += 1
        net = self.models[model]
        if hasattr(net, "start"):
            net.start(frame, face.landmarks)
            self._pending = (p, model, dt)
        else:
            self._apply(p, model, net(frame, face.landmarks), dt)

    def _collect(self) -> None:
        """The answer of the network started at the previous frame (waits only if it is still running)."""
        if self._pending is not None:
            p, model, dt = self._pending
            self._pending = None
            self._apply(p, model, self.models[model].finish(), dt)

    def _apply(self, p: _Person, model: str, out, dt: float) -> None:
        if model == "embed":
            e = _ema(p.embedding, np.asarray(out, np.float32), dt, self.s.smoothing_s)
            p.embedding = e / max(float(np.linalg.norm(e)), 1e-9)
            self._identify(p)
        elif model == "expression":
            probs = np.asarray(out, np.float64).reshape(len(EXPRESSIONS))
            p.expression = _ema(p.expression, probs, dt, self.s.expression_smoothing_s)
        elif model == "age":
            p.age = float(_ema(p.age, float(out[0] if isinstance(out, tuple) else out), dt, self.s.smoothing_s))
        else:
            p.female = float(_ema(p.female, float(out), dt, self.s.smoothing_s))

    def _identify(self, p: _Person) -> None:
        m = match(p.embedding, self.people, self.s.threshold)
        if m.name is not None:
            p.identity, p.distance, p.enrolled = m.name, m.distance, True
            return
        if (p.identity is not None and not p.enrolled and p.identity in self.unknown
                and p.identity not in self._held(but=p)):
            d = float(np.linalg.norm(self.unknown[p.identity] - p.embedding))
            if d < 1.1 * self.s.threshold:  # hysteresis: keep the label while it still fits
                self.unknown[p.identity] = p.embedding
                p.distance = d
                return
        others = {k: v[None] for k, v in self.unknown.items() if k not in self._held(but=p)}
        u = match(p.embedding, others, self.s.threshold)
        label = u.name or f"unknown-{len(self.unknown) + 1}"
        self.unknown[label] = p.embedding
        p.identity, p.distance, p.enrolled = label, (u.distance if u.name else 0.0), False

    # -- frames ---------------------------------------------------------------------------------------------
    def process(self, frame: np.ndarray, faces: list[FaceState], t: float) -> list[FaceRecord]:
        self._collect()
        pairs = [(f, self._person(f, t)) for f in faces]
        for f, p in pairs:
            p.box, p.last_seen = f.box, t
        self._forget({f.face_id for f in faces}, t)
        job = self._pick(pairs, t) if self.s.enabled else None
        if job is not None:
            self._run(frame, *job, t)
        return [self._record(f, p) for f, p in pairs]

    def _record(self, f: FaceState, p: _Person) -> FaceRecord:
        ex, ey = eye_turn_deg(f)
        probs = None if p.expression is None else {k: round(float(v), 3) for k, v in zip(EXPRESSIONS, p.expression)}
        gy, gp = f.yaw + ex, f.pitch + ey
        return FaceRecord(
            track=p.track, box=tuple(round(v, 1) for v in f.box), identity=p.identity,
            distance=None if p.distance is None else round(p.distance, 4), enrolled=p.enrolled,
            age=None if p.age is None else round(p.age, 1),
            female=None if p.female is None else round(p.female, 3),
            gender=None if p.female is None else ("female" if p.female >= 0.5 else "male"),
            expression=None if p.expression is None else EXPRESSIONS[int(np.argmax(p.expression))],
            expressions=probs,
            yaw=round(f.yaw, 1), pitch=round(f.pitch, 1), roll=round(f.roll, 1),
            gaze_yaw=round(gy, 1), gaze_pitch=round(gp, 1),
            attention=abs(gy) <= self.s.attention_yaw_deg and abs(gp) <= self.s.attention_pitch_deg)
