"""Choose the keypoint codec's defaults (keyframe quality, refresh threshold, keyframe planning, quantisation)
on the calibration clip, never on the sample clip `deepzoom eval codec` reports on. Development only:

    DEEPZOOM_OFFLINE=1 PYTHONPATH=. .venv/bin/python tools/tune_codec.py [FIELD=V1,V2,... ...]

(no arguments: keyframe_quality=50,70,85 refresh_db=0,16,19,22).

Prints, per setting, the steady-state kbps (first keyframe left out), keyframes and the judged face quality,
then the x264 sweep on the same frames and each setting's least ratio (evaluate/codec.py explains the ratio)."""

from __future__ import annotations

import itertools
import sys

from obs_deepzoom.evaluate import codec
from obs_deepzoom.evaluate.codec import calibration_clip
from obs_deepzoom.settings import CodecSettings

GRID = {"keyframe_quality": (50, 70, 85), "refresh_db": (0.0, 16.0, 19.0, 22.0)}


def grid(args: list[str]) -> dict:
    if not args:
        return GRID
    out = {}
    for arg in args:
        field, _, values = arg.partition("=")
        out[field] = tuple(values.split(","))
    return out


def main() -> None:
    frames, fps = calibration_clip()
    axes = grid(sys.argv[1:])
    judges, seconds = codec.Judges(frames), len(frames) / fps
    curve = codec._sweep(judges, frames, fps, "libx264", "bits_steady", print)
    for values in itertools.product(*axes.values()):
        s = CodecSettings(**dict(zip(axes, values)))
        mine = codec.ours(frames, fps, s)
        q = judges.quality(mine["frames"])
        kbps = mine["bits_steady"] / 1000 / seconds
        r = codec._ratios(kbps, q, curve)
        print(dict(zip(axes, values)), f"{kbps:.2f} kbps, {mine['keyframes']} keyframes", mine["plan"], q,
              {k: (v["ratio"], v["bound"]) for k, v in r["per_metric"].items()}, "least", r["ratio"])


if __name__ == "__main__":
    main()
