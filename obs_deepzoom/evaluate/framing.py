"""`deepzoom eval framing`: auto framing on a wide 1280x720 scene where a real face moves, judged by a tracker
the effect does not use.

The judge is MediaPipe's own FaceMesh (the test-only reference, `metrics.ReferenceJudge`), run on every INPUT
frame and every OUTPUT frame on its own (static mode). The effect runs as the chain runs it
(`Chain(["framing"])`, default settings: our face tracker, the composition, the dead zone, the damped window);
its own window is read only to count frames where the crop moved (bookkeeping, not a quality judgement).

The scene (`scene("eval")`): the sample clip (the person filmed at 640x360, played forwards and backwards)
scaled by 0.8 and pasted with a feathered edge onto the sample background video (no_face.mp4) at 1280x720, so
the face (~0.22 of the height) has room to move; 30 fps, 19 s:
  0-3 s   still at the left (patch centre at 0.3 of the width),
  3 s     a step move to 0.7 of the width (one frame),
  3-7 s   still there (the settle time after the step is read from 3 s on),
  7-11 s  a slow drift back to 0.3 (128 px/s),
  11-12 s still,
  12-17 s the person has left the frame (face lost: hold, then the return to the full frame),
  17-19 s back, at 0.45.
The defaults were set before this scene existed and checked on a separate one (`scene("tune")`: the
grace_hopper.jpg portrait with fresh sensor noise, seed 1, other positions and timings); nothing was chosen
on the eval scene.

Metrics, from the judge's points (eye centre = mean of its two iris centres; face height = its mesh's
forehead-to-chin extent):
- composition: |eye centre - (0.5 W, eye_line H)| of the output on settled frames (still stretches from
  settle_s + 0.5 s after a change), as shares of the output width / height;
- face height on the output / its target (face_height), and its stability (std / mean on settled frames);
- composition against what is reachable: the same, from where the composition rules (`framing.compose`)
  applied to the judge's points on the input put the face, the window kept inside the frame (near an edge
  the face cannot be centred);
- jitter: frame-to-frame eye-centre step on settled frames, in face heights, output vs input (the camera
  adds none when the two are equal; a zoom scales pixel motion, not motion in face heights);
- lost frames: the judge finds the face on the input but not on the output (the window cut it off);
- settle time after the step move (the eye centre stays within 0.02 of the width of where it ends up) and
  overshoot (how far it passes that position, as a share of the jump the output shows at the step);
- the return: time from the person leaving until the window is within 2 % of the full frame, and until the
  output is the input itself (identical pixels)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.video.framing import compose
from ..media import VideoSource, read_image
from ..samples import DEMO_CLIP, sample
from ..settings import ChainSettings, FramingSettings
from .metrics import ReferenceJudge, judge_iris

FPS = 30.0
SIZE = (1280, 720)
SETTLE_TOL = 0.02  # of the output width: settled when the face stays this close to its final place
SETTLED_AFTER = 0.5  # s beyond settle_s after a change before a frame counts as settled


@dataclass(frozen=True)
class Segment:
    t0: float
    t1: float
    x0: float  # patch centre, share of the width, at t0
    x1: float  # at t1 (a drift when different)
    present: bool = True


SCENES = {
    "eval": (0.8, 0.42, [Segment(0, 3, 0.3, 0.3), Segment(3, 7, 0.7, 0.7), Segment(7, 11, 0.7, 0.3),
                         Segment(11, 12, 0.3, 0.3), Segment(12, 17, 0.3, 0.3, False),
                         Segment(17, 19, 0.45, 0.45)]),
    "tune": (0.75, 0.45, [Segment(0, 2, 0.6, 0.6), Segment(2, 5, 0.25, 0.25), Segment(5, 8, 0.25, 0.65),
                          Segment(8, 10, 0.65, 0.65, False), Segment(10, 12, 0.5, 0.5)]),
}
STEP_AT = 3.0  # eval scene: the step move
DRIFT = (7.0, 11.0)
LOST = (12.0, 17.0)


def _feather(h: int, w: int, px: int = 24) -> np.ndarray:
    ramp_x = np.clip(np.minimum(np.arange(w), np.arange(w)[::-1]) / px, 0, 1)
    ramp_y = np.clip(np.minimum(np.arange(h), np.arange(h)[::-1]) / px, 0, 1)
    return (ramp_y[:, None] * ramp_x[None, :])[..., None].astype(np.float32)


def scene(kind: str = "eval", seconds: float | None = None) -> Iterator[tuple[float, np.ndarray, bool]]:
    """(timestamp, 1280x720 frame, person present) at 30 fps; see the module's docstring."""
    scale, centre_y, segments = SCENES[kind]
    if kind == "eval":
        clip = [cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                for f in VideoSource.open_file(sample(DEMO_CLIP)).frames()]
        people = clip + clip[-2:0:-1]  # forwards and backwards: no jump at the loop
        rng = None
    else:
        still = read_image(sample("grace_hopper.jpg"))
        people = [cv2.resize(still, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)]
        rng = np.random.default_rng(1)
    backdrop = [cv2.resize(f, SIZE, interpolation=cv2.INTER_LINEAR)
                for f in VideoSource.open_file(sample("no_face.mp4")).frames()]
    end = segments[-1].t1 if seconds is None else seconds
    ph, pw = people[0].shape[:2]
    alpha = _feather(ph, pw)
    for k in range(int(round(end * FPS))):
        t = k / FPS
        seg = next((s for s in segments if s.t0 <= t < s.t1), segments[-1])
        frame = backdrop[int(t * 23.67) % len(backdrop)].copy()  # the background video at its own rate
        if seg.present:
            share = seg.x0 + (seg.x1 - seg.x0) * (t - seg.t0) / (seg.t1 - seg.t0)
            x = int(round(share * SIZE[0] - pw / 2))
            y = int(round(centre_y * SIZE[1] - ph / 2))
            person = people[k % len(people)]
            if rng is not None:
                person = np.clip(person + rng.normal(0, 2.0, person.shape), 0, 255).astype(np.uint8)
            x0, x1 = max(x, 0), min(x + pw, SIZE[0])
            y0, y1 = max(y, 0), min(y + ph, SIZE[1])
            a = alpha[y0 - y:y1 - y, x0 - x:x1 - x]
            region = frame[y0:y1, x0:x1].astype(np.float32)
            frame[y0:y1, x0:x1] = (region + a * (person[y0 - y:y1 - y, x0 - x:x1 - x] - region) + 0.5).astype(
                np.uint8)
        yield t, frame, seg.present


def _eyes_height(lm: np.ndarray | None) -> tuple[np.ndarray, float] | None:
    """(eye centre in pixels, face height in pixels) from the judge's points, or None."""
    if lm is None:
        return None
    eyes = (judge_iris(lm, 0)[0] + judge_iris(lm, 1)[0]) / 2
    return eyes, float(np.ptp(lm[:468, 1]))


def _expected(lm: np.ndarray | None, s: FramingSettings) -> tuple[float, float] | None:
    """Where the composition rules put the eye centre in the output (shares of width, height), the rules
    applied to the judge's points on the input (head turn taken as 0: the clip faces the camera)."""
    if lm is None:
        return None
    iris = np.stack([lm[468:473, :2], lm[473:478, :2]])
    win = compose([SimpleNamespace(landmarks=lm[:468], iris=iris, yaw=0.0)], SIZE, s)
    x0, y0, w, h = win.box(SIZE[0] / SIZE[1])
    eyes = iris[:, 0].mean(0)
    return float((eyes[0] - x0) / w), float((eyes[1] - y0) / h)


def _settled(t: float, segments: list[Segment], settle: float) -> bool:
    seg = next((s for s in segments if s.t0 <= t < s.t1), None)
    return bool(seg and seg.present and seg.x0 == seg.x1 and t >= seg.t0 + settle + SETTLED_AFTER)


def strip(frames: list[tuple[np.ndarray, np.ndarray]], width: int = 320) -> np.ndarray:
    """Rows of (input | framed) pairs, each `width` px wide, with a thin gap."""
    rows = []
    for a, b in frames:
        h = int(round(a.shape[0] * width / a.shape[1]))
        pair = [cv2.resize(x, (width, h), interpolation=cv2.INTER_AREA) for x in (a, b)]
        rows.append(np.hstack([pair[0], np.full((h, 6, 3), 255, np.uint8), pair[1]]))
        rows.append(np.full((6, rows[-1].shape[1], 3), 255, np.uint8))
    return np.vstack(rows[:-1])


def schematic(items: list[tuple], width: int = 320, eye_line: float = 0.36) -> np.ndarray:
    """The same rows drawn from coordinates only (no pixels of the scene): on the left the judge's face points
    on the input and the camera's window (orange); on the right the judge's points on the output, with the
    target eye line and centre (blue). `items`: (lm_in, window, lm_out) per row, lm as the judge returns them."""
    w, h = SIZE
    k = width / w
    ph = int(round(h * k))

    def panel(lm, win=None, guides=False) -> np.ndarray:
        img = np.full((ph, width, 3), 60, np.uint8)
        if guides:
            cv2.line(img, (0, int(eye_line * ph)), (width, int(eye_line * ph)), (200, 140, 60), 1)
            cv2.line(img, (width // 2, 0), (width // 2, ph), (200, 140, 60), 1)
        if win is not None:
            x0, y0, ww, wh = win.box(w / h)
            cv2.rectangle(img, (int(x0 * k), int(y0 * k)), (int((x0 + ww) * k), int((y0 + wh) * k)), (0, 150, 255), 2)
        if lm is not None:
            for x, y in (lm[:468, :2] * k).astype(int):
                cv2.circle(img, (int(x), int(y)), 0, (235, 235, 235), -1)
        return img

    rows = []
    for lm_in, win, lm_out in items:
        rows.append(np.hstack([panel(lm_in, win), np.full((ph, 6, 3), 255, np.uint8), panel(lm_out, guides=True)]))
        rows.append(np.full((6, rows[-1].shape[1], 3), 255, np.uint8))
    return np.vstack(rows[:-1])


def run(progress=print, out_dir: Path | None = None, kind: str = "eval", seconds: float | None = None,
        settings: FramingSettings | None = None) -> dict:
    """The whole evaluation (`kind="tune"`: the scene the defaults were checked on); `seconds` shortens the
    scene (the step, drift and loss need the full 19 s)."""
    judge = ReferenceJudge()  # first: it imports MediaPipe's protobuf before anything else can
    s = settings or FramingSettings()
    chain = Chain(["framing"], ChainSettings(framing=s))
    effect = chain.effects[0]
    segments = SCENES[kind][2]
    w, h = SIZE
    rows, pictures, writer = [], [], None
    snaps = {2.9, 3.2, 6.0, 9.0, 14.0, 18.5} if kind == "eval" else {1.5, 4.0, 9.5}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        from contextlib import ExitStack

        from ..video_io import video_writer

        stack = ExitStack()
        writer = stack.enter_context(video_writer(out_dir / f"framing_{kind}.mp4", FPS, (2 * w, h)))
    try:
        for t, frame, present in scene(kind, seconds):
            out, ctx = chain.process(frame, t)
            lm_in, lm_out = judge.landmarks(frame), judge.landmarks(out)
            seen_in, seen_out = _eyes_height(lm_in), _eyes_height(lm_out)
            win = effect.last["window"]
            rows.append({"t": t, "present": present, "in": seen_in, "out": seen_out, "window": win,
                         "expected": _expected(lm_in, s),
                         "identical": out is frame or np.array_equal(out, frame), "tracked": len(ctx.faces)})
            if writer is not None:
                writer(np.hstack([frame, out]))
            if any(abs(t - x) < 0.5 / FPS for x in snaps):
                pictures.append((frame, out.copy(), lm_in, win, lm_out))
        if writer is not None:
            stack.close()
    except BaseException:
        if writer is not None:
            stack.__exit__(None, None, None)
        raise
    if out_dir is not None and pictures:
        cv2.imwrite(str(out_dir / f"framing_{kind}_strip.png"), strip([p[:2] for p in pictures]))
        cv2.imwrite(str(out_dir / f"framing_{kind}_schematic.png"), schematic([p[2:] for p in pictures],
                                                                               eye_line=s.eye_line))
    judge.close()
    return _metrics(rows, s, segments, kind, judge.name, progress)


def _metrics(rows: list[dict], s: FramingSettings, segments: list[Segment], kind: str, judge: str,
             progress) -> dict:
    w, h = SIZE
    res: dict = {"name": "framing", "judge": judge, "scene": kind, "size": f"{w}x{h}", "fps": FPS,
                 "frames": len(rows), "settings": s.model_dump()}
    settled = [r for r in rows if _settled(r["t"], segments, s.settle_s) and r["out"] is not None]
    dx = np.array([abs(r["out"][0][0] / w - 0.5) for r in settled])
    dy = np.array([abs(r["out"][0][1] / h - s.eye_line) for r in settled])
    # against where the composition rules put the face given the frame's edges (the rules applied to the
    # judge's points on the input: the window cannot leave the frame, so a face near an edge sits off centre)
    reach = [(r, r["expected"]) for r in settled if r["expected"] is not None]
    ex = np.array([abs(r["out"][0][0] / w - e[0]) for r, e in reach])
    ey = np.array([abs(r["out"][0][1] / h - e[1]) for r, e in reach])
    fh_out = np.array([r["out"][1] / h for r in settled])
    fh_in = np.array([r["in"][1] / h for r in settled if r["in"] is not None])
    res.update({
        "n_settled": len(settled),
        "offset_x_median": round(float(np.median(dx)), 4), "offset_x_p90": round(float(np.percentile(dx, 90)), 4),
        "offset_eye_line_median": round(float(np.median(dy)), 4),
        "offset_eye_line_p90": round(float(np.percentile(dy, 90)), 4),
        "offset_x_vs_reachable_median": round(float(np.median(ex)), 4),
        "offset_x_vs_reachable_p90": round(float(np.percentile(ex, 90)), 4),
        "offset_y_vs_reachable_median": round(float(np.median(ey)), 4),
        "offset_y_vs_reachable_p90": round(float(np.percentile(ey, 90)), 4),
        "face_height_out_median": round(float(np.median(fh_out)), 4), "face_height_target": s.face_height,
        "face_height_in_median": round(float(np.median(fh_in)), 4),
        "face_height_cv_out": round(float(fh_out.std() / fh_out.mean()), 4),
        "face_height_cv_in": round(float(fh_in.std() / fh_in.mean()), 4),
        "zoom_median": round(float(np.median([h / r["window"].h for r in settled])), 3),
    })
    # jitter: frame-to-frame eye-centre steps on still stretches, in face heights
    steps_in, steps_out = [], []
    for a, b in zip(rows, rows[1:]):
        if not (_settled(a["t"], segments, s.settle_s) and _settled(b["t"], segments, s.settle_s)):
            continue
        if a["in"] is not None and b["in"] is not None:
            steps_in.append(float(np.linalg.norm(b["in"][0] - a["in"][0])) / b["in"][1])
        if a["out"] is not None and b["out"] is not None:
            steps_out.append(float(np.linalg.norm(b["out"][0] - a["out"][0])) / b["out"][1])
    j_in, j_out = math.sqrt(np.mean(np.square(steps_in))), math.sqrt(np.mean(np.square(steps_out)))
    moved = sum(1 for a, b in zip(rows, rows[1:]) if _settled(b["t"], segments, s.settle_s)
                and b["window"] != a["window"])
    res.update({"jitter_out_face_heights_rms": round(j_out, 5), "jitter_in_face_heights_rms": round(j_in, 5),
                "jitter_ratio": round(j_out / j_in, 3) if j_in else float("nan"),
                "crop_moved_settled_frames": moved})
    # lost frames: the judge sees the face on the input but not on the output
    visible = [r for r in rows if r["present"] and r["in"] is not None]
    res["frames_face_in_input"] = len(visible)
    res["frames_face_lost_in_output"] = sum(r["out"] is None for r in visible)
    res["frames_not_tracked"] = sum(r["tracked"] == 0 for r in visible)
    if kind == "eval":
        res.update(_step(rows, s))
        res.update(_drift(rows))
        res.update(_return(rows, s))
    progress(f"{kind}: {len(rows)} frames; settled eye centre off by {res['offset_x_median']:.3f} W / "
             f"{res['offset_eye_line_median']:.3f} H (median), face height {res['face_height_out_median']:.3f} "
             f"of {s.face_height} (cv {res['face_height_cv_out']:.3f}, input {res['face_height_cv_in']:.3f}); "
             f"jitter {res['jitter_ratio']:.2f}x the input's; face lost in {res['frames_face_lost_in_output']} "
             f"of {len(visible)} output frames")
    if kind == "eval":
        progress(f"step move: settled in {res['step_settle_s']} s, overshoot {res['step_overshoot_pct']} %; "
                 f"drift lag {res['drift_offset_x_median']:.3f} W; within 2 % of the full frame "
                 f"{res['return_within_2pct_s']} s and the input itself {res['return_full_frame_s']} s "
                 f"after the person left (hold {s.hold_s} + return {s.return_s})")
    return res


def _step(rows: list[dict], s: FramingSettings) -> dict:
    """Settle time and overshoot of the eye centre in the output after the step move at STEP_AT."""
    w = SIZE[0]
    after = [r for r in rows if STEP_AT <= r["t"] < DRIFT[0] and r["out"] is not None]
    final = float(np.median([r["out"][0][0] for r in after if r["t"] >= DRIFT[0] - 1.0]))
    xs = np.array([r["out"][0][0] for r in after])
    ts = np.array([r["t"] for r in after])
    off = np.abs(xs - final) > SETTLE_TOL * w
    last_off = ts[off].max() if off.any() else STEP_AT
    settle = next((float(t) for t in ts if t > last_off), float("nan")) - STEP_AT
    jump = xs[0] - final  # where the face lands in the output at the step, from its final place
    past = np.maximum(0.0, -(xs - final) * np.sign(jump))
    return {"step_settle_s": round(settle, 3), "step_settle_limit_s": s.settle_s,
            "step_jump_out_px": round(float(jump), 1),
            "step_overshoot_pct": round(100 * float(past.max()) / max(abs(jump), 1e-6), 2),
            "step_overshoot_px": round(float(past.max()), 2)}


def _drift(rows: list[dict]) -> dict:
    drift = [r for r in rows if DRIFT[0] + 0.5 <= r["t"] < DRIFT[1] and r["out"] is not None]
    dx = np.array([abs(r["out"][0][0] / SIZE[0] - 0.5) for r in drift])
    return {"drift_offset_x_median": round(float(np.median(dx)), 4),
            "drift_offset_x_max": round(float(dx.max()), 4)}


def _return(rows: list[dict], s: FramingSettings) -> dict:
    gone = [r for r in rows if LOST[0] <= r["t"] < LOST[1]]
    held = [r for r in gone if r["t"] < LOST[0] + s.hold_s]
    near = next((r["t"] for r in gone if r["window"].h >= 0.98 * SIZE[1]), float("nan"))
    full = next((r["t"] for r in gone if r["identical"]), float("nan"))
    return {"lost_judge_sees_face_in_input": sum(r["in"] is not None for r in gone),
            "hold_window_still": all(r["window"] == held[0]["window"] for r in held) if held else None,
            "return_within_2pct_s": round(near - LOST[0], 3), "return_full_frame_s": round(full - LOST[0], 3)}
