"""`deepzoom eval gaze` judges the whole effect with a tracker it does not use, with a mask fixed before it."""

import numpy as np
import pytest

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.engine.video.gaze import GazeCorrector
from obs_deepzoom.evaluate import gaze as gaze_eval
from obs_deepzoom.evaluate import metrics
from obs_deepzoom.evaluate.metrics import ReferenceJudge


@pytest.fixture(scope="module")
def judge():
    return ReferenceJudge()


@pytest.fixture(scope="module")
def few():
    index, frames = gaze_eval._frames(step=12, limit=36)  # clip frames 0, 12, 24
    return index, frames


def test_the_judge_is_mediapipes_reference_mesh_not_our_tracker(judge):
    assert judge.name.startswith("mediapipe-reference 0.10.21")
    assert type(judge._mesh).__module__.startswith("mediapipe.")  # MediaPipe's own graph, not our OpenVINO models
    # the evaluation module never builds a tracker of ours to read results: only the chain (the effect) does
    assert not hasattr(gaze_eval, "FaceTracker") and not hasattr(gaze_eval, "GazeCorrector")


def test_clip_runs_the_whole_chain_and_judges_every_output(monkeypatch, judge, few):
    index, frames = few
    events = []
    chain_process, effect_process, landmarks = Chain.process, GazeCorrector.process, ReferenceJudge.landmarks

    def spy_chain(self, frame, ts=None):
        events.append(("chain", id(frame)))
        out, ctx = chain_process(self, frame, ts)
        events.append(("output", id(out)))
        return out, ctx

    def spy_effect(self, frame, ctx):
        events.append(("effect", id(frame)))
        return effect_process(self, frame, ctx)

    def spy_judge(self, img):
        events.append(("judge", id(img)))
        return landmarks(self, img)

    def no_own_reading(*_):
        raise AssertionError("the evaluation read our own iris model")

    monkeypatch.setattr(Chain, "process", spy_chain)
    monkeypatch.setattr(GazeCorrector, "process", spy_effect)
    monkeypatch.setattr(ReferenceJudge, "landmarks", spy_judge)
    monkeypatch.setattr(gaze_eval, "_iris_pitch", no_own_reading)
    monkeypatch.setattr(gaze_eval, "eye_frame", no_own_reading)
    truth = [judge.landmarks(f) for f in frames]
    events.clear()
    res = gaze_eval._clip(judge, index, frames, truth, lambda m: None, None)
    assert res["n_clip"] == len(frames)
    outputs = [e[1] for e in events if e[0] == "output"]
    judged = {e[1] for e in events if e[0] == "judge"}
    assert len(outputs) == len(frames) and [e for e in events if e[0] == "effect"]  # the real effect ran
    assert all(o in judged for o in outputs)  # every output frame was read by the judge
    assert res["clip_correction_seen_deg"] > 3  # and it saw the eyes move up


def test_psnr_mask_is_fixed_from_the_input_before_the_effect(monkeypatch, judge, few):
    index, frames = few
    events = []
    chain_process, make_mask = Chain.process, gaze_eval.eye_mask

    def spy_chain(self, frame, ts=None):
        events.append(("effect", id(frame)))
        return chain_process(self, frame, ts)

    def spy_mask(lm, shape, margin):
        events.append(("mask", id(lm)))
        return make_mask(lm, shape, margin)

    monkeypatch.setattr(Chain, "process", spy_chain)
    monkeypatch.setattr(gaze_eval, "eye_mask", spy_mask)
    truth = [judge.landmarks(f) for f in frames]  # the judge on the unedited inputs
    gaze_eval._clip(judge, index, frames, truth, lambda m: None, None)
    assert [e[0] for e in events] == ["mask", "effect"] * len(frames)
    # each mask comes from the judge's points on that frame's input
    assert [e[1] for e in events if e[0] == "mask"] == [id(lm) for lm in truth]
    assert [e[1] for e in events if e[0] == "effect"] == [id(f) for f in frames]


def test_eye_mask_covers_both_eyes_and_grows_with_the_margin(judge, few):
    _, frames = few
    lm = judge.landmarks(frames[0])
    small, big = metrics.eye_mask(lm, frames[0].shape, 0.0), metrics.eye_mask(lm, frames[0].shape, 0.4)
    for eye in (0, 1):
        x, y = np.rint(metrics.judge_iris(lm, eye)[0]).astype(int)
        assert small[y, x] and big[y, x]
    assert small.sum() < big.sum() < 0.05 * big.size
    assert not big[int(lm[1, 1]), int(lm[1, 0])]  # the nose tip is outside


def test_judge_reads_a_turn_placed_with_its_own_geometry(judge, few):
    _, frames = few
    lm = judge.landmarks(frames[0])
    down = gaze_eval._turn(frames[0], gaze_eval.judge_face(lm), -10.0)
    seen = gaze_eval.judge_pitch(lm, lm) - gaze_eval.judge_pitch(lm, judge.landmarks(down))
    assert 5.0 < seen < 12.0  # the judge reads the down-turn (somewhat short: the lower lid hides the iris)
