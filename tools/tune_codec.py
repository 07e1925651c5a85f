"""Choose the keypoint codec's defaults (keyframe quality, refresh threshold) on the calibration clip, never on
the sample clip `deepzoom eval codec` reports on. Development only:

    DEEPZOOM_OFFLINE=1 PYTHONPATH=. .venv/bin/python tools/tune_codec.py

Prints, per setting, the steady-state kbps (first keyframe left out), keyframes and the judged face quality,
then the x264 sweep on the same frames and each setting's least ratio (evaluate/codec.py explains the ratio)."""

from __future__ import annotations

import itertools

from obs_deepzoom.evaluate import codec
from obs_deepzoom.evaluate.codec import calibration_clip
from obs_deepzoom.settings import CodecSettings

GRID = {"keyframe_quality": (50, 70, 85), "refresh_db": (0.0, 16.0, 19.0, 22.0)}


def main() -> None:
    frames, fps = calibration_clip()
    judges, seconds = codec.Judges(frames), len(frames) / fps
    curve = codec._sweep(judges, frames, fps, "libx264", "bits_steady", print)
    for values in itertools.product(*GRID.values()):
        s = CodecSettings(**dict(zip(GRID, values)))
        mine = codec.ours(frames, fps, s)
        q = judges.quality(mine["frames"])
        kbps = mine["bits_steady"] / 1000 / seconds
        r = codec._ratios(kbps, q, curve)
        print(dict(zip(GRID, values)), f"{kbps:.2f} kbps, {mine['keyframes']} keyframes", q,
              {k: (v["ratio"], v["bound"]) for k, v in r["per_metric"].items()}, "least", r["ratio"])


if __name__ == "__main__":
    main()
