"""A third-party-style OBS Python script, written the way such scripts are: obspython calls from a timer.

Every 200 ms it adds OBS's own Gain filter to a source, looks it up by name and removes it again. obspython keeps
the GIL while libobs waits for the source's filter mutex, so next to filters whose callbacks need the GIL this is
the pattern that deadlocks OBS; test_never_freeze.py runs it next to every DeepZoom filter.

Sessions are started by files: the test writes "$DZ_TOG_DIR/toggle-<n>.json" = {"source", "seconds",
"interval_ms", "kinds": [{"kind", "name", "settings"}]} (DeepZoom filters this script adds itself first, through
obspython too, and removes at the end). The session writes "toggle-<n>.log": "started", the first iteration's
start and end, {"t", "iterations"} every 25 iterations, then "ALL DONE <iterations>"."""

import faulthandler
import json
import os
import time

import obspython as obs

DIR = os.environ.get("DZ_TOG_DIR")
STATE = {"session": None, "seen": set()}


def say(line: str) -> None:
    with open(STATE["session"]["log"], "a") as f:
        f.write(line + "\n")


def add_filters(source, kinds: list) -> list:
    added = []
    for k in kinds:
        settings = obs.obs_data_create_from_json(json.dumps(k.get("settings", {})))
        f = obs.obs_source_create(k["kind"], k["name"], settings, None)
        obs.obs_data_release(settings)
        obs.obs_source_filter_add(source, f)
        added.append(f)
    return added


def tick():
    s = STATE["session"]
    source = obs.obs_get_source_by_name(s["source"])
    if source is None:
        return
    try:
        n = s["n"] + 1
        name = f"toggler gain {n}"
        if n == 1:
            say("iteration 1: adding")
        gain = obs.obs_source_create("gain_filter", name, None, None)
        obs.obs_source_filter_add(source, gain)
        found = obs.obs_source_get_filter_by_name(source, name)
        if found is not None:
            s["found"] += 1
            obs.obs_source_release(found)
        obs.obs_source_filter_remove(source, gain)
        obs.obs_source_release(gain)
        s["n"] = n
        if n == 1:
            say("iteration 1: done")
        if n % 25 == 0:
            say(json.dumps({"t": round(time.monotonic() - s["t0"], 2), "iterations": n, "found": s["found"]}))
        if time.monotonic() - s["t0"] >= s["seconds"]:
            obs.timer_remove(tick)
            for f in s["ours"]:
                obs.obs_source_filter_remove(source, f)
                obs.obs_source_release(f)
            say(f"ALL DONE {n}")
            STATE["session"] = None
    finally:
        obs.obs_source_release(source)


def start(path: str) -> None:
    with open(path) as f:
        cfg = json.load(f)
    STATE["session"] = s = {"log": path[: -len(".json")] + ".log", "source": cfg.get("source", "Cam"),
                            "seconds": float(cfg.get("seconds", 60)), "n": 0, "found": 0, "ours": []}
    source = obs.obs_get_source_by_name(s["source"])
    if source is None:
        say(f"FAILED: no source {s['source']!r}")
        STATE["session"] = None
        return
    try:
        if cfg.get("kinds"):
            say("adding " + ", ".join(k["kind"] for k in cfg["kinds"]))
            s["ours"] = add_filters(source, cfg["kinds"])
            say("added")
    finally:
        obs.obs_source_release(source)
    say("started")
    s["t0"] = time.monotonic()
    obs.timer_add(tick, int(cfg.get("interval_ms", 200)))


def poll():
    if STATE["session"] is not None:
        return
    for name in sorted(os.listdir(DIR)):
        if name.startswith("toggle-") and name.endswith(".json") and name not in STATE["seen"]:
            STATE["seen"].add(name)
            start(os.path.join(DIR, name))
            return


def script_description():
    return "DeepZoom test probe: a third-party script that toggles a Gain filter (tests/obs/test_never_freeze.py)"


def script_load(settings):
    if DIR:
        # test instrumentation: a crash leaves every thread's Python stack here
        STATE["faults"] = open(os.path.join(DIR, "toggler.faults"), "w")  # noqa: SIM115
        faulthandler.enable(STATE["faults"], all_threads=True)
        obs.timer_add(poll, 250)
