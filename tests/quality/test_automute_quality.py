"""Quality guard for auto-mute on the held-out report set (utterances, noise stretches, key sounds and seed never
used to tune anything): a reduced `deepzoom eval automute` (one draw: 30 onsets, ~1 min)."""

from obs_deepzoom.evaluate import automute as ev


def test_automute_on_the_report_set():
    r = ev.report(draws=1, progress=lambda *_: None)
    # docs/audio.md (two draws, 60 onsets, onset_threshold 0.15): speech muted 0.53 %, noise passed 5.03 %,
    # 17 of 60 onsets > 30 ms, worst 111 ms: the onset target (<= 30 ms) is NOT met held out
    # this one draw measured: 0.64 % muted, 4.46 % passed, 11 of 30 late, worst 111 ms, median 8 ms
    assert r["speech_muted_pct"] <= 0.9, r
    assert r["noise_passed_pct"] <= 5.2, r
    assert r["onsets_over_30ms"] <= 13, r
    assert r["onset_delay_ms"] <= 125, r
    assert r["onset_delay_ms_median"] <= 12, r


def test_the_default_onset_threshold_is_what_the_rule_picks_on_the_tune_set():
    """The real choice (six candidates on the tune half, ~70 s), not a recorded table."""
    from obs_deepzoom.settings import AutoMuteSettings

    chosen = ev.tune(progress=lambda *_: None)["chosen"]
    assert chosen == ev.CHOSEN_ONSET_THRESHOLD == AutoMuteSettings().onset_threshold
