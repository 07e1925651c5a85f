"""`deepzoom eval conceal`: video-dropout concealment on a clip with frames dropped on purpose.

The sample clip (72 frames) with a dropout made the way a frozen camera shows in OBS: frames DROP_START ..
DROP_START + DROP_FRAMES - 1 are replaced by the last frame before them (the picture stops); the LibriVox speech
sample plays along (the voice the concealment follows). Measured on the effect's output: how long the picture
stays frozen before the concealment starts (`detect_ms`, the setting `freeze_ms` rounded up to frames), the share
of concealed frames that differ from the frame before (`alive_pct`: the picture moves), the correlation of the
mouth opening with the voice's level over the concealed frames (the judge: MediaPipe's reference mesh on the
output, not our tracker), beside what chance reaches (`mouth_voice_corr_shuffled_p95`: the levels shuffled), the
largest step between consecutive frames around the return against the clip's own typical step
(`return_jump_ratio`: near 1 is a smooth return, a hard cut is several times more), and, for honesty, the face
PSNR of the concealed frames against the real frames that were dropped, beside the frozen picture's."""

from __future__ import annotations

import numpy as np

from ..audio_io import read_audio
from ..engine.chain import Chain
from ..media import VideoSource
from ..samples import DEMO_CLIP, sample
from ..settings import ChainSettings
from .metrics import ReferenceJudge, psnr

DROP_START, DROP_FRAMES, FPS = 24, 30, 30.0
SPEECH = "speech_librivox.wav"
SPEECH_OFFSET_S = 1.0  # where in the speech sample the clip starts (a stretch with words)


def dropped_clip(frames: list[np.ndarray], start: int = DROP_START, n: int = DROP_FRAMES) -> list[np.ndarray]:
    return [frames[start - 1] if start <= i < start + n else f for i, f in enumerate(frames)]


def speech_blocks(n_frames: int, fps: float = FPS) -> tuple[list[np.ndarray], int]:
    """The speech sample cut into one block per video frame (mono), and its rate."""
    audio = read_audio(sample(SPEECH))
    x = audio.samples.mean(0)
    per = audio.rate / fps
    first = round(SPEECH_OFFSET_S * audio.rate)
    return [x[first + round(i * per): first + round((i + 1) * per)] for i in range(n_frames)], audio.rate


def run_effect(frames: list[np.ndarray], blocks: list[np.ndarray], rate: int,
               settings: ChainSettings | None = None) -> tuple[list[np.ndarray], object]:
    chain = Chain(["conceal"], settings or ChainSettings())
    effect = chain.effects[0]
    out = []
    for i, (f, b) in enumerate(zip(frames, blocks)):
        effect.feed_audio(b, rate)
        out.append(chain.process(f, i / FPS)[0])
    return out, effect


def _mouth_open(lm: np.ndarray | None) -> float:
    if lm is None:
        return float("nan")
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    return float(np.linalg.norm(lm[13, :2] - lm[14, :2])) / max(iod, 1e-6)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~np.isnan(a)
    return float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 3 else float("nan")


def _shuffled_corr(a: np.ndarray, b: np.ndarray, n: int = 1000) -> float:
    """The 95th percentile of |correlation| with the voice's levels in random order (seeded): what chance
    alone reaches with this few frames."""
    rng = np.random.default_rng(0)
    return float(np.nanpercentile([abs(_corr(a, rng.permutation(b))) for _ in range(n)], 95))


def _step(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def run(progress=print) -> dict:
    real = list(VideoSource.open_file(sample(DEMO_CLIP)).frames())
    frames = dropped_clip(real)
    blocks, rate = speech_blocks(len(frames))
    settings = ChainSettings()
    progress(f"{len(frames)} frames, frozen {DROP_FRAMES} frames from frame {DROP_START}, voice: {SPEECH}")
    out, effect = run_effect(frames, blocks, rate, settings)
    span = range(DROP_START, DROP_START + DROP_FRAMES)
    changed = [i for i in span if _step(out[i], out[i - 1]) > 0.05]
    first = changed[0] if changed else None
    back = DROP_START + DROP_FRAMES
    live = [i for i in span if i >= (first or back)]  # the concealed frames
    judge = ReferenceJudge()
    opening = np.array([_mouth_open(judge.landmarks(out[i])) for i in live])
    truth_box = judge.landmarks(real[DROP_START])
    judge.close()
    level = np.array([10 * np.log10(float(np.mean(blocks[i] ** 2)) + 1e-10) for i in live])
    corr, control = _corr(opening, level), _shuffled_corr(opening, level)
    steps = [_step(real[i], real[i - 1]) for i in range(1, len(real))]
    jump = max(_step(out[i], out[i - 1]) for i in range(back, min(back + 8, len(out))))
    if truth_box is None:  # the judge found no face on the real frame: the whole frame
        box = (slice(None), slice(None))
    else:
        (x0, y0), (x1, y1) = truth_box[:468, :2].min(0).astype(int), truth_box[:468, :2].max(0).astype(int)
        box = (slice(max(y0, 0), y1), slice(max(x0, 0), x1))
    return {
        "name": "conceal", "judge": "mediapipe-reference mesh (mouth opening)", "frames": len(frames),
        "dropout_frames": DROP_FRAMES, "freeze_ms": settings.conceal.freeze_ms, "dropouts": effect.dropouts,
        "detect_ms": round((first - DROP_START) * 1000 / FPS, 1) if first is not None else float("nan"),
        "alive_pct": round(100 * len([i for i in live if i in changed]) / max(len(live), 1), 1),
        "mouth_voice_corr": round(corr, 3), "mouth_voice_corr_shuffled_p95": round(control, 3),
        "return_jump_ratio": round(jump / float(np.median(steps)), 2),
        "face_psnr_concealed_db": round(float(np.mean([psnr(out[i][box], real[i][box]) for i in live])), 2),
        "face_psnr_frozen_db": round(float(np.mean([psnr(frames[i][box], real[i][box]) for i in live])), 2),
    }
