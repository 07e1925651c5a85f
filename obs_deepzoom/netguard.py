"""The one gate every download passes: with DEEPZOOM_OFFLINE=1 it raises instead, so a run that must not touch
the network (the test suite after `deepzoom data fetch`) proves it does not.

Every download path calls `require_network(what)` after finding its file missing from the cache and before
starting any subprocess (pip, apt-get) or connection (urlopen)."""

from __future__ import annotations

import os

from .errors import DeepZoomError

OFFLINE_ENV = "DEEPZOOM_OFFLINE"


def offline() -> bool:
    """True when DEEPZOOM_OFFLINE is set to anything but empty, 0, false or no."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def require_network(what: str) -> None:
    """Call before downloading `what`: raises DeepZoomError when downloads are switched off."""
    if offline():
        raise DeepZoomError(f"offline ({OFFLINE_ENV}=1): {what} is not in the cache; "
                            "run `python3 install.py test` to fetch it")
