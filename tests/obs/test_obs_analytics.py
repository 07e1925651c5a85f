"""The face analytics filter in the real headless OBS: the overlay on the picture, the statistics read remotely
through obs-websocket's vendor requests (Python API and `deepzoom remote analytics`), reset, bad requests."""

from __future__ import annotations

import json
import time

import numpy as np

from obs_deepzoom.obs.kinds import GET_ANALYTICS, VENDOR
from obs_deepzoom.remote import commands as rc
from obs_deepzoom.remote.client import ObsError

from .test_obs_filters import deepzoom, remove_ours, settle, shot

SOURCE = "Clip"  # the face clip, playing in a loop


def box_pixels(img: np.ndarray) -> int:
    """Pixels of the overlay's saturated "looking" green (the clip has none). OBS shows the media source through
    its YUV conversion, so the colour is matched by hue, not exactly."""
    b, g, r = (img[..., i].astype(np.int16) for i in range(3))
    return int(((g - r > 60) & (g - b > 60)).sum())


def wait_stats(c, want, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            stats = rc.analytics(c, SOURCE)
            if want(stats):
                return stats
        except ObsError as exc:
            if "published" not in str(exc) or time.monotonic() > deadline:
                raise
            stats = None
        if time.monotonic() > deadline:
            raise AssertionError(f"statistics never as wanted: {stats}")
        time.sleep(0.5)


def test_analytics_overlay_and_remote_statistics(obs_env, client):
    remove_ours(client, SOURCE)
    plain = max(box_pixels(shot(client, SOURCE)) for _ in range(3))
    assert plain < 50
    rc.add(client, SOURCE, "analytics", ["analytics.attributes_every_s=0.5", "filter.latency_frames=8"])
    stats = wait_stats(client, lambda s: s.get("people") and s["people"][0].get("gender") and s["frames"] > 60)
    (person,) = stats["people"]
    assert person["id"] == "unknown-1" and person["attention_pct"] >= 80, stats
    assert person["gender"] == "male" and 18 < person["age"] < 70, stats
    assert stats["in_view"] == 1 and stats["age_s"] < 2.0 and stats["effect_ms_median"] > 0 and stats["idle_s"] < 2
    box = stats["faces"][0]["box"]  # crossed obs-websocket's data intact
    assert set(box) == {"x", "y", "w", "h"} and 40 < box["w"] < 640 and 40 < box["h"] < 360, stats
    img = settle(client, SOURCE, lambda im: box_pixels(im) > 300, timeout=20)
    assert box_pixels(img) > 300, "the overlay's box never showed"

    # the statistics start over on request; the person is seen again afterwards
    before = stats["frames"]
    after = rc.analytics(client, SOURCE, reset=True)
    assert after["frames"] < before
    again = wait_stats(client, lambda s: s.get("people") and s["frames"] > 10, timeout=20)
    assert again["people"][0]["id"] == "unknown-1"

    # the command line: JSON and text
    r = deepzoom(obs_env, "remote", "analytics", SOURCE, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["people"][0]["id"] == "unknown-1"
    r = deepzoom(obs_env, "remote", "analytics", SOURCE)
    assert r.returncode == 0 and r.stdout.startswith(f"{SOURCE}: 1 seen") and "unknown-1" in r.stdout, r.stdout

    # the overlay off: the picture is the clip's own again, the statistics go on
    rc.set_settings(client, SOURCE, rc.default_filter_name("analytics"), ["analytics.overlay=false"])
    img = settle(client, SOURCE, lambda im: box_pixels(im) < 50, timeout=20)
    assert box_pixels(img) < 50
    frames = rc.analytics(client, SOURCE)["frames"]
    time.sleep(1.5)
    assert rc.analytics(client, SOURCE)["frames"] > frames

    # removed: the vendor request (answered in C, no filter left) says so in one line
    remove_ours(client, SOURCE)
    time.sleep(0.5)
    d = client.request("CallVendorRequest", {"vendorName": VENDOR, "requestType": GET_ANALYTICS,
                                             "requestData": {"source": SOURCE}})["responseData"]
    assert "no DeepZoom Face Analytics filter" in d["error"]
    log = obs_env.log_text()
    assert log.count(f"obs-websocket vendor {VENDOR}") == 1, "registered once although the script loaded twice"
    assert "analytics: processing failed" not in log and "publishing statistics failed" not in log


def test_bad_analytics_requests_are_one_line(obs_env, client):
    for args, words in ((("remote", "analytics", "Portrait"), "has no DeepZoom Face Analytics filter"),
                        (("remote", "analytics", "Nope"), "no source named 'Nope'"),
                        (("remote", "analytics", "Portrait", "--follow", "--every", "0"), "--every 0.0")):
        r = deepzoom(obs_env, *args)
        assert r.returncode == 2 and words in r.stderr and "Traceback" not in r.stderr, (args, r.stderr)
    for data, words in (({"source": "Nope"}, "no source named 'Nope'"), ({"source": ""}, "names no source")):
        d = client.request("CallVendorRequest", {"vendorName": VENDOR, "requestType": GET_ANALYTICS,
                                                 "requestData": data})["responseData"]
        assert words in d["error"]
