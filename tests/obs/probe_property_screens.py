"""Loaded INTO a real OBS next to obs_deepzoom/obs/script.py: for each filter of the plan ($DZ_SHOT_PLAN, JSON
written by test_property_screens.py) adds it to its source, lets it run, opens that source's Filters dialog the
way a person does (obs_frontend_open_source_filters: the dialog selects the only filter and shows its property
page), then waits until the test has taken its picture ("<out>/<effect>.shot" appears) and removes the filter.
Progress goes to "<out>/progress" (one line per step); libobs is called through ctypes from a thread of our own."""

import ctypes
import json
import os
import threading
import time
import traceback
from ctypes import c_char_p, c_void_p

P = c_void_p
PLAN = json.loads(os.environ.get("DZ_SHOT_PLAN") or "{}")
OUT = PLAN.get("out")
STATE = {"started": False}


def say(line: str) -> None:
    with open(os.path.join(OUT, "progress"), "a") as f:
        f.write(line + "\n")
        f.flush()


def _fn(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


def main() -> None:
    try:
        lib = ctypes.CDLL("libobs.so.0")
        frontend = ctypes.CDLL("libobs-frontend-api.so.0")
        get_source = _fn(lib, "obs_get_source_by_name", P, c_char_p)
        release = _fn(lib, "obs_source_release", None, P)
        create = _fn(lib, "obs_source_create", P, c_char_p, c_char_p, P, P)
        filter_add = _fn(lib, "obs_source_filter_add", None, P, P)
        filter_remove = _fn(lib, "obs_source_filter_remove", None, P, P)
        display_name = _fn(lib, "obs_source_get_display_name", c_char_p, c_char_p)
        data_from_json = _fn(lib, "obs_data_create_from_json", P, c_char_p)
        data_release = _fn(lib, "obs_data_release", None, P)
        open_filters = _fn(frontend, "obs_frontend_open_source_filters", None, P)
        runs = PLAN["runs"]
        deadline = time.monotonic() + 120
        while not all(display_name(r["kind"].encode()) for r in runs) or not all(
                _exists(get_source, release, r["source"]) for r in runs):
            if time.monotonic() > deadline:
                raise RuntimeError("our filter kinds or the sources never appeared")
            time.sleep(0.2)
        time.sleep(float(PLAN.get("start_delay_s", 2.0)))
        for run in runs:
            effect = run["effect"]
            parent = get_source(run["source"].encode())
            settings = data_from_json(json.dumps(run.get("settings", {})).encode())
            filt = create(run["kind"].encode(), run["title"].encode(), settings, None)
            data_release(settings)
            filter_add(parent, filt)
            say(f"{effect}: added")
            time.sleep(float(PLAN.get("run_s", 6.0)))  # the worker builds its models and runs: a useful status line
            open_filters(parent)
            say(f"{effect}: shoot")
            shot = os.path.join(OUT, f"{effect}.shot")
            wait_until = time.monotonic() + 90
            while not os.path.exists(shot) and time.monotonic() < wait_until:
                time.sleep(0.1)
            filter_remove(parent, filt)
            release(filt)
            release(parent)
            say(f"{effect}: removed")
        say("ALL DONE")
    except Exception as exc:
        say("PROBE FAILED " + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


def _exists(get_source, release, name: str) -> bool:
    src = get_source(name.encode())
    if src:
        release(src)
    return bool(src)


def script_description():
    return "DeepZoom test probe: opens each filter's property page in the Filters dialog for a screenshot"


def script_load(settings):
    if not OUT or STATE["started"]:
        return
    STATE["started"] = True
    threading.Thread(target=main, name="deepzoom-screens-probe", daemon=True).start()
