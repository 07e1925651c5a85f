"""`deepzoom bench restore`: the restore effect in upscale mode, 240p -> 720p (the sample clip reduced to
426x240, or 640x360 with `input_height` 360, and JPEG-compressed at quality 40 like a poor call, so the
blockiness-gated deblocker runs: the worst case), face tracking included, against FSRCNN x4 on the whole frame
(the usual way to run it: same model, same OpenVINO runtime, scaled to 720p) in alternating passes in the same
process. That peer is an own baseline (peer_kind "own-baseline"): OpenCV's dnn_superres, the usual outside way
to run FSRCNN, is only in opencv-contrib (which cannot share an environment with opencv-python-headless), and
OpenCV 5's DNN module no longer reads the TensorFlow .pb; the other super-resolution packages need torch and
download their weights at run time."""

from __future__ import annotations

import cv2
import numpy as np

from ..engine.chain import Chain
from ..engine.models import SuperResolution
from ..evaluate.restore import JPEG_QUALITY, degrade
from ..media import VideoSource
from ..samples import DEMO_CLIP, sample
from ..settings import ChainSettings
from . import peak_rss_mb, peer_fields, summary, timed

INPUTS = {240: (426, 240), 360: (640, 360)}  # input lines: (w, h)
OUTPUT_HEIGHT = 720


def _whole_frame(sr: SuperResolution, frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The peer: FSRCNN on the luma of the whole frame, chroma bicubic, scaled to `size`."""
    up = cv2.resize(frame, size, interpolation=cv2.INTER_CUBIC)
    y = cv2.resize(sr.run(cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)[..., 0]) * np.float32(255), size,
                   interpolation=cv2.INTER_AREA)
    ycc = cv2.cvtColor(up, cv2.COLOR_BGR2YCrCb)
    ycc[..., 0] = np.clip(y, 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)


def run(rounds: int = 3, peer: bool = True, progress=print, input_height: int = 240) -> dict:
    size = INPUTS[input_height]
    frames = [degrade(cv2.resize(f, size, interpolation=cv2.INTER_AREA), 1)
              for f in VideoSource.open_file(sample(DEMO_CLIP)).frames()]
    settings = ChainSettings()
    settings.restore = settings.restore.model_copy(update={"mode": "upscale", "output_height": OUTPUT_HEIGHT})
    chain = Chain(["restore"], settings)
    out_size = chain.effects[0].output_size(size)
    t = 0.0
    for f in frames[:10]:  # warm-up: compilation, first detection, the model's first shapes
        chain.process(f, t)
        t += 1 / 30
    sr = SuperResolution(4, settings.restore.device) if peer else None
    if sr is not None:
        _whole_frame(sr, frames[0], out_size)
    rss = peak_rss_mb()
    ours, peer_ms, stages = [], [], []
    for r in range(rounds):
        for f in frames:
            ours.append(timed(lambda f=f, t=t: stages.append(chain.process(f, t)[1].timings)))
            t += 1 / 30
        if sr is not None:
            peer_ms += [timed(lambda f=f: _whole_frame(sr, f, out_size)) for f in frames]
        progress(f"round {r + 1}/{rounds}: ours {np.median(ours):.2f} ms"
                 + (f", whole-frame FSRCNN {np.median(peer_ms):.2f} ms" if peer_ms else ""))
    result: dict = {"name": "restore", "input": f"{size[0]}x{size[1]}", "output": f"{out_size[0]}x{out_size[1]}",
                    "jpeg_quality": JPEG_QUALITY, "frames": len(frames), "rounds": rounds}
    result.update(summary(ours))
    result["face_ms_median"] = round(float(np.median([s.get("face", 0.0) for s in stages])), 3)
    result["restore_ms_median"] = round(float(np.median([s.get("restore", 0.0) for s in stages])), 3)
    result["peak_rss_mb"] = round(rss, 1)
    peer = "FSRCNN x4 on the whole frame (same OpenVINO model), scaled to the output"
    result.update(peer_fields(result["ms_median"], peer_ms, peer, "own-baseline"))
    return result
