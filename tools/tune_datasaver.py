"""Choose the data-saver preset's background settings on the calibration clip (its first 240 frames), never on
the sample clip `deepzoom eval datasaver` reports on. Development only:

    DEEPZOOM_OFFLINE=1 PYTHONPATH=. .venv/bin/python tools/tune_datasaver.py

Prints each candidate's x264 bitrate saving at CRF 23 and its face PSNR change (evaluate/datasaver.py)."""

from __future__ import annotations

import json

from obs_deepzoom.evaluate import datasaver
from obs_deepzoom.evaluate.codec import calibration_clip

FRAMES = 240
POSTERIZE = ["background.mode=posterize"]
CANDIDATES = {"blur": ["background.mode=blur"], "flat": ["background.mode=flat"],
              "posterize 4": [*POSTERIZE, "background.levels=4"], "posterize 6": POSTERIZE,
              "posterize 10": [*POSTERIZE, "background.levels=10"],
              "posterize 6, blur 24": [*POSTERIZE, "background.blur=24"]}


def main() -> None:
    frames, fps = calibration_clip()
    print(json.dumps(datasaver.measure(frames[:FRAMES], fps, CANDIDATES), indent=1))


if __name__ == "__main__":
    main()
