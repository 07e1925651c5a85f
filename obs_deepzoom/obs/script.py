"""The script OBS loads (Tools > Scripts, or `deepzoom obs setup`): registers the DeepZoom filters.

OBS's Python bindings cannot register filters, so the filter kinds are registered through ctypes
(obs_register_source_s). libobs keeps pointers to our callbacks and strings forever and kinds can never be
unregistered: everything registered lives in `builtins` and is registered once per OBS process; callbacks
dispatch through `builtins` to the code of the most recent script load, so reloading the script picks up
new code without registering twice. No exception ever crosses a callback."""

import builtins
import logging
import os
import sys
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
_POINTER = Path(__file__).resolve().parent / ".pydeps"  # written by `deepzoom obs setup`
_DEFAULT = _REPO / ".cache" / f"obs-pydeps-cp{sys.version_info[0]}{sys.version_info[1]}"
for _p in (str(_REPO), str(_DEFAULT), _POINTER.read_text().strip() if _POINTER.exists() else None,
           os.environ.get("DEEPZOOM_PYDEPS")):
    if _p and Path(_p).is_dir() and _p not in sys.path:
        sys.path.insert(0, _p)  # the last inserted wins: env, pointer, default

STATE = builtins.__dict__.setdefault("_deepzoom_obs_state", {"registered": set(), "keep": [], "instances": {},
                                                              "next": 0, "impl": None})


def script_description():
    return ("<b>DeepZoom</b>: AI video-call effects on the CPU through OpenVINO. Adds the filters "
            + ", ".join(f"“{name}”" for _, name in _kinds()) + " to every source's Filters menu.")


def _kinds():
    try:
        from obs_deepzoom.obs.kinds import ALL_KINDS

        return list(ALL_KINDS.values())
    except Exception:
        return []


class _ObsLogHandler(logging.Handler):
    deepzoom_obs = True  # recognised across script reloads (each load defines this class anew)

    def emit(self, record):
        try:
            from obs_deepzoom.obs import libobs

            level = {logging.ERROR: libobs.LOG_ERROR, logging.WARNING: libobs.LOG_WARNING}.get(record.levelno,
                                                                                               libobs.LOG_INFO)
            libobs.blog(level, self.format(record))
        except Exception:
            pass


def script_load(settings):
    logger = logging.getLogger("obs_deepzoom")
    if not any(getattr(h, "deepzoom_obs", False) for h in logger.handlers):
        logger.addHandler(_ObsLogHandler())
        logger.setLevel(logging.INFO)
    try:
        from obs_deepzoom.obs import registration

        STATE["impl"] = registration.Dispatch(STATE)
        registration.register_all(STATE)
    except Exception as exc:  # missing dependencies etc.: say so in OBS's log and the Scripts dialog
        logging.getLogger("obs_deepzoom").error(
            "DeepZoom could not load (%s: %s). Run `deepzoom obs setup` to install its dependencies for OBS.",
            type(exc).__name__, exc)
        print(f"DeepZoom could not load: {type(exc).__name__}: {exc}", file=sys.stderr)


def script_unload():
    logging.getLogger("obs_deepzoom").info("script unloaded; %d filter(s) still alive", len(STATE["instances"]))
