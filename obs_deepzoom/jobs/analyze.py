"""`deepzoom analyze`: the face analytics over a video file or a camera, written as `faces.csv` (one row per
tracked face per frame), `summary.json` and `report.html` (plots: people over time, presence and speaking per
person, attention, apparent age and gender).

Speaking time, when the file has sound: silero VAD on the soundtrack says when someone speaks; each such moment
goes to the person in view whose mouth moves most then (the lips' gap over the face height, its spread over
half a second), or to nobody in view when no mouth moves."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..engine.analytics.analyzer import FaceAnalyzer, FaceRecord
from ..engine.analytics.gallery import EMBED_DIM, Gallery
from ..engine.analytics.session import shares
from ..engine.contract import FrameContext
from ..engine.face import FaceTracker
from ..errors import InputError
from ..media import VideoSource
from ..settings import AnalyticsSettings, FaceTrackingSettings
from .frames import run_frames

UPPER_LIP, LOWER_LIP = 13, 14
MOUTH_WINDOW_S = 0.5
MOUTH_MOVING = 0.006  # spread of the lips' gap (share of the face height) that counts as speaking
CSV_FIELDS = ("frame", "time_s", "track", "identity", "enrolled", "x", "y", "w", "h", "age", "gender",
              "female", "expression", "yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch", "attention", "mouth_open",
              "speaking")


def speech_times(path: Path, duration_s: float) -> np.ndarray | None:
    """Speech probability per 32 ms of the file's soundtrack (None without sound)."""
    from ..engine.audio.resample import to_rate
    from ..engine.models import SileroVad
    from ..video_io import read_soundtrack

    audio = read_soundtrack(path, seconds=duration_s + 1)
    if audio is None:
        return None
    mono = to_rate(audio.samples.mean(0), audio.rate, SileroVad.RATE).astype(np.float32)
    vad = SileroVad("CPU")
    n = len(mono) // SileroVad.CHUNK
    return np.array([vad(mono[i * SileroVad.CHUNK:(i + 1) * SileroVad.CHUNK]) for i in range(n)], np.float32)


def _mouth(face) -> float:
    lm = face.landmarks
    return float(np.linalg.norm(lm[UPPER_LIP, :2] - lm[LOWER_LIP, :2]) / max(face.box[3], 1.0))


def _speakers(rows: list[dict], speech: np.ndarray | None, fps: float, threshold: float = 0.5) -> None:
    """Mark rows whose person speaks (see the module's docstring); adds 'speaking' to every row."""
    for r in rows:
        r["speaking"] = False
    if speech is None:
        return
    by_track: dict[int, list[dict]] = {}
    for r in rows:
        by_track.setdefault(r["track"], []).append(r)
    half = max(1, int(round(MOUTH_WINDOW_S * fps / 2)))
    spread: dict[tuple[int, int], float] = {}
    for track, rs in by_track.items():  # a rolling standard deviation over each track's frames (sorted)
        frames = np.array([r["frame"] for r in rs])
        mouth = np.array([r["mouth_open"] for r in rs], np.float64)
        c1, c2 = np.concatenate([[0.0], np.cumsum(mouth)]), np.concatenate([[0.0], np.cumsum(mouth ** 2)])
        lo, hi = np.searchsorted(frames, frames - half), np.searchsorted(frames, frames + half, side="right")
        n = hi - lo
        mean = (c1[hi] - c1[lo]) / n
        std = np.sqrt(np.maximum((c2[hi] - c2[lo]) / n - mean ** 2, 0.0))
        for r, sd, k in zip(rs, std, n):
            spread[(track, r["frame"])] = float(sd) if k > 2 else 0.0
    by_frame: dict[int, list[dict]] = {}
    for r in rows:
        by_frame.setdefault(r["frame"], []).append(r)
    chunk_s = 512 / 16000
    for frame, rs in by_frame.items():
        i = int(frame / fps / chunk_s)
        if i >= len(speech) or speech[i] < threshold:
            continue
        best = max(rs, key=lambda r: spread[(r["track"], frame)])
        if spread[(best["track"], frame)] >= MOUTH_MOVING:
            best["speaking"] = True


def backfill_identities(rows: list[dict]) -> None:
    """A track's rows before its first embedding (the network runs after the face appears) take the identity
    the track got first, so one person is not counted twice."""
    first: dict[int, tuple[str, bool]] = {}
    for r in rows:
        if r["identity"] is not None and r["track"] not in first:
            first[r["track"]] = (r["identity"], r["enrolled"])
    for r in rows:
        if r["identity"] is None and r["track"] in first:
            r["identity"], r["enrolled"] = first[r["track"]]


def summarise(rows: list[dict], frames: int, fps: float, speech: np.ndarray | None) -> dict:
    people = []
    ids = sorted({r["identity"] or f"track-{r['track']}" for r in rows})
    for pid in ids:
        rs = [r for r in rows if (r["identity"] or f"track-{r['track']}") == pid]
        ages = [r["age"] for r in rs if r["age"] is not None]
        fem = [r["female"] for r in rs if r["female"] is not None]
        people.append({
            "id": pid, "enrolled": any(r["enrolled"] for r in rs), "frames": len({r["frame"] for r in rs}),
            "seconds": round(len({r["frame"] for r in rs}) / fps, 2),
            "attention_pct": round(100 * float(np.mean([r["attention"] for r in rs])), 1),
            "age": round(float(np.median(ages)), 1) if ages else None,
            "gender": None if not fem else ("female" if np.median(fem) >= 0.5 else "male"),
            "speaking_s": round(sum(r["speaking"] for r in rs) / fps, 2),
            "expressions": shares(Counter(r["expression"] for r in rs if r["expression"]))})
    people.sort(key=lambda p: -p["frames"])
    out = {"frames": frames, "fps": round(fps, 3), "seconds": round(frames / fps, 2), "people": people}
    if speech is not None:
        out["speech_s"] = round(float(np.sum(speech >= 0.5)) * 512 / 16000, 2)
    return out


def analyze(source: VideoSource, out_dir: Path, settings: AnalyticsSettings, gallery: Path,
            audio_path: Path | None = None, max_frames: int = 0, progress=print) -> dict:
    """Ctrl+C (or a camera that stops) ends the run early; what was seen is still written."""
    out_dir = Path(out_dir)
    try:  # the folder first: a bad -o fails before the run, not after it
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise InputError(f"{out_dir}: cannot write the report there ({e.strerror or e})") from e
    people = Gallery(gallery).loaded(EMBED_DIM) if settings.identity else {}
    tracker = FaceTracker(FaceTrackingSettings(max_faces=4))
    analyzer = FaceAnalyzer(settings, people)
    rows: list[dict] = []
    step_ms: list[float] = []

    def step(i: int, t: float, frame: np.ndarray):
        t0 = time.perf_counter()
        faces = tracker.process(frame, t)
        records = analyzer.process(frame, faces, t)
        for f, rec in zip(faces, records):
            rows.append(_row(i, t, rec, _mouth(f)))
        step_ms.append(1000 * (time.perf_counter() - t0))
        return frame, FrameContext(i, t, faces)

    try:
        run_frames(source.frames(), source.fps, step, None, count=source.frame_count, max_frames=max_frames,
                   desc="analyze", empty=f"{source.name}: no frames could be read")
    except KeyboardInterrupt:
        if not step_ms:
            raise
        progress(f"stopped after {len(step_ms)} frames; writing what was seen")
    frames = len(step_ms)
    full = sum(1 for c in np.bincount([r["frame"] for r in rows]) if c >= tracker.settings.max_faces) if rows else 0
    if full:
        progress(f"{full} frames had {tracker.settings.max_faces} faces, the most the tracker follows: more people "
                 "may have been in view")
    speech = None
    if audio_path is not None:
        progress("speech: silero VAD on the soundtrack")
        speech = speech_times(audio_path, frames / source.fps)
    backfill_identities(rows)
    _speakers(rows, speech, source.fps)
    summary = summarise(rows, frames, source.fps, speech)
    summary["ms_per_frame_median"] = round(float(np.median(step_ms)), 2)
    summary["networks_run"] = dict(analyzer.runs)
    try:
        with open(out_dir / "faces.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
            w.writeheader()
            w.writerows(rows)
        (out_dir / "summary.json").write_text(json.dumps(summary, indent=1))
        from .report import write_report

        write_report(out_dir / "report.html", rows, summary, source.name, speech)
    except OSError as e:
        raise InputError(f"{out_dir}: could not write the report ({e.strerror or e})") from e
    progress(f"wrote {out_dir / 'report.html'}, faces.csv ({len(rows)} rows) and summary.json")
    return summary


def _row(i: int, t: float, rec: FaceRecord, mouth: float) -> dict:
    d = asdict(rec)
    x, y, w, h = d.pop("box")
    d.pop("distance")
    d.pop("expressions")  # the CSV keeps the likeliest (the probabilities are in the record, not the file)
    return {"frame": i, "time_s": round(t, 3), **d, "x": x, "y": y, "w": w, "h": h, "mouth_open": round(mouth, 4)}
