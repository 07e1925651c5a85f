"""Quality guard: `deepzoom eval analytics` in full (johns, face_recognition's, ORL and CK+ pictures, ~2 min).
Thresholds sit a little below the figures in docs/analytics.md, so a regression fails."""

from obs_deepzoom.evaluate import analytics
from obs_deepzoom.settings import AnalyticsSettings


def test_analytics_quality_does_not_regress():
    r = analytics.run(progress=lambda *_: None)
    # docs/analytics.md: ORL (held out, 40 people) AUC 1.0 (dlib 0.9996), balanced accuracy at the shipped
    # threshold 0.9947 (dlib 0.9865 at its 0.6); tune set AUC 1.0, leave-one-person-out 1.0; face_recognition's
    # four pictures 1.0 at the default; gender: men 63 of 63, women 8 of 13 (balanced 0.81)
    assert r["tune_faces_found_pct"] == 100 and r["faces_found_pct"] == 100 and r["orl_faces_found_pct"] == 100, r
    assert r["verify_auc"] >= 0.998 and r["verify_accuracy"] >= 0.985, r
    assert r["verify_accuracy"] >= r["peer_verify_accuracy"] and r["verify_auc"] >= r["peer_verify_auc"], r
    assert r["tune_roc_auc"] >= 0.998 and r["tune_accuracy_leave_one_person_out"] >= 0.98, r
    assert r["roc_auc"] >= 0.99 and r["accuracy_at_default"] >= 0.8, r
    # expressions on CK+ frames: 58 of 61 (balanced over the five classes present 0.79)
    assert r["expression_n"] == 61 and r["expression_accuracy"] >= 0.9, r
    assert r["gender_accuracy_male"] >= 0.98 and r["gender_accuracy_female"] >= 0.55, r
    assert r["gender_n_female"] == 13 and r["gender_missed"] <= 1, r
    # the shipped threshold is what the rule chose on the tune set (not on the held-out pictures)
    assert abs(AnalyticsSettings().threshold - r["tune_threshold_chosen"]) <= 0.01, r
    # identity clustering as a live clip: johns 5 people -> 6 labels, purity 1.0, completeness 0.95; ORL 20
    # people -> 20 labels, purity and completeness 1.0
    assert r["clusters_tune_people"] == 5 and 5 <= r["clusters_tune_identities_found"] <= 7, r
    assert r["clusters_tune_purity"] >= 0.97 and r["clusters_tune_completeness"] >= 0.9, r
    assert r["clusters_shots_unlabelled"] == 0 and r["clusters_purity"] >= 0.97, r
    assert r["clusters_orl_people"] == 20 and 18 <= r["clusters_orl_identities_found"] <= 22, r
    assert r["clusters_orl_purity"] >= 0.95 and r["clusters_orl_completeness"] >= 0.9, r
    # the peer ran in the same process and is scored the same way
    assert r["peer_kind"] == "outside" and r["peer_verify_auc"] >= 0.99, r
