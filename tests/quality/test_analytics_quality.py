"""Quality guard: `deepzoom eval analytics` in full (59 pictures, ~1 min). Thresholds sit a little below the
figures in docs/analytics.md, so a regression fails."""

from obs_deepzoom.evaluate import analytics
from obs_deepzoom.settings import AnalyticsSettings


def test_analytics_quality_does_not_regress():
    r = analytics.run(progress=lambda *_: None)
    # docs/analytics.md: AUC 0.9987 (dlib 1.0), leave-one-person-out balanced accuracy 0.973 (dlib 1.0),
    # held out at the default 0.833 (3 same / 3 different pairs); gender: men 61 of 61, women 3 of 5 (balanced 0.8)
    assert r["tune_faces_found_pct"] == 100 and r["faces_found_pct"] == 100, r
    assert r["verify_auc"] >= 0.995 and r["verify_accuracy"] >= 0.96, r
    assert r["roc_auc"] >= 0.99 and r["accuracy_at_default"] >= 0.8, r
    assert r["gender_accuracy_male"] >= 0.98 and r["gender_accuracy_female"] >= 0.6, r
    assert r["gender_n_female"] == 5 and r["gender_missed"] <= 1, r
    # the shipped threshold is what the rule chose on the tune set (not on the held-out pictures)
    assert abs(AnalyticsSettings().threshold - r["tune_threshold_chosen"]) <= 0.01, r
    # identity clustering as a live clip: johns 5 people -> 6 labels, purity 1.0, completeness 0.98
    assert r["clusters_tune_people"] == 5 and 5 <= r["clusters_tune_identities_found"] <= 7, r
    assert r["clusters_tune_purity"] >= 0.97 and r["clusters_tune_completeness"] >= 0.9, r
    assert r["clusters_shots_unlabelled"] == 0 and r["clusters_purity"] >= 0.97, r
    # the peer ran in the same process and is scored the same way
    assert r["peer_kind"] == "outside" and r["peer_verify_auc"] >= 0.99, r
