"""Compiling a small C library at set-up time: the `ziglang` wheel's C compiler (a pip dependency, so no
system compiler is needed; it also targets Windows and macOS), else the system's. Used for DeepZoom's native
OBS callbacks and the PESQ reference code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from .errors import DeepZoomError


def library_suffix() -> str:
    return {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")


def compilers() -> list[list[str]]:
    """The C compilers to try, best first: the ziglang wheel's `python -m ziglang cc`, then $CC, cc, gcc, clang."""
    out = []
    try:
        import ziglang  # noqa: F401

        out.append([sys.executable, "-m", "ziglang", "cc"])
    except ImportError:
        pass
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            out.append([cc])
    return out


def compile_library(target: Path, flags: list[str], inputs: list[str], what: str, missing: str,
                    progress=print) -> Path:
    """Run `CC *flags -o TARGET *inputs` with the first compiler of `compilers()` that succeeds, writing to a
    temporary name and moving it into place; `what` names the library in messages, `missing` is the error when
    there is no compiler at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    found = compilers()
    if not found:
        raise DeepZoomError(missing)
    errors = []
    for cc in found:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.partial")
        cmd = [*cc, *flags, "-o", str(tmp), *inputs]
        progress(f"building {what} with {' '.join(cc)}")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if r.returncode == 0 and tmp.exists():
            os.replace(tmp, target)
            return target
        tmp.unlink(missing_ok=True)
        errors.append(f"{' '.join(cc)}: {(r.stderr or r.stdout).strip()[-400:]}")
    raise DeepZoomError(f"could not build {what}: " + " | ".join(errors))
