"""A real OBS Studio without a screen (Xvfb + Mesa llvmpipe) in a fresh HOME, for tests and `bench obs`.

`HeadlessObs(home, port).start()` writes a complete config (no first-run wizard, websocket on `port`,
1280x720 at 30 fps, preview off), a scene collection with the sources asked for and our script preloaded,
then starts Xvfb and OBS and waits until obs-websocket answers. `stop()` closes the main window the way a
user would (WM_DELETE_WINDOW), so OBS shuts down cleanly, and falls back to killing it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..errors import DeepZoomError
from . import config

OBS_29_VERSION = (29 << 24) | (0 << 16) | 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            return n
    raise DeepZoomError("no free X display number for Xvfb")


def _scene_item(name: str, i: int) -> dict:
    return {"name": name, "id": i, "visible": True, "pos": {"x": 0.0, "y": 0.0}, "scale": {"x": 1.0, "y": 1.0},
            "align": 5, "bounds_type": 0}


class HeadlessObs:
    def __init__(self, home: Path, port: int | None = None, password: str | None = None,
                 sources: list[dict] | None = None, scripts: list[Path] | None = None,
                 pydeps: Path | None = None, record_dir: Path | None = None):
        self.home = Path(home)
        self.port = port or free_port()
        self.password = password
        self.sources = sources or []
        self.scripts = scripts or []
        self.pydeps = pydeps
        self.record_dir = record_dir or self.home / "recordings"
        self.config_dir = self.home / ".config" / "obs-studio"
        self.xvfb: subprocess.Popen | None = None
        self.proc: subprocess.Popen | None = None
        self.display: int | None = None

    # ---- configuration ----
    def write_config(self) -> None:
        c = self.config_dir
        config.update_ini(c / "global.ini", {
            "General": {"Pre19Defaults": "false", "Pre21Defaults": "false", "Pre23Defaults": "false",
                        "Pre24.1Defaults": "false", "FirstRun": "true", "LastVersion": OBS_29_VERSION,
                        "EnableAutoUpdates": "false", "ConfirmOnExit": "false", "MaxLogs": 5},
            "Basic": {"Profile": "DeepZoom", "ProfileDir": "DeepZoom", "SceneCollection": "DeepZoom",
                      "SceneCollectionFile": "DeepZoom", "ConfigOnNewProfile": "false"},
            "BasicWindow": {"SysTrayEnabled": "false", "SysTrayWhenStarted": "false", "PreviewEnabled": "false"},
        })
        config.enable_websocket(c, self.port, self.password)
        self.record_dir.mkdir(parents=True, exist_ok=True)
        config.update_ini(c / "basic" / "profiles" / "DeepZoom" / "basic.ini", {
            "General": {"Name": "DeepZoom"},
            "Video": {"BaseCX": 1280, "BaseCY": 720, "OutputCX": 1280, "OutputCY": 720, "FPSType": 0,
                      "FPSCommon": 30, "ScaleType": "bicubic", "ColorFormat": "NV12", "ColorSpace": "709",
                      "ColorRange": "Partial"},
            "Audio": {"SampleRate": 48000, "ChannelSetup": "Stereo"},
            "Output": {"Mode": "Simple"},
            "SimpleOutput": {"FilePath": str(self.record_dir), "RecFormat": "mkv", "RecQuality": "Stream",
                             "VBitrate": 2500, "ABitrate": 160, "RecEncoder": "x264", "StreamEncoder": "x264"},
        })
        items = [_scene_item(s["name"], i + 1) for i, s in enumerate(self.sources) if s.get("in_scene", True)]
        collection = {
            "name": "DeepZoom", "current_scene": "Scene", "current_program_scene": "Scene",
            "scene_order": [{"name": "Scene"}],
            "sources": [{"id": "scene", "versioned_id": "scene", "name": "Scene",
                         "settings": {"id_counter": len(items), "items": items}}]
            + [{k: v for k, v in s.items() if k != "in_scene"} for s in self.sources],
            "modules": {"scripts-tool": [{"path": str(p), "settings": {}} for p in self.scripts]},
        }
        path = config.collection_file(c, "DeepZoom")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(collection, indent=1))

    # ---- processes ----
    def start(self, timeout: float = 90.0) -> HeadlessObs:
        for tool in ("obs", "Xvfb"):
            if not shutil.which(tool):
                raise DeepZoomError(f"{tool} is not installed (Debian: apt-get install obs-studio xvfb)")
        self.write_config()
        self.display = free_display()
        self.xvfb = subprocess.Popen(["Xvfb", f":{self.display}", "-screen", "0", "1920x1080x24", "+extension",
                                      "GLX", "+render", "-noreset"], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{self.display}").exists():
                break
            time.sleep(0.05)
        runtime_dir = self.home / "xdg-runtime"
        runtime_dir.mkdir(parents=True, exist_ok=True)
        runtime_dir.chmod(0o700)
        env = dict(os.environ, HOME=str(self.home), DISPLAY=f":{self.display}", LIBGL_ALWAYS_SOFTWARE="1",
                   QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime_dir), XDG_CONFIG_HOME=str(self.home / ".config"))
        for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
            env.pop(var, None)
        if self.pydeps:
            env["DEEPZOOM_PYDEPS"] = str(self.pydeps)
        self.stdout = open(self.home / "obs.stdout", "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(["obs", "--disable-updater", "--disable-missing-files-check", "--multi"],
                                     cwd=self.home, env=env, stdout=self.stdout, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DeepZoomError(f"OBS exited at start (code {self.proc.returncode}); log: {self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    time.sleep(1.0)  # the websocket accepts a bit before OBS has loaded the collection
                    return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise DeepZoomError(f"OBS did not open its websocket on port {self.port} within {timeout:.0f} s")

    def log_file(self) -> Path | None:
        logs = sorted((self.config_dir / "logs").glob("*.txt"), key=lambda p: p.stat().st_mtime)
        return logs[-1] if logs else None

    def log_text(self) -> str:
        f = self.log_file()
        return f.read_text(errors="replace") if f else ""

    def log_tail(self, n: int = 15) -> str:
        return " | ".join(self.log_text().splitlines()[-n:])

    def close_window(self) -> bool:
        """Send WM_DELETE_WINDOW to OBS's main window, as a window manager's close button does."""
        try:
            from Xlib import X, display, protocol
        except ImportError:
            return False
        d = display.Display(f":{self.display}")
        try:
            wm_delete, wm_protocols = d.intern_atom("WM_DELETE_WINDOW"), d.intern_atom("WM_PROTOCOLS")
            sent = False
            for w in d.screen().root.query_tree().children:
                name = w.get_wm_name() or ""
                if isinstance(name, bytes):
                    name = name.decode(errors="replace")
                if name.startswith("OBS "):
                    ev = protocol.event.ClientMessage(window=w, client_type=wm_protocols,
                                                      data=(32, [wm_delete, X.CurrentTime, 0, 0, 0]))
                    w.send_event(ev)
                    sent = True
            d.flush()
            return sent
        finally:
            d.close()

    def stop(self, timeout: float = 30.0) -> bool:
        """Shut OBS down; True when it exited cleanly by itself."""
        clean = False
        if self.proc and self.proc.poll() is None:
            if self.close_window():
                try:
                    self.proc.wait(timeout)
                    clean = "Freeing OBS context data" in self.log_text()
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.xvfb and self.xvfb.poll() is None:
            self.xvfb.terminate()
            self.xvfb.wait(10)
        if getattr(self, "stdout", None):
            self.stdout.close()
        return clean

    def __enter__(self) -> HeadlessObs:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
