"""Never freeze OBS: our filters next to Python scripts that take the GIL, inside a real headless OBS.

OBS calls a filter's filter_audio / filter_video / video_render with the source's filter mutex held; obspython keeps
the GIL while it waits for that mutex (e.g. in obs_source_filter_add). Filter callbacks that need the GIL then
deadlock OBS against any such script. These tests load a third-party-style toggler (probe_toggler.py), a GIL hog
(probe_gil_hog.py) and the user-paths probe (for in-process reloads) next to our script, on a media source "Cam" with
moving noisy video and continuous sound, and check that OBS keeps running, rendering and recording.

DZ_SOAK_S (60, as the issue asks) is each toggler session's length, DZ_RECORD_S (10) each recording of the GIL
hog test (DZ_HOG_MODE: busy, the default, or call; see probe_gil_hog.py). A frozen OBS is diagnosed (the probe's
last line, gdb's waiting threads) and killed; the next test starts a fresh one."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from obs_deepzoom.obs.kinds import ALL_KINDS, AUDIO_KINDS
from obs_deepzoom.obs.properties import parse_overrides
from obs_deepzoom.remote import commands as rc
from obs_deepzoom.remote.client import ObsClient, ObsError
from obs_deepzoom.remote.headless import HeadlessObs
from obs_deepzoom.samples import sample

from .conftest_probe import (
    HERE,
    PASSWORD,
    SCRIPT,
    alive,
    backtrace,
    blocked_threads,
    crash_reports,
    env_float,
    evidence,
    lines,
    media,
    mux,
    noisy_clip,
    running_obs,
    tone_wav,
)

SOURCE = "Cam"
TOGGLER = ("probe_toggler.py",)
THREADS = ("probe_gil_hog.py", "probe_user_paths.py")  # probes that only run threads of their own
SOAK_S = env_float("DZ_SOAK_S", 60)
RECORD_S = env_float("DZ_RECORD_S", 10)
CLIP_S = 90.0  # the GIL hog test's recordings end ~30 s after OBS starts: no loop point in them
STALL_S = env_float("DZ_STALL_S", 15)  # the toggler writes a line every 5 s: three missed lines = frozen
# settings that keep every filter busy and the sound never silent (a tone is "noise" to both audio effects)
OVERRIDES = {"avatar": [f"avatar.source={sample('grace_hopper.jpg')}"], "denoise": ["denoise.atten_limit_db=12"],
             "automute": ["automute.mode=duck", "automute.duck_db=12"]}


class Rig:
    """One headless OBS shared by the tests while it stays healthy; a test that froze or crashed it kills it and
    the next one starts a fresh OBS (each in its own HOME)."""

    def __init__(self, root: Path):
        self.root = root
        self.clip = mux(noisy_clip(root / "cam.avi", seconds=4.0), tone_wav(root / "tone.wav", seconds=CLIP_S),
                        root / "cam.mkv", CLIP_S)
        self.obs: HeadlessObs | None = None
        self._ctx = None
        self.n = 0
        self.probes: tuple[str, ...] = ()

    def get(self, probes: tuple[str, ...]) -> HeadlessObs:
        """A running OBS with exactly these probe scripts. Scripts with timers (the toggler polls for its command
        files) take the GIL on OBS's graphics thread themselves, so the GIL hog runs without them."""
        if self.obs is not None and alive(self.obs) and self.probes == probes:
            return self.obs
        self.stop()
        self.probes = probes
        self.n += 1
        home = self.root / f"obs-{self.n}"
        home.mkdir()
        (home / "cmd").mkdir()
        alias = home / "deepzoom_reload_probe.py"
        alias.symlink_to(SCRIPT)
        plan = {"out": str(home / "cmd" / "reload.json"), "go_file": str(home / "cmd" / "reload.go"),
                "reload_script": str(alias), "runs": [{"action": "reload", "times": 5, "interval_s": 1.0}]}
        env = {"DZ_TOG_DIR": str(home / "cmd"), "DZ_HOG_DIR": str(home / "cmd"), "DZ_UP_PLAN": json.dumps(plan)}
        self._ctx = running_obs(home, [media(SOURCE, self.clip)], [HERE / p for p in probes], env)
        self.obs = self._ctx.__enter__()
        with self.client() as c:
            wait_for_kinds(c)
        return self.obs

    def client(self, timeout: float = 10) -> ObsClient:
        return ObsClient("127.0.0.1", self.obs.port, PASSWORD, timeout=timeout)

    def cmd(self, name: str) -> Path:
        return self.obs.home / "cmd" / name

    def kill(self) -> None:
        """After a freeze: SIGKILL the OBS we started (its process group), then clean up Xvfb."""
        if self.obs is not None and alive(self.obs):
            os.killpg(self.obs.proc.pid, signal.SIGKILL)
            self.obs.proc.wait(10)

    def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
        self._ctx = self.obs = None
        self.probes = ()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    r = Rig(tmp_path_factory.mktemp("never-freeze"))
    yield r
    r.stop()


@contextlib.contextmanager
def guard(rig: Rig):
    """An OBS that dies under a test fails it with the evidence (exit code, Python stacks at the crash, log)
    instead of a bare connection error."""
    try:
        yield
    except Exception as exc:
        if rig.obs is None or alive(rig.obs):
            raise
        time.sleep(0.5)
        pytest.fail(f"OBS died under the test ({type(exc).__name__}: {exc})\n"
                    + evidence(rig.obs, "died", rig.cmd("none")))


def wait_for_kinds(c: ObsClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            c.request("GetSourceFilterDefaultSettings", {"filterKind": ALL_KINDS["landmarks"][0]})
            return
        except ObsError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def clear_filters(c: ObsClient) -> None:
    for f in c.request("GetSourceFilterList", {"sourceName": SOURCE})["filters"]:
        c.request("RemoveSourceFilter", {"sourceName": SOURCE, "filterName": f["filterName"]})


def add_ours(c: ObsClient, effects) -> None:
    for effect in effects:
        rc.add(c, SOURCE, effect, OVERRIDES.get(effect, []))


def stats(c: ObsClient) -> dict | None:
    try:
        return c.request("GetStats")
    except ObsError:
        return None


def freeze_report(rig: Rig, log: Path, why: str) -> str:
    """Where it stopped, whether OBS still renders, which threads wait on what; then OBS is killed."""
    obs = rig.obs
    parts = [why, "probe's last lines:\n  " + "\n  ".join(lines(log)[-5:])]
    if alive(obs):
        try:
            with rig.client(timeout=5) as c:
                a = stats(c)
                time.sleep(2)
                b = stats(c)
            if a and b:
                parts.append(f"OBS rendered {b['renderTotalFrames'] - a['renderTotalFrames']} frames in 2 s")
        except ObsError as exc:
            parts.append(f"obs-websocket does not answer: {exc}")
        bt = backtrace(obs.proc.pid, obs.home / "gdb-backtrace.txt")
        parts.append(f"threads waiting ({obs.home / 'gdb-backtrace.txt'}):\n  " + "\n  ".join(blocked_threads(bt)))
        rig.kill()
    else:
        crashes = crash_reports(obs)
        parts.append(f"OBS died (exit code {obs.proc.returncode})" + (f": {crashes[-1][:2000]}" if crashes else ""))
    parts.append("OBS log tail:\n  " + "\n  ".join(obs.log_text().splitlines()[-15:]))
    return "\n".join(parts)


def run_session(rig: Rig, c: ObsClient, prefix: str, config: dict, seconds: float) -> dict:
    """Start a probe session by its command file; sample GetStats until it writes ALL DONE. Returns the outcome
    ("done", "frozen", "died"), the probe's log lines, stats samples and, for a freeze, the report."""
    n = len(list(rig.cmd("").glob(f"{prefix}-*.json"))) + 1
    cmd, log = rig.cmd(f"{prefix}-{n}.json"), rig.cmd(f"{prefix}-{n}.log")
    samples = [(time.monotonic(), stats(c))]
    tmp = cmd.with_suffix(".tmp")
    tmp.write_text(json.dumps(config))
    tmp.rename(cmd)
    t0 = last_change = time.monotonic()
    size, outcome = -1, None
    while outcome is None:
        time.sleep(0.5)
        text = log.read_text() if log.exists() else ""
        if "ALL DONE" in text:
            outcome = "done"
        elif not alive(rig.obs):
            outcome = "died"
        elif len(text) != size:
            size, last_change = len(text), time.monotonic()
        elif time.monotonic() - last_change > STALL_S or time.monotonic() - t0 > seconds + 90:
            outcome = "frozen"
        if outcome is None and time.monotonic() - samples[-1][0] > 2:
            samples.append((time.monotonic(), stats(c)))
    samples.append((time.monotonic(), stats(c) if outcome == "done" else None))
    out = {"outcome": outcome, "lines": lines(log), "samples": [s for s in samples if s[1]], "elapsed": 0.0}
    out["elapsed"] = time.monotonic() - t0
    if outcome != "done":
        out["report"] = freeze_report(rig, log, f"{prefix} session {outcome} after {out['elapsed']:.0f} s")
    return out


def iterations(log_lines: list[str]) -> int:
    done = [line for line in log_lines if line.startswith("ALL DONE")]
    if done:
        return int(done[-1].split()[-1])
    counts = [json.loads(line)["iterations"] for line in log_lines if line.startswith("{")]
    return counts[-1] if counts else (1 if "iteration 1: done" in log_lines else 0)


def render_health(samples: list) -> dict:
    (t0, a), (t1, b) = samples[0], samples[-1]
    frames = b["renderTotalFrames"] - a["renderTotalFrames"]
    return {"seconds": round(t1 - t0, 1), "frames": frames,
            "skipped_ratio": round((b["renderSkippedFrames"] - a["renderSkippedFrames"]) / max(frames, 1), 4),
            "min_active_fps": round(min(s["activeFps"] for _, s in samples[1:]), 1)}


def check_toggler(rig: Rig, result: dict) -> None:
    expected = SOAK_S / 0.2
    n = iterations(result["lines"])
    summary = f"toggler: {result['outcome']}, {n} of ~{expected:.0f} iterations in {result['elapsed']:.0f} s"
    print(summary)
    assert result["outcome"] == "done", summary + "\n" + result.get("report", "")
    assert n >= 0.8 * expected, summary
    health = render_health(result["samples"])
    print(f"rendering during the soak: {health}")
    # not frozen, not even for a few seconds (lag from CPU load is not this test's business: reported only)
    assert health["frames"] > 0.5 * 30 * health["seconds"] and health["min_active_fps"] >= 10, \
        f"OBS stopped rendering: {health}"
    log = rig.obs.log_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 300: log.index("Traceback") + 2000]


def test_toggler_script_next_to_our_filters_added_over_websocket(rig):
    rig.get(TOGGLER)
    with rig.client() as c, guard(rig):
        clear_filters(c)
        add_ours(c, ALL_KINDS)
        time.sleep(3.0)  # models compiled, every filter processing
        result = run_session(rig, c, "toggle", {"source": SOURCE, "seconds": SOAK_S}, SOAK_S)
    check_toggler(rig, result)


def test_toggler_script_adding_our_filters_itself(rig):
    rig.get(TOGGLER)
    kinds = [{"kind": kind, "name": name, "settings": parse_overrides(effect, OVERRIDES.get(effect, []))}
             for effect, (kind, name) in ALL_KINDS.items()]
    with rig.client() as c, guard(rig):
        clear_filters(c)
        result = run_session(rig, c, "toggle", {"source": SOURCE, "seconds": SOAK_S, "kinds": kinds}, SOAK_S + 30)
    check_toggler(rig, result)
    added = [line for line in result["lines"] if line == "added"]
    assert added, "the toggler could not add our filters"


def decode(path: str, rate: int = 48000) -> np.ndarray:
    wav = Path(path).with_suffix(".wav")
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-i", path, "-ac", "1", "-ar", str(rate), str(wav)],
                   check=True)
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


def silent_runs_ms(x: np.ndarray, rate: int = 48000, window_ms: float = 5, floor: float = 3e-4) -> list[float]:
    """Lengths of the stretches (in ms) where the sound drops to (near) digital silence."""
    n = int(rate * window_ms / 1000)
    rms = np.sqrt((x[: len(x) // n * n].reshape(-1, n) ** 2).mean(1))
    quiet = np.concatenate([[False], rms < floor, [False]])
    edges = np.flatnonzero(np.diff(quiet.astype(int)))
    return [float((b - a) * window_ms) for a, b in zip(edges[::2], edges[1::2])]


def wait_record_idle(c: ObsClient) -> None:
    for _ in range(100):
        if not c.request("GetRecordStatus")["outputActive"]:
            return
        time.sleep(0.2)


def record(rig: Rig, c: ObsClient, seconds: float, log: Path | None = None) -> dict:
    """Record `seconds` of the program; returns the video counters over the recording and the sound's silent
    stretches (the recording's first and last half second aside)."""
    wait_record_idle(c)
    try:
        c.request("StartRecord")
        time.sleep(0.5)
        a = c.request("GetStats")
        time.sleep(seconds)
        b = c.request("GetStats")
        path = c.request("StopRecord")["outputPath"]
        wait_record_idle(c)
    except ObsError as exc:
        pytest.fail(freeze_report(rig, log or rig.cmd("none"), f"OBS stopped answering while recording: {exc}"))
    rendered = b["renderTotalFrames"] - a["renderTotalFrames"]
    output = b["outputTotalFrames"] - a["outputTotalFrames"]
    audio = decode(path)
    gaps = silent_runs_ms(audio[24000: len(audio) - 24000])
    return {"output_frames": output, "output_skipped": round((b["outputSkippedFrames"] - a["outputSkippedFrames"])
                                                             / max(output, 1), 4),
            "render_skipped": round((b["renderSkippedFrames"] - a["renderSkippedFrames"]) / max(rendered, 1), 4),
            "active_fps": round(b["activeFps"], 1), "audio_s": round(len(audio) / 48000, 1),
            "longest_silences_ms": sorted(gaps)[-5:]}


def problems(m: dict, seconds: float) -> list[str]:
    """What is wrong with a recording: "video" (frames missing, skipped in rendering or output), "audio" (short,
    or silent stretches longer than 50 ms in a sound that never pauses)."""
    out = []
    if m["output_frames"] < 0.8 * 30 * seconds or m["output_skipped"] >= 0.05 or m["render_skipped"] >= 0.05:
        out.append("video")
    if m["audio_s"] < 0.8 * seconds or [g for g in m["longest_silences_ms"] if g > 50]:
        out.append("audio")
    return out


def test_gil_hog_does_not_stall_video_or_audio_while_recording(rig):
    """A recording with a script holding the GIL 200 ms of every second: no stalled video, no holes in the sound.
    The same recording without the hog comes first: when that one fails too, the machine is overloaded."""
    rig.get(THREADS)
    with rig.client() as c, guard(rig):
        clear_filters(c)
        add_ours(c, ["landmarks", *AUDIO_KINDS])  # a video filter on the raw frames, both audio filters
        time.sleep(3.0)
        control = record(rig, c, RECORD_S)
        n = len(list(rig.cmd("").glob("hog-*.json"))) + 1
        log = rig.cmd(f"hog-{n}.log")
        rig.cmd(f"hog-{n}.json").write_text(json.dumps({"seconds": RECORD_S + 3, "hold_ms": 200, "period_ms": 1000,
                                                        "mode": os.environ.get("DZ_HOG_MODE", "busy")}))
        deadline = time.monotonic() + 10
        while "started" not in lines(log) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert "started" in lines(log), "the GIL hog did not start"
        hogged = record(rig, c, RECORD_S, log)
    hog = [json.loads(line) for line in lines(log) if line.startswith("{")]
    print(f"GIL hog: {hog}\nrecording without the hog: {control}\nrecording with the hog: {hogged}")
    assert hog and min(h.get("held_ms", h.get("held_ms_min", 0)) for h in hog) >= 190, f"the hog did not hold: {hog}"
    bad, normal = problems(hogged, RECORD_S), problems(control, RECORD_S)
    stalled = [k for k in bad if k not in normal]
    assert not stalled, f"the GIL hog stalls OBS's {' and '.join(stalled)}: without it {control}, with it {hogged}"
    if bad:  # every problem also happens without the hog: this machine cannot tell, which is not a failure
        pytest.skip(f"inconclusive: the {' and '.join(bad)} of the recording stall even without the GIL hog "
                    f"(machine overloaded): without it {control}, with it {hogged}")


def test_reloading_our_script_while_every_filter_runs(rig):
    rig.get(THREADS)
    with rig.client() as c, guard(rig):
        clear_filters(c)
        add_ours(c, ALL_KINDS)
        time.sleep(3.0)
        before = c.request("GetStats")
        progress = rig.cmd("reload.json.progress")
        rig.cmd("reload.go").write_text("go")
        deadline = time.monotonic() + 90
        while "ALL DONE" not in "".join(lines(progress)) and alive(rig.obs) and time.monotonic() < deadline:
            time.sleep(0.5)
        if "ALL DONE" not in "".join(lines(progress)):
            pytest.fail(freeze_report(rig, progress, "the reloads did not finish"))
        after = c.request("GetStats")
        ours = [f for f in rc.list_filters(c, SOURCE) if f["deepzoom"]]
    report = json.loads(rig.cmd("reload.json").read_text())
    rec = report["runs"]["reload"]
    assert rec["error"] is None and rec["steps"]["reloads"] == 5, rec
    assert all(f["frames"] > 20 for f in rec["frames_between"]), rec["frames_between"]
    assert len(ours) == len(ALL_KINDS), ours
    assert after["renderTotalFrames"] - before["renderTotalFrames"] > 100
    log = rig.obs.log_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 300: log.index("Traceback") + 2000]
    assert log.count("registered filter deepzoom_landmarks") == 1, "a reload must not register again"
