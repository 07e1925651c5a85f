"""`deepzoom bench obs --obs 32`: the phases of `bench obs` against libobs 32.2.2 hosted in-process by the
OBS 32 test tier's host (tests/obs32/host.py, run as a subprocess with the tier's environment and an Xvfb of
its own). libobs 32.2.2 comes from pylibobs, a test-only tool `deepzoom reference install` puts into
.cache/obs32; this module never imports it.

Phases, on a 1280x720 image source shown on OBS's 30 fps 1280x720 canvas (the render path): no filter,
OBS's color_filter_v2 (the peer: a native GPU filter), the default preset's first video effect, its whole
video chain; then the default noise suppression on speech pushed in real time (the native audio callback's
time). Render time is OBS's own average frame render time (obs_get_average_frame_time_ns, what GetStats
reports as averageFrameRenderTime); the filters' counters are the ones they log with DEEPZOOM_STATS_S."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import DeepZoomError
from .obs import _applied_pct, _delta

HOST = Path(__file__).resolve().parents[2] / "tests" / "obs32" / "host.py"


def _host_steps(seconds: float, progress) -> dict[str, dict]:
    env = dict(os.environ, DEEPZOOM_STATS_S="1")
    env.pop("DEEPZOOM_OBS32_HOST", None)  # host.py sets the tier's environment up itself
    steps: dict[str, dict] = {}
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([sys.executable, str(HOST), "bench", "--seconds", str(seconds)], env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=HOST.parents[2])
        for line in proc.stdout:
            try:
                step = json.loads(line)
            except json.JSONDecodeError:
                continue
            steps[step["step"]] = step
            if step["step"].startswith("bench_"):
                progress(f"libobs 32.2.2: {step['step'][6:]} done")
        proc.wait()
        err.seek(0)
        log = err.read()
    end = steps.get("end", {})
    if proc.returncode != 0 or not end.get("ok"):
        why = end.get("error") or f"exit status {proc.returncode}"
        tail = "\n".join(log.splitlines()[-15:])
        raise DeepZoomError(f"bench obs --obs 32: the libobs 32.2.2 host failed ({why})\n{tail}")
    return steps


def run(seconds: float = 10.0, progress=print) -> dict:
    from ..obs import native
    from ..reference import obs32_missing

    why = obs32_missing()
    if why:
        raise DeepZoomError(f"bench obs --obs 32 needs libobs 32.2.2 (pylibobs, test-only): {why}. "
                            "Run `deepzoom reference install`")
    if not HOST.exists():
        raise DeepZoomError(f"bench obs --obs 32 runs the OBS 32 tier's host, {HOST}: it needs a source checkout")
    native.build(progress)
    progress(f"libobs 32.2.2 in-process (tests/obs32/host.py, Xvfb + llvmpipe): {seconds:.0f} s per phase")
    s = _host_steps(seconds, progress)
    setup, base, peer, one, chain_s, audio_s = (s[k] for k in ("bench_setup", "bench_base", "bench_peer",
                                                                "bench_one", "bench_chain", "bench_audio"))
    effect, chain = setup["effect"], setup["chain"]
    d_one = _delta(one["before"], one["after"], effect)
    last, first = (_delta(chain_s["before"], chain_s["after"], e) for e in (chain[-1], chain[0]))
    audio = _delta(audio_s["before"], audio_s["after"], "denoise")
    frames = max(chain_s["frames"], 1)
    gil = max([s["bench_gil"]["gil_waits_on_obs_threads"]]
              + [c.get("gil_waits_on_obs_threads", 0) for step in (one, chain_s, audio_s)
                 for c in step["after"].values()])
    return {
        "name": "obs", "obs": s["libobs"]["version"], "effect": effect,
        "source": "1280x720 image source (cheap), libobs 32.2.2 in-process, 30 fps 1280x720 canvas",
        "ms_median": round(one["render_ms"], 3), "ms_p95": round(one["render_ms_p95"], 3),
        "fps": round(one["fps"], 2), "baseline_fps": round(base["fps"], 2),
        "baseline_render_ms": round(base["render_ms"], 3),
        "added_render_ms": round(one["render_ms"] - base["render_ms"], 3),
        "skipped_frames_pct": round(one["skipped_pct"], 2),
        "effect_applied_pct_one": _applied_pct(d_one),
        "render_stage_ms": {k: round(d_one.get(f"{k}_ns", 0) / 1e6 / max(d_one.get("renders", 0), 1), 3)
                            for k in ("native", "readback", "upload", "wait")},
        "effect_ms_median": d_one.get("effect_ms_median"),
        "peer": "OBS Color Correction filter (color_filter_v2, native GPU)", "peer_kind": "outside",
        "peer_ms_median": round(peer["render_ms"], 3),
        "peer_added_render_ms": round(peer["render_ms"] - base["render_ms"], 3),
        "peer_ratio": round(one["render_ms"] / max(peer["render_ms"], 1e-6), 2),
        "chain": chain, "chain_fps": round(chain_s["fps"], 2),
        "chain_added_render_ms": round(chain_s["render_ms"] - base["render_ms"], 3),
        "effect_applied_pct": _applied_pct(last),
        "chain_results_per_s": round(last.get("done", 0) / max(chain_s["seconds"], 1e-6), 1),
        "chain_readbacks_per_frame": round((last.get("readbacks", 0) + first.get("readbacks", 0)) / frames, 2),
        "chain_uploads_per_frame": round((last.get("uploads", 0) + first.get("uploads", 0)) / frames, 2),
        "audio_callback_p99_us": audio.get("p99_us"),
        "audio_callback_max_us": round(audio.get("max_ns", 0) / 1e3, 1),
        "audio_processed_pct": round(100 * audio.get("processed", 0) / max(audio.get("frames", 0), 1), 1),
        "audio_latency_ms": audio.get("latency_ms"), "audio_seconds": audio_s["seconds"],
        "gil_waits_on_obs_threads": gil, "gil_wait_callbacks": s["bench_gil"]["callbacks"],
        "seconds_per_phase": seconds,
    }
