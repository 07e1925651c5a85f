"""Quality guard: `deepzoom eval analytics` in full (johns, face_recognition's, ORL and CK+ pictures, ~2 min).
Thresholds sit a little below the figures in docs/analytics.md, so a regression fails."""

from obs_deepzoom.evaluate import analytics
from obs_deepzoom.settings import AnalyticsSettings


def test_analytics_quality_does_not_regress():
    r = analytics.run(progress=lambda *_: None)
    # docs/analytics.md: ORL (held out, 40 people) AUC 0.9813 (dlib 0.9996), balanced accuracy at the shipped
    # threshold 0.8675 (dlib 0.9865); tune set AUC 0.9987, leave-one-person-out 0.973; face_recognition's four
    # pictures 0.833 at the default; gender: men 61 of 61, women 3 of 5 (balanced 0.8)
    assert r["tune_faces_found_pct"] == 100 and r["faces_found_pct"] == 100 and r["orl_faces_found_pct"] == 100, r
    assert r["verify_auc"] >= 0.975 and r["verify_accuracy"] >= 0.85, r
    assert r["tune_roc_auc"] >= 0.995 and r["tune_accuracy_leave_one_person_out"] >= 0.96, r
    assert r["roc_auc"] >= 0.99 and r["accuracy_at_default"] >= 0.8, r
    # expressions on CK+ frames: 58 of 61 (balanced over the five classes present 0.79)
    assert r["expression_n"] == 61 and r["expression_accuracy"] >= 0.9, r
    assert r["gender_accuracy_male"] >= 0.98 and r["gender_accuracy_female"] >= 0.6, r
    assert r["gender_n_female"] == 5 and r["gender_missed"] <= 1, r
    # the shipped threshold is what the rule chose on the tune set (not on the held-out pictures)
    assert abs(AnalyticsSettings().threshold - r["tune_threshold_chosen"]) <= 0.01, r
    # identity clustering as a live clip: johns 5 people -> 6 labels, purity 1.0, completeness 0.98
    assert r["clusters_tune_people"] == 5 and 5 <= r["clusters_tune_identities_found"] <= 7, r
    assert r["clusters_tune_purity"] >= 0.97 and r["clusters_tune_completeness"] >= 0.9, r
    assert r["clusters_shots_unlabelled"] == 0 and r["clusters_purity"] >= 0.97, r
    # ORL, 20 people x 3 pictures: 15 labels, purity 0.65 (the embedding merges people on these small grey faces)
    assert r["clusters_orl_people"] == 20 and r["clusters_orl_purity"] >= 0.6, r
    # the peer ran in the same process and is scored the same way
    assert r["peer_kind"] == "outside" and r["peer_verify_auc"] >= 0.99, r
