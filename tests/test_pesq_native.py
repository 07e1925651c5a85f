"""PESQ-WB from the pesq 0.0.4 sdist's C code, compiled by us (obs_deepzoom/evaluate/pesq_native.py): the pesq
package's numbers on real mixtures, clear errors for what the reference code cannot take, offline behaviour."""

import threading

import numpy as np
import pytest

from obs_deepzoom import datafetch
from obs_deepzoom.errors import DeepZoomError
from obs_deepzoom.evaluate import audio_data, audio_metrics, pesq_native
from obs_deepzoom.evaluate.pesq_native import pesq_wb

GAINS = (1.0, 0.25, 0.05)  # noise left in the degraded signal: clean + g * (noisy - clean)
# pesq.pesq(16000, clean, degraded, "wb") of the pesq 0.0.4 package (built from its sdist with gcc 12),
# computed once with it for the first six mixtures of audio_data.denoise_set and GAINS
EXPECTED = {
    "00_typing_0dB_en-agent-incorrect": (1.0579349994659424, 1.1532232761383057, 1.7948460578918457),
    "01_typing_5dB_it-queue-youarenext": (1.1168690919876099, 1.4057567119598389, 2.8926708698272705),
    "02_typing_10dB_it-agent-incorrect": (1.1311213970184326, 1.4862027168273926, 2.902085542678833),
    "03_music_0dB_it-confbridge-pin": (1.0568093061447144, 1.4893767833709717, 3.1337828636169434),
    "04_music_5dB_librivox-0920": (1.4708598852157593, 2.85600209236145, 4.248228073120117),
    "05_music_10dB_en-queue-youarenext": (1.2224082946777344, 2.1281142234802246, 3.7231931686401367),
}
TOL = 1e-4


@pytest.fixture(scope="module")
def mixtures():
    return audio_data.denoise_set(len(EXPECTED))


def degraded(m, g: float) -> np.ndarray:
    return m.clean + g * (m.noisy - m.clean)


def test_fixed_values_of_the_pesq_package(mixtures):
    assert [m.name for m in mixtures] == list(EXPECTED)
    for m in mixtures:
        got = [pesq_wb(m.clean, degraded(m, g)) for g in GAINS]
        assert np.allclose(got, EXPECTED[m.name], rtol=0, atol=TOL), (m.name, got, EXPECTED[m.name])
    m = mixtures[0]  # audio_metrics goes through it; float64 input is scaled as the package scales it
    assert audio_metrics.pesq_wb(m.clean, degraded(m, 1.0)) == pytest.approx(EXPECTED[m.name][0], abs=TOL)
    assert pesq_wb(m.clean.astype(np.float64), degraded(m, 1.0).astype(np.float64)) == \
        pytest.approx(EXPECTED[m.name][0], abs=TOL)


def test_bad_input_is_a_clear_error_not_a_crash(mixtures):
    c = mixtures[0].clean
    cases = {
        "one channel": (np.stack([c, c]), c),
        "at least 0.25 s": (c[:3999], c[:3999]),
        "at most 9.6 s": (np.tile(c, 3), np.tile(c, 3)),
        "NaN or infinite": (c, np.where(np.arange(len(c)) == 100, np.nan, c)),
        "silent": (c, np.zeros_like(c)),
        "too faint": (c, c * 1e-30),
        "must be numbers": (c.astype(str), c),
    }
    for what, (ref, deg) in cases.items():
        with pytest.raises(DeepZoomError, match=what):
            pesq_wb(ref, deg)
    with pytest.raises(DeepZoomError, match="16000 Hz"):
        pesq_wb(c, c, rate=8000)


def test_the_longest_signal_it_takes(mixtures):
    """9.6 s of speech with pauses (several utterances): scored, and the same as the package when it is here."""
    x = np.concatenate([m.clean for m in mixtures])[:pesq_native.MAX_SAMPLES]
    y = np.concatenate([m.noisy for m in mixtures])[:pesq_native.MAX_SAMPLES]
    score = pesq_wb(x, y)
    assert 1.0 < score < 4.7
    try:
        import pesq
    except ImportError:
        return
    assert abs(pesq.pesq(16000, x, y, "wb") - score) <= TOL


def test_threads_share_it_safely(mixtures):
    """The reference code's state is global: calls from threads are serialised and give the same numbers."""
    out = {}

    def run(i):
        m = mixtures[i]
        out[i] = pesq_wb(m.clean, degraded(m, 0.25))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(abs(out[i] - EXPECTED[mixtures[i].name][1]) <= TOL for i in range(4)), out


def test_library_is_cached_and_fetched_with_the_data():
    path = pesq_native.library_path()
    assert path.exists(), "deepzoom data fetch builds it"
    assert pesq_native.build(progress=lambda *_: pytest.fail("rebuilt a cached library")) == path
    assert pesq_native.STEP in [name for name, _ in datafetch.steps("eval")]
    for pf in pesq_native.SOURCES.values():  # fetched by the archive's pinned sha256, never through pip
        assert pf.kind == "sdist" and pf.archive_sha256 == pesq_native.SDIST_SHA256


def test_offline_without_the_library(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPZOOM_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("DEEPZOOM_OFFLINE", "1")
    pesq_native._library.cache_clear()
    try:
        c = np.sin(np.arange(16000) * 0.2).astype(np.float32)
        with pytest.raises(DeepZoomError, match=r"^offline \(DEEPZOOM_OFFLINE=1\): the PESQ library .* is not in "
                                                r"the cache; run `python3 install.py test`"):
            pesq_wb(c, c)
    finally:
        pesq_native._library.cache_clear()
    assert not (tmp_path / "empty-home").exists() or not list((tmp_path / "empty-home").rglob("*.so"))
