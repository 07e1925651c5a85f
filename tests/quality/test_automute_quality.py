"""Quality guard for auto-mute on the held-out report set (utterances, noise stretches, key sounds and seed never
used to tune anything): a reduced `deepzoom eval automute` (one draw: 30 onsets, ~1 min)."""

from obs_deepzoom.evaluate import automute as ev


def test_automute_on_the_report_set():
    r = ev.report(draws=1, progress=lambda *_: None)
    # docs/audio.md (two draws, 60 onsets): speech muted 0.64 %, noise passed 3.83 %, 18 of 60 onsets > 30 ms,
    # worst 112 ms: the onset target (<= 30 ms) is NOT met held out
    # this one draw measured: 0.72 % muted, 3.41 % passed, 11 of 30 late, worst 111 ms, median 11.5 ms
    assert r["speech_muted_pct"] <= 0.9, r
    assert r["noise_passed_pct"] <= 4.2, r
    assert r["onsets_over_30ms"] <= 13, r
    assert r["onset_delay_ms"] <= 125, r
    assert r["onset_delay_ms_median"] <= 15, r
