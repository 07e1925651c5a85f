"""User paths: every DeepZoom filter through what a person does in OBS, inside a real headless OBS.

probe_user_paths.py runs in OBS next to our script and, for every filter kind on a render-path source (a colour
source, resized while the filter runs), an async source (a moving, noisy clip) and an audio source: adds it as the
Filters dialog does, walks its property page setting every value, presses its buttons, renders, reloads our script
in-process and removes it. OBS must stay alive, every step must complete, and neither a Python traceback nor a crash
report may appear. DZ_UP_SETTLE_S (seconds per value, 0.15) and DZ_UP_RENDER_S (2) size the run; DZ_UP_EFFECTS
(e.g. "denoise,automute") narrows it to some effects."""

from __future__ import annotations

import json
import os
import time

from obs_deepzoom.obs.kinds import AUDIO_KINDS, BUTTONS, VIDEO_KINDS, sections
from obs_deepzoom.obs.properties import specs_for
from obs_deepzoom.remote.client import ObsClient
from obs_deepzoom.samples import sample

from .conftest import speech_with_pauses
from .conftest_probe import (
    HERE,
    PASSWORD,
    SCRIPT,
    alive,
    crash_reports,
    env_float,
    evidence,
    media,
    noisy_clip,
    running_obs,
    watch,
)

SIZES = [(1280, 720), (640, 360), (1920, 1080), (853, 480), (1280, 720)]


def plan(home) -> dict:
    only = [e for e in os.environ.get("DZ_UP_EFFECTS", "").split(",") if e]
    video = {e: k for e, k in VIDEO_KINDS.items() if not only or e in only}
    audio = {e: k for e, k in AUDIO_KINDS.items() if not only or e in only}
    runs = []
    for effect, (kind, _) in video.items():
        runs.append({"effect": effect, "kind": kind, "source": "Color", "path": "render", "resize": True})
        runs.append({"effect": effect, "kind": kind, "source": "Noisy", "path": "async"})
    for effect, (kind, _) in audio.items():
        runs.append({"effect": effect, "kind": kind, "source": "Speech", "path": "audio"})
    alias = home / "deepzoom_reload_probe.py"  # a module name of its own: obs_script_create imports it afresh
    alias.symlink_to(SCRIPT)
    return {"out": str(home / "user_paths.json"), "runs": runs, "reload_script": str(alias),
            "sizes": SIZES, "settle_s": env_float("DZ_UP_SETTLE_S", 0.15), "render_s": env_float("DZ_UP_RENDER_S", 2.0),
            "path_values": [str(sample("grace_hopper.jpg")), str(home / "no-such-picture.png"), ""],
            "text_values": ["Speech", "No Such Source", ""]}


def check_page(effect: str, page: list[dict]) -> None:
    """The page as OBS's properties view reads it: the status line first, then the settings people change
    first, then the groups (Face tracking for face effects, Performance always), human labels, lists with
    display names, every setting of the filter on it once."""
    name = f"{effect} page"
    assert page[0]["name"] == "deepzoom.status" and page[0]["label"], (name, page[0])
    groups = [p["name"] for p in page if p["type"] == "group"]
    assert "deepzoom.group.performance" in groups and groups[-1] in ("deepzoom.group.performance",
                                                                     "deepzoom.group.advanced"), (name, groups)
    assert ("deepzoom.group.face" in groups) == ("face" in sections(effect)), (name, groups)
    top = [p for p in page if p["group"] is None and p["type"] != "group"]
    assert 2 <= len(top) <= 9, (name, [p["name"] for p in top])
    settings = [p for p in page if p["type"] not in ("group", "button") and p["name"] != "deepzoom.status"]
    assert sorted(p["name"] for p in settings) == sorted(s.key for s in specs_for(sections(effect))), name
    for p in settings:
        assert p["label"] and "_" not in p["label"] and not p["label"].startswith(f"{p['name'].split('.')[0]}:"), p
        if p["type"] == "list":
            assert p["names"] and all(p["names"]), p
    device = [p for p in settings if p["name"].endswith(".device")]
    assert all(p["group"] == "deepzoom.group.performance" and p["names"][0] == "Automatic" for p in device), device


def test_every_filter_through_the_user_paths(tmp_path):
    home = tmp_path / "obs-home"
    home.mkdir()
    p = plan(home)
    sources = [
        {"id": "color_source_v3", "versioned_id": "color_source_v3", "name": "Color",
         "settings": {"color": 4283782485, "width": SIZES[0][0], "height": SIZES[0][1]}},
        media("Noisy", noisy_clip(home / "noisy.avi")),
        media("Speech", speech_with_pauses(home / "speech.wav")),
    ]
    progress = home / "user_paths.json.progress"
    t0 = time.monotonic()
    with running_obs(home, sources, [HERE / "probe_user_paths.py"], {"DZ_UP_PLAN": json.dumps(p)}) as obs:
        outcome = watch(obs, progress, "ALL DONE", stall_s=env_float("DZ_UP_STALL_S", 90),
                        timeout_s=env_float("DZ_UP_TIMEOUT_S", 1200))
        why = evidence(obs, outcome, progress) if outcome != "done" else ""
        report = json.loads((home / "user_paths.json").read_text()) if (home / "user_paths.json").exists() else {}
        still_alive = alive(obs)
        if still_alive:  # and still answering
            with ObsClient("127.0.0.1", obs.port, PASSWORD) as c:
                stats = c.request("GetStats")
        log = obs.log_text()
        crashes = crash_reports(obs)
        clean = obs.stop()
    print(f"user paths: {outcome} after {time.monotonic() - t0:.0f} s")
    assert outcome == "done" and still_alive, why
    assert report.get("done") and not report.get("error"), report.get("error")
    for run in p["runs"]:
        name = f"{run['effect']}@{run['source']}"
        rec = report["runs"].get(name)
        assert rec is not None, f"{name} never ran"
        steps = rec["steps"]
        assert rec["error"] is None, f"{name}: {rec['error']}"
        assert steps.get("add") and steps.get("properties", 0) > 3 and steps.get("set_values", 0) > 3, (name, steps)
        assert steps.get("buttons") == len(BUTTONS.get(run["effect"], [])), (name, steps)
        assert steps["render"]["frames"] > 20, (name, steps["render"])  # OBS kept rendering with the filter on
        assert steps.get("reload") and steps.get("remove"), (name, steps)
        check_page(run["effect"], rec["page"])
        if run.get("resize"):
            assert rec["sizes_seen"] == [list(s) for s in SIZES], (name, rec["sizes_seen"])
    assert stats["renderTotalFrames"] > 0
    assert "Traceback" not in log, log[log.index("Traceback") - 300: log.index("Traceback") + 2500]
    assert not crashes, crashes[-1]
    ours = [line for line in log.splitlines() if "[deepzoom]" in line]
    failed = sorted({line.split("] ", 1)[-1][:200] for line in ours if " failed" in line})
    assert not failed, f"our filters logged failures: {failed}"
    # every value the property page offers must be one the settings accept
    rejected = sorted({line.split("] ", 1)[-1] for line in ours if "ignored invalid setting" in line})
    assert not rejected, f"the property page offers values its settings reject: {rejected}"
    # dragging sliders updates video filters on OBS's graphics thread: none of our Python may run there
    hot = sorted({line.split("] ", 1)[-1] for line in ours if "real-time threads" in line})
    assert not hot, f"Python callbacks ran on OBS's real-time threads (they take the GIL there): {hot}"
    assert clean, "OBS did not shut down cleanly"
