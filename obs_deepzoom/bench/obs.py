"""`deepzoom bench obs`: our default video filter inside a real headless OBS (Xvfb + llvmpipe) on a cheap
1280x720 30 fps source, measured with OBS's own GetStats: active fps and average frame render time with no
filter, with OBS's built-in Color Correction filter (peer: a native GPU filter), with ours (the default
preset's first video effect) and with the default preset's whole video chain (one readback per filter)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..media import read_image
from ..obs import setup
from ..obs.headless import HeadlessObs
from ..presets import load as load_preset
from ..remote import commands as rc
from ..remote.client import ObsClient
from ..samples import sample
from ..settings import Preset

SOURCE = "Face720"


def _face_720p(path: Path) -> Path:
    img = read_image(sample("single_face.jpg"))
    h, w = img.shape[:2]
    scale = 720 / h
    img = cv2.resize(img, (int(w * scale), 720), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((720, 1280, 3), 40, np.uint8)
    x = (1280 - img.shape[1]) // 2
    canvas[:, x:x + img.shape[1]] = img
    cv2.imwrite(str(path), canvas)
    return path


def _sample_stats(c: ObsClient, seconds: float, interval: float = 0.5) -> dict:
    """GetStats' averageFrameRenderTime is a running average; sample it and the fps over a window."""
    fps, render = [], []
    start = c.request("GetStats")
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        time.sleep(interval)
        s = c.request("GetStats")
        fps.append(s["activeFps"])
        render.append(s["averageFrameRenderTime"])
    end = c.request("GetStats")
    frames = end["renderTotalFrames"] - start["renderTotalFrames"]
    skipped = end["renderSkippedFrames"] - start["renderSkippedFrames"]
    return {"fps": statistics.median(fps), "render_ms": statistics.median(render),
            "render_ms_p95": float(np.percentile(render, 95)), "skipped_pct": 100 * skipped / max(frames, 1)}


def _stage_times(log: str) -> dict:
    """Per-frame stage times the filter logs when it is destroyed (OBS's thread only)."""
    import ast

    for line in reversed(log.splitlines()):
        if "ms per frame on OBS's thread:" in line:
            return ast.literal_eval(line.split("ms per frame on OBS's thread:", 1)[1].strip())
    return {}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(seconds: float = 10.0, progress=print) -> dict:
    pydeps = setup.install_pydeps(setup.obs_python_version(), progress)
    preset = load_preset("default")
    effect = preset.video[0]
    with tempfile.TemporaryDirectory(prefix="deepzoom-bench-obs-") as tmp:
        home = Path(tmp)
        source = {"id": "image_source", "versioned_id": "image_source", "name": SOURCE,
                  "settings": {"file": str(_face_720p(home / "face720.png"))}}
        obs = HeadlessObs(home, sources=[source], scripts=[setup.SCRIPT], pydeps=pydeps)
        progress("starting headless OBS (Xvfb + llvmpipe) ...")
        obs.start()
        try:
            with ObsClient("127.0.0.1", obs.port) as c:
                time.sleep(2.0)
                progress(f"no filter: sampling GetStats for {seconds:.0f} s")
                base = _sample_stats(c, seconds)
                c.request("CreateSourceFilter", {"sourceName": SOURCE, "filterName": "peer",
                                                 "filterKind": "color_filter_v2",
                                                 "filterSettings": {"saturation": 0.5}})
                time.sleep(1.0)
                progress("OBS Color Correction (peer): sampling")
                peer = _sample_stats(c, seconds)
                c.request("RemoveSourceFilter", {"sourceName": SOURCE, "filterName": "peer"})
                rc.add(c, SOURCE, effect, [])
                time.sleep(4.0)  # first frames compile the models in the worker
                progress(f"DeepZoom {effect} (the default preset's first video filter): sampling")
                ours = _sample_stats(c, seconds)
                rc.apply_preset(c, SOURCE, Preset(name="video-only", video=preset.video, settings=preset.settings))
                time.sleep(4.0)
                progress(f"the default preset's whole video chain ({', '.join(preset.video)}): sampling")
                chain = _sample_stats(c, seconds)
                rss = _rss_mb(obs.proc.pid)
        finally:
            clean = obs.stop()
            stages = _stage_times(obs.log_text())
    added = ours["render_ms"] - base["render_ms"]
    return {
        "name": "obs", "effect": effect, "source": "1280x720 image source (cheap), OBS 30 fps canvas",
        "ms_median": round(ours["render_ms"], 3), "ms_p95": round(ours["render_ms_p95"], 3),
        "fps": round(ours["fps"], 2), "active_fps": round(ours["fps"], 2),
        "baseline_fps": round(base["fps"], 2), "baseline_render_ms": round(base["render_ms"], 3),
        "added_render_ms": round(added, 3), "skipped_frames_pct": round(ours["skipped_pct"], 2),
        "peak_rss_mb": round(rss, 1), "peer": "OBS Color Correction filter (native GPU)",
        "peer_ms_median": round(peer["render_ms"], 3),
        "peer_ratio": round(ours["render_ms"] / max(peer["render_ms"], 1e-6), 2),
        "chain": preset.video, "chain_fps": round(chain["fps"], 2),
        "chain_added_render_ms": round(chain["render_ms"] - base["render_ms"], 3),
        "filter_stage_ms": stages, "clean_shutdown": clean, "seconds_per_phase": seconds,
    }
