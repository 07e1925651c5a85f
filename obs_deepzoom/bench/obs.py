"""`deepzoom bench obs`: our filters inside a real headless OBS (Xvfb + llvmpipe), measured with OBS's own
GetStats and the filters' own counters (DEEPZOOM_STATS_S makes each filter log them):
- a cheap 1280x720 image source (render path): no filter, OBS's Color Correction (peer: a native GPU filter),
  ours (the default preset's first video effect), the default preset's whole video chain (one readback);
- a moving, noisy 1280x720 clip (async path: frames held and released with their own result);
- noise suppression on a speech clip (the native audio callback's time on OBS's audio thread).
Every phase also reports how many Python callbacks ran on OBS's real-time threads (must be 0)."""

from __future__ import annotations

import json
import re
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from ..media import read_image
from ..presets import Preset
from ..presets import load as load_preset
from ..remote import commands as rc
from ..remote import setup
from ..remote.client import ObsClient
from ..remote.headless import HeadlessObs
from ..samples import sample

SOURCE = "Face720"
CAMERA = "Camera720"
SPEECH = "Speech"


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
    return {"fps": statistics.median(fps), "render_ms": statistics.median(render), "frames": frames,
            "seconds": seconds,
            "render_ms_p95": float(np.percentile(render, 95)), "skipped_pct": 100 * skipped / max(frames, 1)}


def speech_clip(path: Path, rate: int = 48000) -> Path:
    """Stereo 48 kHz WAV: 2 s of faint room noise, the LibriVox sentence, 2 s of noise (loops in OBS)."""
    import wave

    with wave.open(str(sample("speech_librivox.wav"))) as w:
        speech = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    t = np.arange(len(speech) * 3) / 3
    speech48 = np.interp(t, np.arange(len(speech)), speech)  # 16 -> 48 kHz, plenty for a test signal
    noise = lambda n: np.random.default_rng(n).normal(0, 0.004, n)  # noqa: E731
    mono = np.concatenate([noise(2 * rate), speech48 + noise(len(speech48)), noise(2 * rate + 1)])
    return write_stereo_wav(path, mono, rate)


def write_stereo_wav(path: Path, mono: np.ndarray, rate: int) -> Path:
    """16-bit stereo WAV with the same signal on both channels."""
    import wave

    pcm = (np.clip(mono, -1, 1) * 32767).astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(pcm, 2).tobytes())
    return path


def _counters(log: str) -> dict[str, dict]:
    """The newest counters each filter logged ("<effect> stats: {json}")."""
    out = {}
    for line in log.splitlines():
        m = re.search(r"\[deepzoom\] (\w+) stats: (\{.*\})", line)
        if m:
            out[m.group(1)] = json.loads(m.group(2))
    return out


def _delta(before: dict, after: dict, effect: str) -> dict:
    a, b = after.get(effect, {}), before.get(effect, {})
    return {k: v - b.get(k, 0) if isinstance(v, (int, float)) and k not in MAXIMA else v for k, v in a.items()}


MAXIMA = ("max_ns", "p99_us", "latency_ms", "latency_frames", "gil_waits_on_obs_threads", "t", "effect_ms_median")


def _applied_pct(d: dict) -> float:
    shown = d.get("applied", 0) + d.get("passed", 0) + d.get("dropped", 0)
    return round(100 * d.get("applied", 0) / max(shown, 1), 1)


def _moving_clip(path: Path, face: Path, seconds: float = 12.0) -> Path:
    """A 1280x720 30 fps clip of the face drifting with sensor-like noise: every pixel changes every frame."""
    img = cv2.imread(str(face))
    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (1280, 720))
    for i in range(int(seconds * 30)):
        shift = np.float32([[1, 0, 20 * np.sin(i / 15)], [0, 1, 10 * np.cos(i / 20)]])
        frame = cv2.warpAffine(img, shift, (1280, 720), borderMode=cv2.BORDER_REFLECT)
        writer.write(cv2.add(frame, rng.integers(0, 6, frame.shape, np.uint8)))
    writer.release()
    return path


def _media(name: str, path: Path) -> dict:
    return {"id": "ffmpeg_source", "versioned_id": "ffmpeg_source", "name": name, "mixers": 255,
            "settings": {"is_local_file": True, "local_file": str(path), "looping": True, "hw_decode": False}}


def _phase(c: ObsClient, obs: HeadlessObs, seconds: float) -> tuple[dict, dict, dict]:
    before = _counters(obs.log_text())
    stats = _sample_stats(c, seconds)
    time.sleep(1.2)  # one more counters line
    return stats, before, _counters(obs.log_text())


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(seconds: float = 10.0, progress=print) -> dict:
    import os

    from ..obs import native

    pydeps = setup.install_pydeps(setup.obs_python_version(), progress)
    native.build(progress)
    preset = load_preset("default")
    effect = preset.video[0]
    os.environ["DEEPZOOM_STATS_S"] = "1"  # inherited by OBS: each filter logs its counters every second
    with tempfile.TemporaryDirectory(prefix="deepzoom-bench-obs-") as tmp:
        home = Path(tmp)
        face = _face_720p(home / "face720.png")
        sources = [{"id": "image_source", "versioned_id": "image_source", "name": SOURCE,
                    "settings": {"file": str(face)}}]
        later = {CAMERA: _media(CAMERA, _moving_clip(home / "camera.avi", face)),  # added in their phases
                 SPEECH: _media(SPEECH, speech_clip(home / "speech.wav"))}
        obs = HeadlessObs(home, sources=sources, scripts=[setup.SCRIPT], pydeps=pydeps)
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
                time.sleep(6.0)  # first frames compile the models in the worker
                progress(f"DeepZoom {effect} (the default preset's first video filter): sampling")
                ours, b1, a1 = _phase(c, obs, seconds)
                rc.apply_preset(c, SOURCE, Preset(name="video-only", video=preset.video, settings=preset.settings))
                time.sleep(6.0)
                progress(f"the default preset's whole video chain ({', '.join(preset.video)}): sampling")
                chain, b2, a2 = _phase(c, obs, seconds)
                for f in rc.list_filters(c, SOURCE):
                    c.request("RemoveSourceFilter", {"sourceName": SOURCE, "filterName": f["name"]})
                c.request("SetSceneItemEnabled", {"sceneName": "Scene", "sceneItemId": _item(c, SOURCE),
                                                  "sceneItemEnabled": False})
                cam_item = _add_input(c, later[CAMERA])
                time.sleep(2.0)
                progress("moving, noisy 1280x720 clip without a filter (async path): sampling")
                cam_base = _sample_stats(c, seconds)
                rc.add(c, CAMERA, effect, [])
                time.sleep(6.0)
                progress(f"DeepZoom {effect} on the clip (frames held, each shown with its own result): sampling")
                cam, b3, a3 = _phase(c, obs, seconds)
                c.request("RemoveSceneItem", {"sceneName": "Scene", "sceneItemId": cam_item})
                _add_input(c, later[SPEECH])
                rc.add(c, SPEECH, "denoise", [])
                time.sleep(6.0)
                progress("DeepZoom noise suppression on a speech clip: sampling")
                _, b4, a4 = _phase(c, obs, seconds)
                rss = _rss_mb(obs.proc.pid)
        finally:
            clean = obs.stop()
            os.environ.pop("DEEPZOOM_STATS_S", None)
            gil_callbacks = sorted(set(re.findall(r"the (\w+) callback ran on one of OBS's real-time threads",
                                                  obs.log_text())))
    one, last = _delta(b1, a1, effect), _delta(b2, a2, preset.video[-1])
    first_in_chain = _delta(b2, a2, preset.video[0])
    async_d, audio = _delta(b3, a3, effect), _delta(b4, a4, "denoise")
    frames = max(chain["frames"], 1)
    gil = max([d.get("gil_waits_on_obs_threads", 0) for d in (a1, a2, a3, a4) for d in d.values()] or [0])
    added = ours["render_ms"] - base["render_ms"]
    return {
        "name": "obs", "effect": effect, "source": "1280x720 image source (cheap), OBS 30 fps canvas",
        "ms_median": round(ours["render_ms"], 3), "ms_p95": round(ours["render_ms_p95"], 3),
        "fps": round(ours["fps"], 2), "active_fps": round(ours["fps"], 2),
        "baseline_fps": round(base["fps"], 2), "baseline_render_ms": round(base["render_ms"], 3),
        "added_render_ms": round(added, 3), "skipped_frames_pct": round(ours["skipped_pct"], 2),
        "effect_applied_pct_one": _applied_pct(one),
        "render_stage_ms": {k: round(one.get(f"{k}_ns", 0) / 1e6 / max(one.get("renders", 0), 1), 3)
                            for k in ("native", "readback", "upload", "wait")},
        "peak_rss_mb": round(rss, 1), "peer": "OBS Color Correction filter (native GPU)", "peer_kind": "outside",
        "peer_ms_median": round(peer["render_ms"], 3),
        "peer_ratio": round(ours["render_ms"] / max(peer["render_ms"], 1e-6), 2),
        "chain": preset.video, "chain_fps": round(chain["fps"], 2), "chain_active_fps": round(chain["fps"], 2),
        "chain_added_render_ms": round(chain["render_ms"] - base["render_ms"], 3),
        "effect_applied_pct": _applied_pct(last),
        "chain_results_per_s": round(last.get("done", 0) / max(chain["seconds"], 1e-6), 1),
        "chain_readbacks_per_frame": round((last.get("readbacks", 0) + first_in_chain.get("readbacks", 0))
                                           / frames, 2),
        "chain_uploads_per_frame": round((last.get("uploads", 0) + first_in_chain.get("uploads", 0)) / frames, 2),
        "async_fps": round(cam["fps"], 2), "async_baseline_render_ms": round(cam_base["render_ms"], 3),
        "async_added_render_ms": round(cam["render_ms"] - cam_base["render_ms"], 3),
        "async_effect_applied_pct": _applied_pct(async_d),
        "async_dropped_pct": round(100 * async_d.get("dropped", 0) / max(async_d.get("frames_in", 0), 1), 1),
        "latency_frames": async_d.get("latency_frames"),
        "async_effect_ms_median": async_d.get("effect_ms_median"),
        "async_native_ms_per_frame": round(async_d.get("native_ns", 0) / 1e6 / max(async_d.get("frames_in", 0), 1),
                                           3),
        "audio_callback_p99_us": audio.get("p99_us"), "audio_callback_max_us": round(audio.get("max_ns", 0) / 1e3, 1),
        "audio_processed_pct": round(100 * audio.get("processed", 0) / max(audio.get("frames", 0), 1), 1),
        "audio_latency_ms": audio.get("latency_ms"),
        "gil_waits_on_obs_threads": gil, "gil_wait_callbacks": gil_callbacks, "clean_shutdown": clean,
        "seconds_per_phase": seconds,
    }


def _add_input(c: ObsClient, source: dict) -> int:
    return c.request("CreateInput", {"sceneName": "Scene", "inputName": source["name"], "inputKind": source["id"],
                                     "inputSettings": source["settings"]})["sceneItemId"]


def _item(c: ObsClient, source: str) -> int:
    return c.request("GetSceneItemId", {"sceneName": "Scene", "sourceName": source})["sceneItemId"]
