"""`deepzoom bench avatar`: the photo avatar (grace_hopper.jpg driven by the sample clip) at 1280x720: face
tracking + motion transfer + warp + composite + mouth per frame, against the same avatar drawn with the
textbook per-triangle warpAffine (the naive warp we started from), same frames and process. The peer is timed
on the avatar stage alone (tracking is shared); ms_* include tracking."""

from __future__ import annotations

from ..engine.avatar.render import NaiveRenderer
from ..engine.contract import FrameContext
from ..engine.face import FaceTracker
from ..engine.video.avatar import PhotoAvatar
from ..samples import sample
from ..settings import AvatarSettings
from . import peak_rss_mb, peer_fields, summary, timed
from .face import clip_frames

SOURCE = "grace_hopper.jpg"


def run(rounds: int = 3, peer: bool = True, progress=print) -> dict:
    frames = clip_frames()
    settings = AvatarSettings(source=str(sample(SOURCE)))
    tracker, avatar = FaceTracker(), PhotoAvatar(settings)
    naive = PhotoAvatar(settings, renderer=NaiveRenderer, portrait=avatar.portrait) if peer else None
    t = 0.0
    for f in frames[:5]:  # warm-up: compilation, first detection, layout
        avatar.process(f, FrameContext(0, t, tracker.process(f, t)))
        t += 1 / 30
    track_ms, avatar_ms, total_ms, naive_ms = [], [], [], []
    for r in range(rounds):
        for i, f in enumerate(frames):
            holder: dict = {}
            track = timed(lambda f=f, t=t, holder=holder: holder.setdefault("faces", tracker.process(f, t)))
            ctx = FrameContext(i, t, holder["faces"])
            warp = timed(lambda f=f, ctx=ctx: avatar.process(f, ctx))
            track_ms.append(track)
            avatar_ms.append(warp)
            total_ms.append(track + warp)
            if naive is not None and i % 4 == 0:  # the slow peer on every 4th frame
                naive_ms.append(timed(lambda f=f, ctx=ctx: naive.process(f, ctx)))
            t += 1 / 30
        progress(f"round {r + 1}/{rounds}: {sorted(total_ms)[len(total_ms) // 2]:.2f} ms with tracking, "
                 f"avatar alone {sorted(avatar_ms)[len(avatar_ms) // 2]:.2f} ms")
    total, alone, track = summary(total_ms), summary(avatar_ms), summary(track_ms)
    renderer = avatar.renderer
    result = {"name": "avatar", "size": "1280x720", "frames": len(frames), "source": SOURCE, **total,
              "avatar_ms_median": alone["ms_median"], "avatar_ms_p95": alone["ms_p95"],
              "tracking_ms_median": track["ms_median"], "triangles": len(renderer.warp.tris),
              "grid_px": settings.grid, "peak_rss_mb": round(peak_rss_mb(), 1)}
    fields = peer_fields(alone["ms_median"], naive_ms, "naive per-triangle warpAffine (same avatar, same frames)",
                         "own-baseline")
    if fields:
        fields["peer_ratio_note"] = "avatar stage alone, ours / naive"
    return {**result, **fields}
