"""Quality guard for face tracking: the whole `deepzoom eval face` (72 clip frames, 3 portraits, ~10 s).
The reference is MediaPipe's own Python solution running the same published networks, so these figures measure
our pipeline (conversion, crops, smoothing) against the reference pipeline, not landmark accuracy on ground truth
(docs/face-tracking.md)."""

from obs_deepzoom.evaluate import face as ev


def test_face_tracking_matches_the_reference_pipeline():
    r = ev.run(progress=lambda *_: None)
    assert r["n"] == 72 and r["n_portraits"] == 3, r
    assert r["tracked_frames_pct"] == 100.0 and r["detector_runs"] == 1, r
    # docs/face-tracking.md: NME 0.041 % (raw), 0.581 % (smoothed), iris 0.684 %, detection IoU min 0.999
    assert r["nme_pct"] <= 0.1, r
    assert r["nme_pct_smoothed"] <= 0.65, r
    assert r["iris_err_pct_vs_refined"] <= 0.75, r
    assert r["detection_iou_min"] >= 0.98, r
