"""`deepzoom bench`: the audio peers and their measured latencies, and gaze (in-process, short runs)."""

import numpy as np
import pytest
from bench_checks import check_bench

from obs_deepzoom.bench import audio
from obs_deepzoom.engine.audio.stream import OBS_BLOCK
from obs_deepzoom.settings import AutoMuteSettings

RATE = audio.RATE


def speech(seconds: float) -> np.ndarray:
    return audio._signal(seconds)


def test_latency_is_measured_not_declared():
    x = speech(3)
    delay = 123  # a pure delay line: 123 samples = 2.5625 ms
    state = {"tail": np.zeros((2, delay), np.float32)}

    def delayed(block):
        both = np.concatenate([state["tail"], block], axis=1)
        state["tail"] = both[:, -delay:]
        return both[:, : block.shape[1]]

    assert audio.measure_latency_ms(delayed, x) == round(1000 * delay / RATE, 2)
    # the adapter of frame-based peers: exactly one frame (10 ms at 480 samples) for any block size
    assert audio.measure_latency_ms(audio.BlockAdapter(480, 2, lambda fr: fr), x) == 10.0


@pytest.mark.parametrize("per_channel", [False, True])
def test_rnnoise_peer_is_a_block_filter_30_ms_late(per_channel):
    """RNNoise's own 20 ms plus the 10 ms frame that a block filter around it must wait for."""
    x = speech(3)
    filt = audio.rnnoise_filter(per_channel)
    out = filt(x[:, :OBS_BLOCK])
    assert out.shape == (2, OBS_BLOCK)
    assert abs(audio.measure_latency_ms(audio.rnnoise_filter(per_channel), x) - 30.0) <= 0.1
    if not per_channel:  # one network on the mix: both channels get the same output
        y = np.concatenate([filt(x[:, i:i + OBS_BLOCK]) for i in range(OBS_BLOCK, 40 * OBS_BLOCK, OBS_BLOCK)], 1)
        assert np.array_equal(y[0], y[1]) and np.abs(y).max() > 0.01


def test_webrtcvad_gate_passes_speech_and_mutes_silence():
    pytest.importorskip("webrtcvad")
    x = speech(4)
    silent = np.concatenate([np.zeros((2, 2 * RATE), np.float32), x], axis=1)
    gate = audio.WebRtcVadGate(AutoMuteSettings(hangover_ms=300))
    out = np.concatenate([gate.process(silent[:, i:i + OBS_BLOCK])
                          for i in range(0, silent.shape[1] // OBS_BLOCK * OBS_BLOCK, OBS_BLOCK)], axis=1)
    assert np.abs(out[:, : RATE]).max() == 0  # digital silence stays shut
    voiced = out[:, 2 * RATE:]
    assert np.mean(np.abs(voiced) > 1e-4) > 0.3, "the gate never opened on speech"
    assert audio.measure_latency_ms(audio.WebRtcVadGate(AutoMuteSettings()).process, x) == 30.0


def test_bench_automute_against_webrtcvad():
    pytest.importorskip("webrtcvad")
    res = audio.run("automute", seconds=3, rounds=1, progress=lambda *_: None)
    check_bench(res, "outside")
    assert "webrtcvad" in res["peer"]
    block_ms = 1000 * OBS_BLOCK / RATE
    assert res["rtf"] == pytest.approx(res["ms_median"] / block_ms, abs=1e-4)
    assert res["peer_rtf"] == pytest.approx(res["peer_ms_median"] / block_ms, abs=1e-4)
    assert abs(res["latency_ms_measured"] - res["latency_ms"]) <= 0.5  # ours: as declared (the lookahead)
    assert abs(res["peer_latency_ms"] - audio.WEBRTCVAD_FRAME_MS) <= 0.5


def test_bench_gaze_compares_the_warp_with_its_own_tracking():
    from obs_deepzoom.bench import gaze

    res = gaze.run(rounds=1, progress=lambda *_: None)
    check_bench(res, "own-baseline")
    assert res["corrected_frames_pct"] >= 90  # the clip's face is looked at throughout
    assert res["with_tracking_ms_median"] >= res["ms_median"]  # tracking + warp, frame by frame


def test_bench_denoise_compares_like_for_like():
    """One RNNoise on the mono mix against `best` on the mono mix; one per channel against `best` per channel."""
    res = audio.run("denoise", seconds=3, rounds=1, progress=lambda *_: None)
    check_bench(res, "outside")
    assert "mono mix" in res["peer"] and "per channel" in res["peer_per_channel"]
    assert res["peer_ratio_per_channel"] == pytest.approx(
        res["ms_median_best_per_channel"] / res["peer_per_channel_ms_median"], rel=2e-3, abs=1.5e-3)
    assert res["peer_ratio_light"] == pytest.approx(res["ms_median_light"] / res["peer_ms_median"], rel=2e-3,
                                                    abs=1.5e-3)
    # latencies are measured on the output, not declared: RNNoise's 20 ms + one 10 ms frame, ours as declared
    assert abs(res["peer_latency_ms"] - 30.0) <= 0.5 and abs(res["peer_per_channel_latency_ms"] - 30.0) <= 0.5
    assert abs(res["latency_ms_measured"] - res["latency_ms"]) <= 0.5
    # two networks cost more than one (the per-channel peer and ours alike)
    assert res["peer_per_channel_ms_median"] > res["peer_ms_median"]
    assert res["ms_median_best_per_channel"] > res["ms_median"]


def test_bench_framing_against_a_centre_crop():
    from obs_deepzoom.bench import framing

    res = framing.run(rounds=1, seconds=2, progress=lambda *_: None)
    check_bench(res, "own-baseline")
    assert res["with_tracking_ms_median"] >= res["ms_median"]  # tracking + crop, frame by frame
    assert res["cropped_frames_pct"] >= 80 and res["zoom_median"] > 1.2, res  # the scene's face is small: zoomed
    assert 0 < res["resize_ms_median"] <= res["ms_median"], res  # the crop + scale holds its resize
