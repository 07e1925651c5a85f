"""`deepzoom bench gaze`: eye-contact correction at 1280x720 on the sample clip: the warp alone (given the
tracked faces) and with face tracking. No offline peer exists for gaze redirection; the warp is compared
with the face tracking it needs (peer_ratio = warp / tracking)."""

from __future__ import annotations

from ..engine.contract import FrameContext
from ..engine.face import FaceTracker
from ..engine.video.gaze import GazeCorrector
from ..settings import GazeSettings
from . import peak_rss_mb, summary, timed
from .face import clip_frames


def run(rounds: int = 3, progress=print) -> dict:
    frames = clip_frames()
    tracker, corrector = FaceTracker(), GazeCorrector(GazeSettings(smoothing_ms=0))
    warp_ms, track_ms, total_ms, applied = [], [], [], 0
    t = 0.0
    for f in frames[:10]:
        corrector.process(f, FrameContext(0, t, tracker.process(f, t)))
        t += 1 / 30
    for r in range(rounds):
        for i, f in enumerate(frames):
            holder = {}
            track = timed(lambda f=f, t=t, holder=holder: holder.setdefault("faces", tracker.process(f, t)))
            ctx = FrameContext(i, t, holder["faces"])
            warp = timed(lambda f=f, ctx=ctx: corrector.process(f, ctx))
            applied += bool(corrector.last and corrector.last[0]["weight"] > 0)
            track_ms.append(track)
            warp_ms.append(warp)
            total_ms.append(track + warp)
            t += 1 / 30
        progress(f"round {r + 1}/{rounds}: warp {sorted(warp_ms)[len(warp_ms) // 2]:.2f} ms, "
                 f"with tracking {sorted(total_ms)[len(total_ms) // 2]:.2f} ms")
    warp, total, track = summary(warp_ms), summary(total_ms), summary(track_ms)
    return {"name": "gaze", "size": "1280x720", "frames": len(frames), "corrected_frames_pct":
            round(100 * applied / len(warp_ms), 1), **warp, "with_tracking_ms_median": total["ms_median"],
            "with_tracking_ms_p95": total["ms_p95"], "with_tracking_fps": total["fps"],
            "peak_rss_mb": round(peak_rss_mb(), 1), "peer": "face tracking (mesh + iris) on the same frames",
            "peer_kind": "own-baseline",
            "peer_ms_median": track["ms_median"], "peer_ratio": round(warp["ms_median"] / track["ms_median"], 3)}
