"""The frame loop and timing summary every video job shares (obs_deepzoom.jobs.frames)."""

import numpy as np
import pytest

from obs_deepzoom.engine.contract import FrameContext
from obs_deepzoom.errors import InputError
from obs_deepzoom.jobs.frames import frame_total, run_frames, timing_summary


def test_frame_total_caps_the_known_count():
    assert (frame_total(72, 0), frame_total(72, 10), frame_total(0, 10), frame_total(None, 0)) == (72, 10, 10, None)


def test_the_loop_steps_at_the_frame_times_and_stops_at_max_frames():
    seen = []

    def step(i, t, frame):
        seen.append((i, t))
        return frame + 1, FrameContext(i, t, faces=[object()] if i % 2 else [], timings={"x": float(i)})

    frames = (np.zeros((4, 4, 3), np.uint8) for _ in range(10))
    written = []
    run = run_frames(frames, 25.0, step, max_frames=4, compose=lambda i, f, r: written.append(r) or r)
    assert seen == [(i, i / 25.0) for i in range(4)] and len(written) == 4 and written[0].max() == 1
    assert (run.frames, run.faces_seen, len(run.step_ms)) == (4, 2, 4)
    assert run.summary() == {"frames": 4, "frames_with_face": 2, "ms_median": {"x": 1.5}, "ms_p95": {"x": 2.85}}


def test_no_frame_is_the_given_error():
    with pytest.raises(InputError, match="nothing here"):
        run_frames(iter(()), 30.0, lambda i, t, f: (f, FrameContext(i, t)), empty="nothing here")


def test_the_summary_has_every_stage_of_any_frame():
    s = timing_summary([{"a": 1.0}, {"a": 3.0, "b": 2.0}], 1)
    assert s["ms_median"] == {"a": 2.0, "b": 1.0} and s["frames"] == 2
