"""Quality guard: `deepzoom eval analytics` in full (johns, face_recognition's, ORL and CK+ pictures, ~2 min).
Thresholds sit a little below the figures in docs/analytics.md, so a regression fails."""

from obs_deepzoom.evaluate import analytics
from obs_deepzoom.settings import AnalyticsSettings


def test_analytics_quality_does_not_regress():
    r = analytics.run(progress=lambda *_: None)
    # docs/analytics.md: CK+ (held out, 10 people) AUC 1.0 and balanced accuracy 1.0 at the shipped threshold
    # (dlib 1.0 / 0.978 at its 0.6); ORL (the selection set) 1.0 / 0.9947 (dlib 0.9996 / 0.9865); johns (tune)
    # AUC 1.0, leave-one-person-out 1.0; Obama/Biden 1.0; gender: men 63 of 63, women 8 of 13
    for key in ("tune_", "", "orl_", "ckplus_"):
        assert r[f"{key}faces_found_pct"] == 100, (key, r)
    assert r["verify_auc"] >= 0.998 and r["verify_accuracy"] >= 0.98, r
    assert r["verify_accuracy"] >= r["peer_verify_accuracy"] and r["verify_auc"] >= r["peer_verify_auc"], r
    assert r["orl_roc_auc"] >= 0.998 and r["orl_accuracy_at_default"] >= 0.985, r
    assert r["tune_roc_auc"] >= 0.998 and r["tune_accuracy_leave_one_person_out"] >= 0.98, r
    assert r["roc_auc"] >= 0.99 and r["accuracy_at_default"] >= 0.8, r
    # expressions on CK+ frames, per class: angry 3/3, happy 7/7, surprise 6/6, neutral 10/10 (disgust 0/1)
    assert r["expression_n"] == 27, r
    for cls, least in (("angry", 2), ("happy", 6), ("surprise", 5), ("neutral", 9)):
        assert round(r[f"expression_accuracy_{cls}"] * r[f"expression_n_{cls}"]) >= least, (cls, r)
    assert r["gender_accuracy_male"] >= 0.98 and r["gender_accuracy_female"] >= 0.55, r
    assert r["gender_n_female"] == 13 and r["gender_missed"] <= 1, r
    # identity clustering as live clips: every clip's labels pure (never two people under one label), and
    # johns 5, Obama/Biden 2, ORL 20, CK+ 10 labels for as many people; tolerated: one person split in two (one
    # extra label, a completeness one shot short)
    for key, people in (("clusters_tune_", 5), ("clusters_", 2), ("clusters_orl_", 20), ("clusters_ckplus_", 10)):
        assert r[f"{key}people"] == people and r[f"{key}shots_unlabelled"] == 0, (key, r)
        assert r[f"{key}purity"] >= 0.99 and r[f"{key}completeness"] >= 1 - 1.5 / r[f"{key}shots"], (key, r)
        assert people <= r[f"{key}identities_found"] <= people + 1, (key, r)
    # the shipped threshold is what the rule chose on the tune set (not on the held-out pictures)
    assert abs(AnalyticsSettings().threshold - r["tune_threshold_chosen"]) <= 0.01, r
    # the peer ran in the same process and is scored the same way
    assert r["peer_kind"] == "outside" and r["peer_verify_auc"] >= 0.99, r
