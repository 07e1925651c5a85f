"""Progress of the long set-up steps: model builds and sample fetches say `[i/N] name (size, seconds)`, and a big
download shows its bytes (a tqdm bar on a terminal, else a line at every tenth)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import urllib.request
from types import SimpleNamespace

import pytest

from obs_deepzoom import downloads, samples
from obs_deepzoom.modelstore import build as builder

SIZE = r"\d+(\.\d)? (B|kB|MB)|\d+\.\d\d GB"


def test_human_size():
    assert [downloads.human_size(n) for n in (0, 999, 1000, 12_345_678, 2.5e9)] == [
        "0 B", "999 B", "1.0 kB", "12.3 MB", "2.50 GB"]


def test_build_says_size_and_seconds_of_each_ir(monkeypatch, tmp_path):
    entries = [SimpleNamespace(name=n, xml=tmp_path / f"{n}.xml", source=SimpleNamespace(package="pkg==1"))
               for n in ("small", "big", "done")]
    monkeypatch.setattr(builder, "load_manifest", lambda: SimpleNamespace(models=entries))
    monkeypatch.setattr(builder, "build_state", lambda e: "ok" if e.name == "done" else "missing")

    def build_one(entry):
        entry.xml.write_bytes(b"x" * 1000)
        entry.xml.with_suffix(".bin").write_bytes(b"\0" * (2_500_000 if entry.name == "big" else 500))

    monkeypatch.setattr(builder, "build_one", build_one)
    lines = []
    assert builder.build(progress=lines.append) == ["small", "big"]
    assert re.fullmatch(r"\[1/3\] small: built \(1\.5 kB, \d+\.\d s\)", lines[1]), lines
    assert re.fullmatch(r"\[2/3\] big: built \(2\.5 MB, \d+\.\d s\)", lines[3]), lines
    assert lines[4] == "[3/3] done: up to date" and lines[5].startswith("IR written to ")
    assert max(map(len, lines[:5])) < 80


def test_samples_say_size_and_seconds(monkeypatch, tmp_path):
    def sample(name):
        (tmp_path / name).write_bytes(b"s" * 2048)
        return tmp_path / name

    monkeypatch.setattr(samples, "sample", sample)
    lines = []
    assert len(samples.fetch_all(lines.append)) == len(samples.SAMPLES)
    n = len(samples.SAMPLES)
    for i, (line, name) in enumerate(zip(lines, samples.SAMPLES), 1):
        assert re.fullmatch(rf"\[{i}/{n}\] sample {re.escape(name)} \(2\.0 kB, \d+\.\d s\)", line), line
    assert lines[-1].startswith("samples in ")


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_small_downloads_show_nothing():
    out = Tty()
    update, close = downloads.byte_progress("pkg 1.0", downloads.BIG_ARCHIVE, out)
    update(downloads.BIG_ARCHIVE)
    close()
    assert out.getvalue() == ""


def test_big_downloads_show_a_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    out = Tty()
    update, close = downloads.byte_progress("pkg 1.0", 20_000_000, out)
    for _ in range(20):
        update(1_000_000)
    close()
    assert "pkg 1.0" in out.getvalue() and "20.0M" in out.getvalue()


@pytest.mark.parametrize("tqdm", ["absent", "not a terminal"])
def test_big_downloads_show_lines_without_tqdm_or_a_terminal(monkeypatch, tqdm):
    out = Tty() if tqdm == "absent" else io.StringIO()
    if tqdm == "absent":
        monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    update, close = downloads.byte_progress("pkg 1.0", 20_000_000, out)
    for _ in range(40):
        update(500_000)
    close()
    lines = out.getvalue().splitlines()
    assert [ln.strip() for ln in lines] == [f"pkg 1.0: {2 * k:.1f}/20.0 MB" for k in range(1, 11)]


def test_pypi_download_reports_its_bytes(monkeypatch, tmp_path, capsys):
    """_from_pypi, served by a fake PyPI: a 12 MB archive read in blocks shows about ten lines on a non-terminal
    stderr, ending at the whole size, and is kept."""
    body = bytes(range(256)) * (12_000_000 // 256)
    pin = hashlib.sha256(body).hexdigest()
    listing = {"releases": {"1.0": [{"packagetype": "sdist", "filename": "pkg-1.0.tar.gz", "url": "/f/pkg.tar.gz",
                                     "size": len(body), "digests": {"sha256": pin}}]}}

    def urlopen(url, timeout):
        return io.BytesIO(json.dumps(listing).encode() if url.endswith("/json") else body)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    got = downloads._from_pypi("pkg", "1.0", "sdist", pin, tmp_path)
    assert got.read_bytes() == body
    lines = capsys.readouterr().err.strip().splitlines()
    assert 8 <= len(lines) <= 10 and lines[-1].strip() == "pkg 1.0 (sdist): 12.0/12.0 MB", lines
