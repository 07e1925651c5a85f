"""A badly behaved OBS Python script: holds the GIL for 200 ms every second, from a thread of its own.

Started by a file: the test writes "$DZ_HOG_DIR/hog-<n>.json" = {"seconds", "hold_ms", "period_ms", "mode"}.
"busy" (default): a pure-Python busy loop with the interpreter's switch interval raised above the hold for its
duration, so the loop keeps the GIL the whole time (as a long C-extension call does; at the default 5 ms interval
Python would hand the GIL over mid-loop). "call": one ctypes.PyDLL call to usleep (PyDLL keeps the GIL).
The session writes "hog-<n>.log": "started", {"n", "held_ms", "max_gap_ms"} every 5 holds (max_gap_ms: the longest
the loop was itself interrupted, i.e. another thread got the GIL anyway), then "ALL DONE <n>"."""

import ctypes
import json
import os
import sys
import threading
import time

DIR = os.environ.get("DZ_HOG_DIR")


def hold(ms: float, mode: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    if mode == "call":
        ctypes.PyDLL(None).usleep(int(ms * 1000))
        return (time.perf_counter() - t0) * 1e3, 0.0
    old = sys.getswitchinterval()
    sys.setswitchinterval(max(old, 2 * ms / 1000))
    try:
        end, last, gap = t0 + ms / 1000, t0, 0.0
        while True:
            now = time.perf_counter()
            gap, last = max(gap, now - last), now
            if now >= end:
                break
    finally:
        sys.setswitchinterval(old)
    return (time.perf_counter() - t0) * 1e3, gap * 1e3


def session(path: str) -> None:
    with open(path) as f:
        cfg = json.load(f)
    log = open(path[: -len(".json")] + ".log", "a")  # noqa: SIM115
    say = lambda line: (log.write(line + "\n"), log.flush())  # noqa: E731
    seconds, ms = float(cfg.get("seconds", 20)), float(cfg.get("hold_ms", 200))
    period, mode = float(cfg.get("period_ms", 1000)) / 1000, cfg.get("mode", "busy")
    say("started")
    t0, n, held, gaps = time.monotonic(), 0, [], []
    while time.monotonic() - t0 < seconds:
        h, g = hold(ms, mode)
        n += 1
        held.append(h)
        gaps.append(g)
        if n % 5 == 0:
            say(json.dumps({"n": n, "held_ms": round(max(held[-5:]), 1), "max_gap_ms": round(max(gaps[-5:]), 2)}))
        time.sleep(max(0.0, period - h / 1000))
    say(json.dumps({"n": n, "held_ms_min": round(min(held), 1), "max_gap_ms": round(max(gaps), 2)}))
    say(f"ALL DONE {n}")
    log.close()


def watch() -> None:
    seen = set()
    while True:
        for name in sorted(os.listdir(DIR)):
            if name.startswith("hog-") and name.endswith(".json") and name not in seen:
                seen.add(name)
                session(os.path.join(DIR, name))
        time.sleep(0.1)


def script_description():
    return "DeepZoom test probe: a script that holds the GIL (tests/obs/test_never_freeze.py)"


def script_load(settings):
    if DIR and not any(t.name == "deepzoom-gil-hog" for t in threading.enumerate()):
        threading.Thread(target=watch, name="deepzoom-gil-hog", daemon=True).start()
