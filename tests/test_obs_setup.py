"""`deepzoom obs setup` on a scratch OBS config dir: what it changes, that it is idempotent, and undo."""

import configparser
import json
import subprocess
import sys

from obs_deepzoom.obs import config, setup


def deepzoom(*args, env=None):
    return subprocess.run([sys.executable, "-m", "obs_deepzoom.cli", *map(str, args)], capture_output=True,
                          text=True, timeout=600, env=env)


def test_setup_registers_script_and_websocket_then_undo_restores(tmp_path, monkeypatch):
    import os

    cfg = tmp_path / "obs-studio"
    (cfg / "basic" / "scenes").mkdir(parents=True)
    (cfg / "global.ini").write_text("[General]\nFirstRun=true\n\n[Basic]\nSceneCollectionFile=Mine\n")
    original = {"name": "Mine", "sources": [], "modules": {"scripts-tool": [{"path": "/x/other.py", "settings": {}}]}}
    (cfg / "basic" / "scenes" / "Mine.json").write_text(json.dumps(original))
    env = dict(os.environ, WS_SECRET="s3cret-value")

    r = deepzoom("obs", "setup", "--config-dir", cfg, "--websocket-port", "4466", "--password-env", "WS_SECRET",
                 env=env)
    assert r.returncode == 0, r.stderr
    assert "s3cret-value" not in r.stdout + r.stderr
    assert "changed: script" in r.stderr and "changed: obs-websocket enabled on port 4466" in r.stderr
    coll = json.loads((cfg / "basic" / "scenes" / "Mine.json").read_text())
    paths = [s["path"] for s in coll["modules"]["scripts-tool"]]
    assert paths == ["/x/other.py", str(setup.SCRIPT)], "other scripts are kept"
    ini = configparser.RawConfigParser()
    ini.optionxform = str
    ini.read(cfg / "global.ini")
    assert ini["OBSWebSocket"]["ServerPort"] == "4466" and ini["OBSWebSocket"]["AuthRequired"] == "true"
    assert ini["General"]["FirstRun"] == "true", "unrelated settings are kept"
    ws = json.loads((cfg / "plugin_config" / "obs-websocket" / "config.json").read_text())
    assert ws["server_port"] == 4466 and ws["auth_required"] is True
    assert setup.POINTER.exists() and setup.pydeps_dir(setup.obs_python_version()).is_dir()

    again = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps")
    assert again.returncode == 0 and "already registered" in again.stderr

    undo = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, "--no-deps")
    assert undo.returncode == 0, undo.stderr
    assert json.loads((cfg / "basic" / "scenes" / "Mine.json").read_text()) == original
    assert "OBSWebSocket" not in (cfg / "global.ini").read_text()
    assert not (cfg / "plugin_config" / "obs-websocket" / "config.json").exists()
    # undo removed the OBS dependencies too; put them back for the OBS tests that share this cache
    setup.install_pydeps(setup.obs_python_version(), progress=lambda *_: None)


def test_setup_refuses_websocket_without_a_password_choice(tmp_path):
    r = deepzoom("obs", "setup", "--config-dir", tmp_path, "--websocket-port", "4455", "--no-deps")
    assert r.returncode == 2 and "--password-env VAR" in r.stderr


def test_kinds_lists_video_and_audio_filters():
    r = deepzoom("obs", "kinds", "--json")
    kinds = {k["kind"]: k for k in json.loads(r.stdout)}
    assert kinds["deepzoom_landmarks"]["type"] == "video" and kinds["deepzoom_automute"]["type"] == "audio"


def test_collection_file_follows_global_ini(tmp_path):
    (tmp_path / "global.ini").write_text("[Basic]\nSceneCollectionFile=Studio\n")
    assert config.collection_file(tmp_path).name == "Studio.json"
