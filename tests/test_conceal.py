"""Video-dropout concealment on the real sample clip with a frozen stretch and real speech: short repeats pass,
a dropout is animated by the voice from the last good picture, the return fades back, a black camera counts as a
dropout, and with no face ever seen nothing is invented."""

from __future__ import annotations

import numpy as np
import pytest

from obs_deepzoom.engine.chain import Chain
from obs_deepzoom.evaluate import conceal as ev
from obs_deepzoom.settings import ChainSettings, apply_overrides

START, N = 20, 24


@pytest.fixture(scope="module")
def speech():
    return ev.speech_blocks(72)


def _diff(a, b) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_a_frozen_camera_is_animated_then_fades_back(clip_frames, speech):
    frames = ev.dropped_clip(clip_frames[:60], START, N)
    out, effect = ev.run_effect(frames, *speech)
    assert effect.dropouts == 1
    freeze = round(ChainSettings().conceal.freeze_ms / 1000 * ev.FPS)
    for i in range(START, START + freeze):  # still within freeze_ms: the camera's (repeated) picture
        assert np.array_equal(out[i], frames[i])
    concealed = range(START + freeze + 1, START + N)
    assert all(_diff(out[i], frames[i]) > 0.5 for i in concealed)  # not the frozen picture
    assert np.mean([_diff(out[i], out[i - 1]) > 0.05 for i in concealed]) > 0.9  # and it moves
    back = START + N
    fade = round(ChainSettings().conceal.fade_ms / 1000 * ev.FPS)
    assert not np.array_equal(out[back + 1], frames[back + 1])  # a blend while fading back
    for i in range(back + fade + 1, 60):
        assert np.array_equal(out[i], frames[i])
    for i in range(0, START):
        assert np.array_equal(out[i], frames[i])


def test_short_repeats_pass_and_black_counts_as_a_dropout(clip_frames, speech):
    frames = list(clip_frames[:40])
    for i in range(10, 40, 3):  # a camera delivering every third frame twice
        frames[i] = frames[i - 1]
    out, effect = ev.run_effect(frames, *speech)
    assert effect.dropouts == 0 and all(np.array_equal(a, b) for a, b in zip(out, frames))
    black = list(clip_frames[:30]) + [np.zeros_like(clip_frames[0])] * 20
    out, effect = ev.run_effect(black, *speech)
    assert effect.dropouts == 1 and _diff(out[-1], black[-1]) > 20  # the last good picture, not black


def test_no_face_no_invention(speech):
    rng = np.random.default_rng(0)
    wall = rng.integers(60, 200, (360, 640, 3), dtype=np.uint8)
    frames = [wall.copy() for _ in range(20)]
    settings = apply_overrides(ChainSettings(), ["conceal.freeze_ms=100"])
    out, effect = ev.run_effect(frames, *speech, settings)
    assert effect.dropouts == 1 and all(np.array_equal(a, b) for a, b in zip(out, frames))


def test_a_camera_that_stops_sending_is_concealed_then_fades_back(clip_frames, speech):
    """No frame at all (unplugged, or a driver that stops): `missing` animates the last good picture once
    `freeze_ms` has passed; the next real frame fades back."""
    blocks, rate = speech
    chain = Chain(["conceal"], ChainSettings())
    effect = chain.effects[0]
    freeze = ChainSettings().conceal.freeze_ms / 1000
    assert effect.missing(1.0) is None  # nothing seen yet
    for i in range(20):
        effect.feed_audio(blocks[i], rate)
        chain.process(clip_frames[i], i / ev.FPS)
    last = 19 / ev.FPS
    assert effect.missing(last + freeze * 0.9) is None  # not long enough
    shown = []
    for k in range(20):
        effect.feed_audio(blocks[20 + k], rate)
        shown.append(effect.missing(last + freeze + k / ev.FPS))
    assert all(s is not None and s.shape == clip_frames[0].shape for s in shown) and effect.dropouts == 1
    assert np.mean([_diff(a, b) > 0.05 for a, b in zip(shown, shown[1:])]) > 0.9  # it moves
    assert _diff(shown[-1], clip_frames[19]) < 25  # the speaker, from the last picture
    back = last + freeze + 20 / ev.FPS
    first = chain.process(clip_frames[40], back)[0]
    assert not np.array_equal(first, clip_frames[40]) and effect.state == "returning"  # fading back
    after = chain.process(clip_frames[41], back + 1.0)[0]
    assert np.array_equal(after, clip_frames[41]) and effect.state == "live"
    off = Chain(["conceal"], apply_overrides(ChainSettings(), ["conceal.enabled=false"]))
    off.process(clip_frames[0], 0.0)
    assert off.effects[0].missing(10.0) is None


def test_a_slow_camera_is_no_dropout_and_a_long_dropout_ends(clip_frames, speech):
    """Gaps of a camera's usual pace (3 of its frame intervals) are not dropouts; concealment stops after `max_s`
    (a camera turned off on purpose); a source no longer shown is forgotten."""
    blocks, rate = speech
    chain = Chain(["conceal"], apply_overrides(ChainSettings(), ["conceal.max_s=1"]))
    effect = chain.effects[0]
    for i in range(10):  # a 3-fps camera
        effect.feed_audio(blocks[i], rate)
        chain.process(clip_frames[i], i / 3)
    last = 9 / 3
    assert effect.missing(last + 0.5) is None  # freeze_ms passed, but not 3 of its intervals
    assert effect.missing(last + 1.1) is not None and effect.dropouts == 1
    assert effect.missing(last + 2.0) is not None  # within max_s of the dropout's start
    assert effect.missing(last + 2.2) is None  # past it: the camera's own picture again
    back = chain.process(clip_frames[10], last + 3.0)[0]
    assert np.array_equal(back, clip_frames[10]) and effect.state == "live"  # nothing to fade from
    effect.forget()
    assert effect.missing(last + 10) is None
