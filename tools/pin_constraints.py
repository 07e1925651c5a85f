"""Write constraints.txt: the exact version of every package obs-deepzoom and its extras need, as installed
in this environment (the one the suite just passed in). Run with the project's venv:

    .venv/bin/python tools/pin_constraints.py            # rewrite constraints.txt
    .venv/bin/python tools/pin_constraints.py --check    # exit 1 when constraints.txt differs from this venv
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "constraints.txt"
EXTRAS = ("test", "audio", "compress")
HEADER = ("# The versions obs-deepzoom is tested with (tools/pin_constraints.py writes this from a venv that passed\n"
          "# the suite); install.py installs exactly these: pip install -c constraints.txt -e '.[test]'\n")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(dist: metadata.Distribution, extras: tuple[str, ...]) -> list[str]:
    """Names of the requirements of dist that apply here with the given extras."""
    from packaging.requirements import Requirement

    out = []
    for text in dist.requires or []:
        req = Requirement(text)
        envs = [{"extra": e} for e in extras] or [{"extra": ""}]
        if req.marker is None or any(req.marker.evaluate(env) for env in envs):
            out.append(req.name)
    return out


def closure(root: str = "obs-deepzoom", extras: tuple[str, ...] = EXTRAS) -> dict[str, str]:
    """{name: installed version} of everything root (with extras) pulls in, root excluded; not-installed optional
    extras (pyaudio without PortAudio) are skipped."""
    seen: dict[str, str] = {}
    todo = _requirements(metadata.distribution(root), extras)
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen[name] = dist.version
        todo.extend(_requirements(dist, ()))
    return dict(sorted(seen.items()))


def render(pins: dict[str, str]) -> str:
    return HEADER + "".join(f"{n}=={v}\n" for n, v in pins.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    text = render(closure())
    if args.check:
        same = OUT.exists() and OUT.read_text() == text
        print("constraints.txt matches this venv" if same else "constraints.txt differs from this venv")
        return 0 if same else 1
    OUT.write_text(text)
    print(f"wrote {OUT} ({text.count('==')} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
