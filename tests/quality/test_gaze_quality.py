"""Quality guard: `deepzoom eval gaze` at reduced size (every 3rd clip frame, a 30-frame still head), judged
by MediaPipe's reference mesh. Thresholds sit a little below the figures in docs/gaze.md (full size: residual
0.89 / 1.14 deg at 5 / 10 deg, clip 2.25 deg where on, jitter 0.143 px), so a regression fails."""

from obs_deepzoom.evaluate import gaze


def test_gaze_quality_does_not_regress():
    res = gaze.run(progress=lambda m: None, step=3, jitter_frames=30)
    assert res["judge"].startswith("mediapipe-reference")
    # this reduced run measured: 0.88 / 0.86 deg, clip seen 7.14 deg, residual 2.21 deg on / 2.86 all, jitter
    # 0.148 px (excess 0.12)
    assert res["residual_deg_5"] <= 1.0 and res["residual_deg_10"] <= 1.0, res
    assert res["synthetic_judge_lost_10"] == 0 and res["synthetic_on_pct_10"] >= 90, res
    assert res["clip_correction_seen_deg"] >= 6.8 and res["clip_residual_deg_on"] <= 2.4, res
    assert res["clip_residual_deg"] <= 3.1 and res["clip_on_pct"] >= 88, res
    assert res["changed_px_outside_eyes"] == 0 and res["psnr_face_outside_eyes_db"] >= 50, res
    assert res["jitter_px_rms"] <= 0.18 and res["jitter_px_excess"] <= 0.15, res
    assert res["eye_pixel_step_rms"] <= 1.1 * res["eye_pixel_step_rms_input"], res
    assert res["switched_off_within_hold_pct"] == 100 and res["switch_off_lag_frames_max"] <= 1, res
    assert res["switched_off_pct"] >= 60, res
