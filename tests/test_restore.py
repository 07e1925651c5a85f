"""Face restore (FSRCNN on the tracked face) on real portraits with the real models."""

import cv2
import numpy as np
import pytest

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.engine.video.restore import face_box
from obs_deepzoom.evaluate.metrics import psnr
from obs_deepzoom.evaluate.restore import degrade, face_boxes
from obs_deepzoom.media import read_image
from obs_deepzoom.modelstore.manifest import load_manifest
from obs_deepzoom.samples import sample
from obs_deepzoom.settings import ChainSettings


def _chain(**options) -> Chain:
    settings = ChainSettings()
    settings.restore = settings.restore.model_copy(update=options)
    return Chain(["restore"], settings)


def test_manifest_has_dynamic_fsrcnn():
    for scale in (2, 4):
        entry = load_manifest().get(f"fsrcnn_x{scale}")
        assert entry.licence == "MIT" and entry.inputs[0].shape == [1, -1, -1, 1]


@pytest.mark.parametrize("name", ["grace_hopper.jpg", "astronaut.png"])
def test_restore_beats_bicubic_on_the_face(name):
    from obs_deepzoom.engine.models import FaceDetector

    hr = read_image(sample(name))
    h, w = (s // 4 * 4 for s in hr.shape[:2])
    hr = hr[:h, :w]
    (x0, y0, x1, y1), *_ = face_boxes(hr, FaceDetector("short"))
    lr = degrade(hr, 4)
    chain = _chain(mode="upscale", output_height=h)
    ours, ctx = chain.process(lr, 0.0)
    bicubic = cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC)
    assert ours.shape == hr.shape and ctx.faces
    gain = psnr(ours[y0:y1, x0:x1], hr[y0:y1, x0:x1]) - psnr(bicubic[y0:y1, x0:x1], hr[y0:y1, x0:x1])
    assert gain > 0.2, gain


def test_upscale_240p_to_720p_and_enhance_keeps_the_size(clip_frames):
    small = cv2.resize(clip_frames[30], (426, 240), interpolation=cv2.INTER_AREA)
    up = _chain(mode="upscale", output_height=720)
    out, ctx = up.process(small, 0.0)
    assert out.shape == (720, 1278, 3) and ctx.faces and up.effects[0].regions
    enhance = _chain(mode="enhance", scale=3)
    out, _ = enhance.process(clip_frames[30], 0.0)
    assert out.shape == clip_frames[30].shape and np.abs(out.astype(int) - clip_frames[30]).max() > 0


def test_no_face_is_a_plain_upscale():
    blank = np.full((120, 160, 3), 128, np.uint8)
    blank[40:80, 60:100] = 30
    out, ctx = _chain(mode="upscale", output_height=360).process(blank, 0.0)
    assert not ctx.faces and out.shape == (360, 480, 3)
    assert np.array_equal(out, cv2.resize(blank, (480, 360), interpolation=cv2.INTER_CUBIC))
    tiny = np.zeros((8, 8, 3), np.uint8)
    assert _chain(mode="enhance").process(tiny, 0.0)[0] is tiny


def test_face_box_stays_inside_the_frame():
    pts = np.array([[-10.0, -5.0, 0], [30.0, 40.0, 0]])
    x0, y0, x1, y1 = face_box(pts, 1.3, (100, 80))
    assert 0 <= x0 < x1 <= 100 and 0 <= y0 < y1 <= 80
    assert face_box(np.array([[0.0, 0.0, 0], [2.0, 2.0, 0]]), 1.0, (10, 10)) is None
