"""Auto-mute (voice-activity gate) on real speech in real noise, and the measures its evaluation uses."""

import numpy as np
import pytest

from obs_deepzoom.engine.audio.automute import AutoMute
from obs_deepzoom.engine.audio.stream import process_signal
from obs_deepzoom.evaluate import audio_data
from obs_deepzoom.evaluate import automute as ev
from obs_deepzoom.settings import AutoMuteSettings

RATE = 48000


@pytest.fixture(scope="module")
def music():
    """The issue's music mixture: its first utterance ("Thank you…") is the soft onset the VAD judges late."""
    return next(m for m in audio_data.automute_set() if m.noise == "music")


def test_targets_on_the_machines_and_music_mixtures(music):
    mixtures = [m for m in audio_data.automute_set() if m.noise == "machines"] + [music]
    # onset_threshold 0.15 was first tuned on these mixtures (today's default is 0.15 again, but chosen on the
    # tune set); this checks the mechanism can meet the targets on them, not the held-out figure
    result = ev.run(AutoMuteSettings(onset_threshold=0.15), mixtures, wide=False, split=False,
                    progress=lambda *_: None)
    assert result["speech_muted_pct"] <= 1.0, result
    assert result["noise_passed_pct"] <= 10.0, result
    assert result["onset_delay_ms"] <= 30.0, result


def test_onset_threshold_opens_the_gate_for_soft_onsets():
    """The onset threshold opens the gate for windows the VAD is still unsure of: against the gate without it
    (0.95: off), no onset of the issue's mixtures opens later, some open earlier, none is late by > 30 ms."""
    mixtures = audio_data.automute_set()
    off, on = ([o for m in mixtures for o in ev.judge(m, AutoMuteSettings(onset_threshold=t))["onsets_ms"]]
               for t in (0.95, 0.15))
    assert len(on) == len(off) >= 6
    assert all(a <= b for a, b in zip(on, off)), (on, off)
    assert sum(off) - sum(on) >= 30 and max(on) <= 30, (on, off)


def test_block_size_does_not_change_the_output(music):
    x = audio_data.to_rate(music.noisy[: 5 * audio_data.RATE], audio_data.RATE, RATE)[None]
    whole = process_signal(AutoMute(AutoMuteSettings(lookahead_ms=40), RATE, 1), x, block=x.shape[1])
    for block in (128, 480, 1024, 4096):
        streamed = process_signal(AutoMute(AutoMuteSettings(lookahead_ms=40), RATE, 1), x, block=block)
        np.testing.assert_allclose(streamed, whole, atol=1e-6, err_msg=f"block {block}")


def test_speaking_state_stereo_and_duck_mode(music):
    a, b = music.spans[0]
    x16 = music.noisy[: b + audio_data.RATE]
    x = audio_data.to_rate(x16, audio_data.RATE, RATE)
    stereo = np.stack([x, x * 0.5])
    fx = AutoMute(AutoMuteSettings(), RATE, 2)
    states, out = [], []
    for i in range(0, stereo.shape[1], 1024):
        out.append(fx.process(stereo[:, i:i + 1024]))
        states.append(fx.speaking)
    out = np.concatenate(out, axis=1)
    assert out.shape[0] == 2 and np.allclose(out[1], out[0] * 0.5, atol=1e-6)
    t_speech = (a + b) // 2 * RATE // audio_data.RATE // 1024
    assert not any(states[10:135]) and states[t_speech]  # off in 0.2-2.9 s of music only, on mid-utterance
    assert fx.stats["speech_chunks"] > 0 and 0 <= fx.last_prob <= 1

    mute = process_signal(AutoMute(AutoMuteSettings(), RATE, 1), x[None])[0]
    duck = process_signal(AutoMute(AutoMuteSettings(mode="duck", duck_db=20), RATE, 1), x[None])[0]
    np.testing.assert_allclose(duck, 0.1 * x + 0.9 * mute, atol=1e-5)  # the same gate, its floor at -20 dB


def test_fades_are_smooth():
    """Gain steps of one sample stay within a one-pole fade of attack_ms / release_ms: no clicks."""
    s = AutoMuteSettings(attack_ms=5, release_ms=80)
    fx = AutoMute(s, RATE, 1)
    targets = np.repeat(np.array([0, 1, 1, 0, 1, 0, 0], np.float32), 2000)
    gains = fx._smooth(targets)
    tau_attack = s.attack_ms / 1000 * RATE / 3
    assert np.abs(np.diff(gains)).max() <= 1 - np.exp(-1 / tau_attack) + 1e-6
    assert gains[0] < 1e-3 and gains[3999] > 0.99 and gains.min() >= 0 and gains.max() <= 1


def test_onset_delay_measure():
    gain = np.zeros(1000)
    gain[520:] = 1
    assert ev.onset_delay(gain, 500) == 20
    gain[450:470] = 1  # an earlier blip of noise does not hide the late opening
    assert ev.onset_delay(gain, 500) == 20
    gain[480:] = 1
    assert ev.onset_delay(gain, 500) == -20  # opened 20 ms ahead of the onset
    assert ev.onset_delay(np.ones(1000), 500) == -ev.LEAD_MS


def test_active_level_ignores_a_recording_floor():
    """LibriVox's room noise (~-30 dB under the peak) is not speech: the onset is the reader's first word."""
    x = audio_data.speech("librivox-0880")
    level = ev.active_level(x)
    rms1 = ev._frames(x, 16)
    t0 = int(np.flatnonzero(rms1 > level)[0])
    assert t0 > 200  # the first ~250 ms are room noise
    rms10 = ev._frames(x, 160)
    assert level > rms10.max() * 10 ** (-40 / 20)
    clean = audio_data.speech("en/demo-thanks")
    assert ev.active_level(clean) == pytest.approx(ev._frames(clean, 160).max() * 10 ** (-40 / 20))


def test_tune_and_report_sets_are_disjoint():
    """onset_threshold is tuned on one half and reported on the other: no utterance, no stretch of the music or
    machine recordings, no key sound and no seed in common."""
    tune, report = ev.split_utterances(ev.TUNE), ev.split_utterances(ev.REPORT)
    assert not set(tune) & set(report) and sorted(tune + report) == sorted(audio_data.utterances())
    for kind in ("music", "machines"):
        (a0, b0), (a1, b1) = ev.noise_segment(kind, ev.TUNE), ev.noise_segment(kind, ev.REPORT)
        assert b0 <= a1 or b1 <= a0
    assert not set(ev.split_keys(ev.TUNE)) & set(ev.split_keys(ev.REPORT))
    assert ev.SPLIT_SEEDS[ev.TUNE] != ev.SPLIT_SEEDS[ev.REPORT]
    mixtures = ev.split_set(ev.REPORT, draws=1)
    assert {m.speech.count("+") + 1 for m in mixtures} == {len(report)}
    assert all(set(m.speech.split("+")) == set(report) for m in mixtures)


def test_onset_threshold_rule_reads_the_tune_set_only():
    """The rule: fewest late onsets within the noise budget, ties to the higher threshold; the default is what
    it chose on the tune set (docs/audio.md)."""
    def s(late, noise, muted=0.5):
        return {"onsets_over_30ms": late, "noise_passed_pct": noise, "speech_muted_pct": muted}

    scores = {0.08: s(3, 11.0), 0.10: s(5, 7.4), 0.15: s(5, 6.0), 0.20: s(8, 4.0), 0.25: s(4, 3.0, muted=1.5)}
    assert ev.choose_onset_threshold(scores) == 0.15
    assert AutoMuteSettings().onset_threshold == ev.CHOSEN_ONSET_THRESHOLD
