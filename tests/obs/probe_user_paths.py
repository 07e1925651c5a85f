"""Loaded INTO a real OBS next to obs_deepzoom/obs/script.py: does with every DeepZoom filter what a person does.

For each run of the plan ($DZ_UP_PLAN, JSON written by test_user_paths.py): add the filter the way the Filters
dialog does, open its property page and walk it, set every list item, both ends of every slider, both states of
every checkbox, a colour, paths and texts (each restored afterwards), press its buttons, close the page, let OBS
render, resize the source under it (render path), reload our script in-process (libobs-scripting's
obs_script_create / obs_script_reload / obs_script_destroy), remove the filter. A plan item {"action": "reload",
"times": N} only reloads our script N times (test_never_freeze.py, with filters it added itself); "go_file" in the
plan delays the start until that file exists.

libobs is called through ctypes.CDLL (the GIL is released during every call) from a thread of our own: obspython's
functions keep the GIL while they wait for a source's filter mutex, which deadlocks against filters whose callbacks
need the GIL. Progress goes to "$DZ_UP_PLAN[out].progress" (one line per step, flushed, so the last line tells where
OBS died or froze); the report ($DZ_UP_PLAN[out]) is rewritten after every run; a crash leaves every thread's Python
stack in "$DZ_UP_PLAN[out].faults" (faulthandler)."""

import ctypes
import faulthandler
import json
import os
import threading
import time
import traceback
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int, c_longlong, c_size_t, c_uint32, c_void_p

P = c_void_p
# enum obs_property_type, enum obs_combo_format (obs-properties.h, OBS 29)
PROP_TYPES = {0: "invalid", 1: "bool", 2: "int", 3: "float", 4: "text", 5: "path", 6: "list", 7: "color",
              8: "button", 9: "font", 10: "editable_list", 11: "frame_rate", 12: "group", 13: "color_alpha"}
FORMAT_INT, FORMAT_FLOAT, FORMAT_STRING = 1, 2, 3

PLAN = json.loads(os.environ.get("DZ_UP_PLAN") or "{}")
OUT = PLAN.get("out")
REPORT = {"runs": {}, "done": False, "started": None, "finished": None, "error": None}


def _fn(lib, name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype, f.argtypes = restype, list(argtypes)
    return f


class Obs:
    """The libobs / libobs-scripting functions a person's clicks end up in, each with its C signature."""

    def __init__(self):
        lib = ctypes.CDLL("libobs.so.0")
        scripting = ctypes.CDLL("libobs-scripting.so.1")
        f = lambda *a: _fn(lib, *a)  # noqa: E731
        self.get_source_by_name = f("obs_get_source_by_name", P, c_char_p)
        self.source_release = f("obs_source_release", None, P)
        self.source_create = f("obs_source_create", P, c_char_p, c_char_p, P, P)
        self.filter_add = f("obs_source_filter_add", None, P, P)
        self.filter_remove = f("obs_source_filter_remove", None, P, P)
        self.get_filter_by_name = f("obs_source_get_filter_by_name", P, P, c_char_p)
        self.display_name = f("obs_source_get_display_name", c_char_p, c_char_p)
        self.source_update = f("obs_source_update", None, P, P)
        self.source_get_settings = f("obs_source_get_settings", P, P)
        self.base_width = f("obs_source_get_base_width", c_uint32, P)
        self.base_height = f("obs_source_get_base_height", c_uint32, P)
        self.source_properties = f("obs_source_properties", P, P)
        self.properties_first = f("obs_properties_first", P, P)
        self.property_next = f("obs_property_next", c_bool, POINTER(P))
        self.properties_destroy = f("obs_properties_destroy", None, P)
        self.property_name = f("obs_property_name", c_char_p, P)
        self.property_type = f("obs_property_get_type", c_int, P)
        self.property_description = f("obs_property_description", c_char_p, P)
        self.group_content = f("obs_property_group_content", P, P)
        self.list_name = f("obs_property_list_item_name", c_char_p, P, c_size_t)
        self.list_format = f("obs_property_list_format", c_int, P)
        self.list_count = f("obs_property_list_item_count", c_size_t, P)
        self.list_string = f("obs_property_list_item_string", c_char_p, P, c_size_t)
        self.list_int = f("obs_property_list_item_int", c_longlong, P, c_size_t)
        self.list_float = f("obs_property_list_item_float", c_double, P, c_size_t)
        self.int_min = f("obs_property_int_min", c_int, P)
        self.int_max = f("obs_property_int_max", c_int, P)
        self.float_min = f("obs_property_float_min", c_double, P)
        self.float_max = f("obs_property_float_max", c_double, P)
        self.button_clicked = f("obs_property_button_clicked", c_bool, P, P)
        self.data_create = f("obs_data_create", P)
        self.data_release = f("obs_data_release", None, P)
        self.set_string = f("obs_data_set_string", None, P, c_char_p, c_char_p)
        self.set_int = f("obs_data_set_int", None, P, c_char_p, c_longlong)
        self.set_double = f("obs_data_set_double", None, P, c_char_p, c_double)
        self.set_bool = f("obs_data_set_bool", None, P, c_char_p, c_bool)
        self.get_string = f("obs_data_get_string", c_char_p, P, c_char_p)
        self.get_int = f("obs_data_get_int", c_longlong, P, c_char_p)
        self.get_double = f("obs_data_get_double", c_double, P, c_char_p)
        self.get_bool = f("obs_data_get_bool", c_bool, P, c_char_p)
        self.total_frames = f("obs_get_total_frames", c_uint32)
        self.lagged_frames = f("obs_get_lagged_frames", c_uint32)
        self.script_create = _fn(scripting, "obs_script_create", P, c_char_p, P)
        self.script_reload = _fn(scripting, "obs_script_reload", c_bool, P)
        self.script_loaded = _fn(scripting, "obs_script_loaded", c_bool, P)
        self.script_destroy = _fn(scripting, "obs_script_destroy", None, P)

    def update(self, source, values: dict) -> None:
        """obs_source_update with {key: value}; the value's Python type picks obs_data_set_*."""
        data = self.data_create()
        try:
            for key, value in values.items():
                k = key.encode()
                if isinstance(value, bool):
                    self.set_bool(data, k, value)
                elif isinstance(value, int):
                    self.set_int(data, k, value)
                elif isinstance(value, float):
                    self.set_double(data, k, value)
                else:
                    self.set_string(data, k, str(value).encode())
            self.source_update(source, data)
        finally:
            self.data_release(data)


def say(line: str) -> None:
    with open(OUT + ".progress", "a") as f:
        f.write(f"{time.time() - REPORT['t0']:8.2f} {line}\n")
        f.flush()
        os.fsync(f.fileno())


def save() -> None:
    tmp = OUT + ".tmp"
    with open(tmp, "w") as f:
        json.dump({k: v for k, v in REPORT.items() if k not in ("t0", "faults")}, f, indent=1)
    os.replace(tmp, OUT)


def wait_frames(obs: Obs, seconds: float, what: str) -> dict:
    """Let OBS render for `seconds`; returns the frames it rendered and lagged meanwhile. OBS's graphics thread
    not advancing for 10 s is a freeze: raises."""
    t0, f0, l0 = time.monotonic(), obs.total_frames(), obs.lagged_frames()
    last, last_change = f0, t0
    while time.monotonic() - t0 < seconds:
        time.sleep(min(0.05, seconds))
        now = obs.total_frames()
        if now != last:
            last, last_change = now, time.monotonic()
        elif time.monotonic() - last_change > 10:
            raise RuntimeError(f"OBS stopped rendering during {what} (no frame for 10 s)")
    return {"frames": obs.total_frames() - f0, "lagged": obs.lagged_frames() - l0}


def original_value(obs: Obs, settings, name: bytes, kind: str):
    if kind == "bool":
        return bool(obs.get_bool(settings, name))
    if kind in ("int", "color", "color_alpha"):
        return int(obs.get_int(settings, name))
    if kind == "float":
        return float(obs.get_double(settings, name))
    return (obs.get_string(settings, name) or b"").decode()


def values_for(obs: Obs, prop, kind: str, record: dict) -> list:
    """What a person can pick in this property: every list item, both slider ends, both checkbox states..."""
    if kind == "list":
        fmt = obs.list_format(prop)
        n = obs.list_count(prop)
        get = {FORMAT_INT: lambda i: int(obs.list_int(prop, i)), FORMAT_FLOAT: lambda i: float(obs.list_float(prop, i))
               }.get(fmt, lambda i: (obs.list_string(prop, i) or b"").decode())
        record["items"] = [get(i) for i in range(n)]
        return list(record["items"])
    if kind == "int":
        record["min"], record["max"] = int(obs.int_min(prop)), int(obs.int_max(prop))
        return [record["min"], record["max"]]
    if kind == "float":
        record["min"], record["max"] = float(obs.float_min(prop)), float(obs.float_max(prop))
        return [record["min"], record["max"]]
    if kind == "bool":
        return [True, False]
    if kind in ("color", "color_alpha"):
        return [0xFF00FF00, 0xFFFFFFFF, 0xFF000000]
    if kind == "path":
        return list(PLAN.get("path_values", [""]))
    if kind == "text":
        return list(PLAN.get("text_values", [""]))
    return []


def walk(obs: Obs, props, found: list, page: list, group) -> None:
    """Every property of a page as OBS's properties view sees it, groups' contents included (in order); `page`
    gets what a person reads: name, type, label, the group it is in, list items' display names."""
    p = P(obs.properties_first(props))
    while p.value:
        kind = PROP_TYPES.get(obs.property_type(p), "?")
        pname = (obs.property_name(p) or b"").decode()
        found.append({"name": pname, "type": kind, "ptr": p.value})
        item = {"name": pname, "type": kind, "label": (obs.property_description(p) or b"").decode(), "group": group}
        if kind == "list":
            item["names"] = [(obs.list_name(p, i) or b"").decode() for i in range(obs.list_count(p))]
        page.append(item)
        if kind == "group":
            walk(obs, P(obs.group_content(p)), found, page, pname)
        if not obs.property_next(ctypes.byref(p)):
            break


def property_page(obs: Obs, run: dict, filt, name: str, rec: dict) -> None:
    """Open the page (obs_source_properties), read every property, set every value, press the buttons, close it."""
    settle = float(PLAN.get("settle_s", 0.15))
    say(f"{name}: properties open")
    props = obs.source_properties(filt)
    if not props:
        raise RuntimeError("obs_source_properties returned NULL")
    try:
        found, page = [], []
        walk(obs, props, found, page, None)
        rec["page"] = page
        say(f"{name}: properties read ({len(found)})")
        rec["properties"] = []
        settings = obs.source_get_settings(filt)
        try:
            originals = {f["name"]: original_value(obs, settings, f["name"].encode(), f["type"]) for f in found
                         if f["type"] not in ("button", "group")}
        finally:
            obs.data_release(settings)
        rec["steps"]["properties"] = len(found)
        n_set = n_buttons = 0
        for f in found:
            prop, pname, kind = P(f["ptr"]), f["name"], f["type"]
            record = {"name": pname, "type": kind}
            rec["properties"].append(record)
            if kind == "group" or pname == "deepzoom.status":  # a frame and a read-only line: nothing to set
                continue
            if kind == "button":
                say(f"{name}: press {pname}")
                record["clicked"] = bool(obs.button_clicked(prop, filt))
                n_buttons += 1
                wait_frames(obs, settle, f"the {pname} button")
                continue
            values = values_for(obs, prop, kind, record)
            for value in values:
                say(f"{name}: set {pname}={value!r}")
                obs.update(filt, {pname: value})
                wait_frames(obs, settle, f"{pname}={value!r}")
                n_set += 1
            if values:
                say(f"{name}: restore {pname}={originals[pname]!r}")
                obs.update(filt, {pname: originals[pname]})
        rec["steps"]["set_values"] = n_set
        rec["steps"]["buttons"] = n_buttons
    finally:
        say(f"{name}: properties close")
        obs.properties_destroy(props)


def resize(obs: Obs, parent, name: str, rec: dict) -> None:
    sizes = [tuple(s) for s in PLAN.get("sizes", [])]
    seen = []
    for w, h in sizes:
        say(f"{name}: resize {w}x{h}")
        obs.update(parent, {"width": w, "height": h})
        wait_frames(obs, float(PLAN.get("resize_s", 0.6)), f"resizing to {w}x{h}")
        seen.append([int(obs.base_width(parent)), int(obs.base_height(parent))])
    rec["sizes_seen"] = seen
    rec["steps"]["resize"] = len(sizes)


def reload_script(obs: Obs, name: str, rec: dict) -> None:
    """What Tools > Scripts' reload does, in-process: a script object for our script, reloaded, destroyed."""
    path = PLAN["reload_script"].encode()
    say(f"{name}: script create")
    script = obs.script_create(path, None)
    if not script:
        raise RuntimeError("obs_script_create returned NULL")
    try:
        loaded = bool(obs.script_loaded(script))
        say(f"{name}: script reload")
        reloaded = bool(obs.script_reload(script))
        rec["reload"] = {"created_loaded": loaded, "reloaded": reloaded}
    finally:
        say(f"{name}: script destroy")
        obs.script_destroy(script)
    if not (loaded and reloaded):
        raise RuntimeError(f"script reload failed: {rec['reload']}")
    rec["steps"]["reload"] = True


def one_run(obs: Obs, run: dict) -> dict:
    name = f"{run['effect']}@{run['source']}"
    rec = {"kind": run["kind"], "source": run["source"], "path": run["path"], "steps": {}, "error": None}
    REPORT["runs"][name] = rec
    parent = obs.get_source_by_name(run["source"].encode())
    if not parent:
        raise RuntimeError(f"no source {run['source']!r}")
    filt = None
    try:
        say(f"{name}: add")
        filt = obs.source_create(run["kind"].encode(), f"probe {run['effect']}".encode(), None, None)
        if not filt:
            raise RuntimeError(f"obs_source_create({run['kind']!r}) returned NULL")
        obs.filter_add(parent, filt)
        found = obs.get_filter_by_name(parent, f"probe {run['effect']}".encode())
        if found:
            obs.source_release(found)
        rec["steps"]["add"] = bool(found)
        rec["render_first"] = wait_frames(obs, float(PLAN.get("settle_s", 0.15)) * 4, "the first frames")
        property_page(obs, run, filt, name, rec)
        say(f"{name}: render")
        rec["steps"]["render"] = wait_frames(obs, float(PLAN.get("render_s", 2.0)), "rendering")
        if run.get("resize"):
            resize(obs, parent, name, rec)
        reload_script(obs, name, rec)
        rec["steps"]["render_after_reload"] = wait_frames(obs, 1.0, "rendering after the reload")
        say(f"{name}: remove")
        obs.filter_remove(parent, filt)
        obs.source_release(filt)
        filt = None
        rec["steps"]["remove"] = True
        say(f"{name}: done")
    except Exception as exc:
        rec["error"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        say(f"{name}: FAILED {type(exc).__name__}: {exc}")
        if filt:
            obs.filter_remove(parent, filt)
            obs.source_release(filt)
    finally:
        obs.source_release(parent)
        save()
    return rec


def reloads(obs: Obs, run: dict) -> None:
    """Our script reloaded `times` times while whatever filters the test set up keep running."""
    rec = {"steps": {}, "error": None, "frames_between": []}
    REPORT["runs"]["reload"] = rec
    try:
        for i in range(int(run.get("times", 3))):
            reload_script(obs, f"reload {i + 1}", rec)
            between = wait_frames(obs, float(run.get("interval_s", 1.0)), "rendering after a reload")
            rec["frames_between"].append(between)
        rec["steps"]["reloads"] = len(rec["frames_between"])
        say("reloads: done")
    except Exception as exc:
        rec["error"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        say(f"reloads: FAILED {type(exc).__name__}: {exc}")
    finally:
        save()


def wait_ready(obs: Obs) -> None:
    """Until our filter kinds are registered and every source of the plan exists (the scene collection loads
    around the scripts), and the go file, when the plan names one, exists."""
    deadline = time.monotonic() + float(PLAN.get("ready_timeout_s", 120))
    filters = [r for r in PLAN["runs"] if "kind" in r]
    kinds = {r["kind"] for r in filters}
    sources = {r["source"] for r in filters}
    while PLAN.get("go_file") and not os.path.exists(PLAN["go_file"]):
        time.sleep(0.1)
    while True:
        missing = [k for k in kinds if not obs.display_name(k.encode())]
        for s in sources:
            src = obs.get_source_by_name(s.encode())
            if src:
                obs.source_release(src)
            else:
                missing.append(s)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"never appeared: {missing}")
        time.sleep(0.2)


def main() -> None:
    try:
        obs = Obs()
        say("waiting for our filter kinds and the sources")
        wait_ready(obs)
        time.sleep(float(PLAN.get("start_delay_s", 1.0)))
        REPORT["started"] = time.time()
        for run in PLAN["runs"]:
            (reloads if run.get("action") == "reload" else one_run)(obs, run)
        REPORT["done"] = True
        REPORT["finished"] = time.time()
        save()  # before the line the test waits for: it reads the report as soon as it sees that line
        say("ALL DONE")
    except Exception as exc:
        REPORT["error"] = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        save()
        say(f"PROBE FAILED {type(exc).__name__}: {exc}")
    finally:
        save()


def script_description():
    return "DeepZoom test probe: every filter through the paths a person takes (tests/obs/test_user_paths.py)"


def script_load(settings):
    if not OUT or REPORT.get("t0"):
        return
    REPORT["t0"] = time.time()
    # a crash in OBS leaves the Python stack of every thread here (OBS 29 on Linux writes no crash report)
    REPORT["faults"] = open(OUT + ".faults", "w")  # noqa: SIM115 (open for the life of OBS)
    faulthandler.enable(REPORT["faults"], all_threads=True)
    threading.Thread(target=main, name="deepzoom-user-paths-probe", daemon=True).start()
