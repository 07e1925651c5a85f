"""`deepzoom obs setup` on scratch OBS config dirs: what it changes, that it is idempotent, and that it never
loses a user's data (refuses while OBS runs, atomic writes, unique backups, the undo record first, an undo
that reverses only our own edits, OBS 31's user.ini, UTF-8)."""

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from obs_deepzoom.errors import DeepZoomError
from obs_deepzoom.remote import config, setup


def fake_pgrep(tmp_path, running: bool) -> str:
    """A PATH whose `pgrep` says OBS is (or is not) running, whatever runs on this machine (the OBS tests'
    headless OBS may be up in the same session)."""
    bin_dir = tmp_path / ("bin-running" if running else "bin-idle")
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "pgrep").write_text(f"#!/bin/sh\nexit {0 if running else 1}\n")
    (bin_dir / "pgrep").chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def deepzoom(*args, env=None, tmp_path=None, running=False):
    env = dict(env or os.environ)
    if tmp_path is not None:
        env["PATH"] = fake_pgrep(tmp_path, running)
    return subprocess.run([sys.executable, "-m", "obs_deepzoom.cli", *map(str, args)], capture_output=True,
                          text=True, encoding="utf-8", errors="replace", timeout=600, env=env)


def ini(path: Path) -> configparser.RawConfigParser:
    p = configparser.RawConfigParser(interpolation=None)
    p.optionxform = str
    p.read(path, encoding="utf-8")
    return p


def scratch_config(root: Path, collection: str = "Mine", ini_text: str | None = None) -> Path:
    cfg = root / "obs-studio"
    (cfg / "basic" / "scenes").mkdir(parents=True)
    ini_text = ini_text or f"[General]\nFirstRun=true\n\n[Basic]\nSceneCollectionFile={collection}\n"
    (cfg / "global.ini").write_text(ini_text, encoding="utf-8")
    original = {"name": collection, "sources": [{"name": "Cam", "id": "v4l2_input"}],
                "modules": {"scripts-tool": [{"path": "/x/other.py", "settings": {}}]}}
    (cfg / "basic" / "scenes" / f"{collection}.json").write_text(json.dumps(original), encoding="utf-8")
    return cfg


@pytest.fixture
def home(tmp_path, monkeypatch):
    """In-process runs: a private DEEPZOOM_HOME (records, backups) and OBS not running."""
    monkeypatch.setenv("DEEPZOOM_HOME", str(tmp_path / "dzhome"))
    monkeypatch.setattr(setup, "obs_running", lambda: False)
    return tmp_path / "dzhome"


def quiet(*_):
    pass


def test_setup_registers_script_and_websocket_then_undo_restores(tmp_path):
    cfg = scratch_config(tmp_path)
    original = json.loads((cfg / "basic" / "scenes" / "Mine.json").read_text())
    env = dict(os.environ, WS_SECRET="s3cret-value")

    r = deepzoom("obs", "setup", "--config-dir", cfg, "--websocket-port", "4466", "--password-env", "WS_SECRET",
                 env=env, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "s3cret-value" not in r.stdout + r.stderr
    assert "changed: script" in r.stderr and "changed: obs-websocket enabled on port 4466" in r.stderr
    coll = json.loads((cfg / "basic" / "scenes" / "Mine.json").read_text())
    paths = [s["path"] for s in coll["modules"]["scripts-tool"]]
    assert paths == ["/x/other.py", str(setup.SCRIPT)], "other scripts are kept"
    g = ini(cfg / "global.ini")
    assert g["OBSWebSocket"]["ServerPort"] == "4466" and g["OBSWebSocket"]["AuthRequired"] == "true"
    assert g["General"]["FirstRun"] == "true", "unrelated settings are kept"
    ws = json.loads((cfg / "plugin_config" / "obs-websocket" / "config.json").read_text())
    assert ws["server_port"] == 4466 and ws["auth_required"] is True
    assert setup.POINTER.exists() and setup.pydeps_dir(setup.obs_python_version()).is_dir()

    again = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps", tmp_path=tmp_path)
    assert again.returncode == 0 and "already registered" in again.stderr

    undo = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, "--no-deps", tmp_path=tmp_path)
    assert undo.returncode == 0, undo.stderr
    assert json.loads((cfg / "basic" / "scenes" / "Mine.json").read_text()) == original
    assert "OBSWebSocket" not in (cfg / "global.ini").read_text()
    assert not (cfg / "plugin_config" / "obs-websocket" / "config.json").exists(), "created by us, unchanged"
    assert "kept in" in undo.stderr, "undo says where the backups are"
    # undo removed the OBS dependencies too; put them back for the OBS tests that share this cache
    setup.install_pydeps(setup.obs_python_version(), progress=lambda *_: None)


def test_setup_and_undo_refuse_while_obs_runs_unless_forced(tmp_path):
    cfg = scratch_config(tmp_path)
    before = {p: p.read_bytes() for p in cfg.rglob("*") if p.is_file()}
    env = dict(os.environ, DEEPZOOM_HOME=str(tmp_path / "dzhome"))

    r = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps", env=env, tmp_path=tmp_path, running=True)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: OBS is running") and "--force" in lines[0]
    assert {p: p.read_bytes() for p in cfg.rglob("*") if p.is_file()} == before, "nothing changed"
    assert not (tmp_path / "dzhome" / "obs-setup").exists(), "not even an undo record"

    forced = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps", "--force", env=env, tmp_path=tmp_path,
                      running=True)
    assert forced.returncode == 0, forced.stderr
    assert config.has_script(cfg / "basic" / "scenes" / "Mine.json", setup.SCRIPT)

    refused = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, env=env, tmp_path=tmp_path, running=True)
    assert refused.returncode == 2 and "OBS is running" in refused.stderr
    assert config.has_script(cfg / "basic" / "scenes" / "Mine.json", setup.SCRIPT)
    undone = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, env=env, tmp_path=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert not config.has_script(cfg / "basic" / "scenes" / "Mine.json", setup.SCRIPT)


def test_every_file_is_replaced_atomically(tmp_path, home, monkeypatch):
    cfg = scratch_config(tmp_path)
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        assert Path(src).parent == Path(dst).parent, "the temporary file is in the same directory"
        replaced.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    setup.setup(cfg, None, 4455, None, deps=False, progress=quiet)
    written = {p for p in cfg.rglob("*") if p.is_file()}
    assert written <= set(replaced), f"written without os.replace: {written - set(replaced)}"
    assert setup._record_path(cfg) in replaced
    assert not [p for p in cfg.rglob(".*.tmp")], "no temporary files left"

    # a write that fails half-way (here: fsync) leaves the old file intact and no temporary file behind
    before = (cfg / "global.ini").read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        config.update_ini(cfg / "global.ini", {"OBSWebSocket": {"ServerPort": 1}})
    assert (cfg / "global.ini").read_bytes() == before
    assert sorted(p.name for p in cfg.iterdir()) == ["basic", "global.ini", "plugin_config"]


def test_backups_are_never_overwritten_and_same_basenames_do_not_collide(tmp_path, home):
    cfg = scratch_config(tmp_path)
    original_ini = (cfg / "global.ini").read_bytes()
    setup.setup(cfg, None, 4455, None, deps=False, progress=quiet)
    setup.setup(cfg, None, 4466, None, deps=False, progress=quiet)  # same second, same files: new backups
    record = json.loads(setup._record_path(cfg).read_text())
    ini_backups = [Path(b) for b in record["backups"][str(cfg / "global.ini")]]
    assert len(ini_backups) == 2 and len(set(ini_backups)) == 2
    assert ini_backups[0].read_bytes() == original_ini, "the first backup still holds the original"
    assert "4455" in ini_backups[1].read_text(), "the second one what the first setup wrote"

    # two files called global.ini in different directories get different backups
    other = cfg / "basic" / "profiles" / "Mine" / "global.ini"
    other.parent.mkdir(parents=True)
    other.write_text("[Other]\nX=1\n", encoding="utf-8")
    a = setup._backup(record, setup._record_path(cfg), cfg / "global.ini")
    b = setup._backup(record, setup._record_path(cfg), other)
    assert a != b and a.name.startswith("global.ini.") and b.name.startswith("basic__profiles__Mine__global.ini.")
    assert b.read_text() == "[Other]\nX=1\n" and a.read_bytes() == (cfg / "global.ini").read_bytes()
    backups = [Path(x) for xs in record["backups"].values() for x in xs]
    assert len(backups) == len(set(backups)) and all(p.exists() for p in backups)


def test_the_undo_record_is_written_before_the_first_change(tmp_path, home, monkeypatch):
    cfg = scratch_config(tmp_path)
    coll = cfg / "basic" / "scenes" / "Mine.json"
    rec_path = setup._record_path(cfg)
    seen = []
    real_set_script = config.set_script

    def set_script(collection, script, present):
        record = json.loads(rec_path.read_text())  # must already exist and name the change to come
        seen.append([(e["type"], e["file"]) for e in record["edits"]])
        return real_set_script(collection, script, present)

    def crash(*_a, **_k):
        raise RuntimeError("power cut")

    monkeypatch.setattr(config, "set_script", set_script)
    monkeypatch.setattr(config, "update_ini", crash)  # setup dies before the websocket is written
    with pytest.raises(RuntimeError):
        setup.setup(cfg, None, 4455, None, deps=False, progress=quiet)
    assert seen == [[("script", str(coll))]]
    record = json.loads(rec_path.read_text())
    assert [e["type"] for e in record["edits"]] == ["script", "ini"], "the failed change was recorded first"
    assert record["edits"][0]["sha256"], "and the finished one updated after it"

    monkeypatch.setattr(config, "set_script", real_set_script)
    changes = setup.undo(cfg, progress=quiet)
    assert not config.has_script(coll, setup.SCRIPT) and len(changes) == 1
    assert "OBSWebSocket" not in (cfg / "global.ini").read_text()


def test_undo_reverses_only_our_edits(tmp_path, home):
    cfg = scratch_config(tmp_path, ini_text="[General]\nFirstRun=true\n\n[Basic]\nSceneCollectionFile=Mine\n\n"
                                            "[OBSWebSocket]\nServerPort=4444\nServerEnabled=false\nDebug=true\n")
    js = cfg / "plugin_config" / "obs-websocket" / "config.json"
    js.parent.mkdir(parents=True)
    js.write_text(json.dumps({"server_port": 4444, "server_enabled": False, "theirs": 1}), encoding="utf-8")
    coll = cfg / "basic" / "scenes" / "Mine.json"
    setup.setup(cfg, None, 4455, None, deps=False, progress=quiet)
    setup.setup(cfg, None, 4466, None, deps=False, progress=quiet)  # previous values stay the user's

    # the user works in OBS afterwards: a new scene and source, settings elsewhere, another websocket key
    data = json.loads(coll.read_text())
    data["sources"].append({"name": "Added later", "id": "image_source"})
    data["scene_order"] = [{"name": "Scene"}, {"name": "Added later"}]
    data["modules"]["scripts-tool"].append({"path": "/y/theirs.py", "settings": {}})
    coll.write_text(json.dumps(data, indent=4), encoding="utf-8")
    config.update_ini(cfg / "global.ini", {"General": {"Language": "de-DE"}, "OBSWebSocket": {"Extra": "1"}})
    ws = json.loads(js.read_text())
    ws["later"] = "kept"
    js.write_text(json.dumps(ws), encoding="utf-8")

    out = []
    setup.undo(cfg, progress=out.append)
    after = json.loads(coll.read_text())
    assert [s["path"] for s in after["modules"]["scripts-tool"]] == ["/x/other.py", "/y/theirs.py"]
    assert [s["name"] for s in after["sources"]] == ["Cam", "Added later"]
    assert after["scene_order"] == data["scene_order"]
    g = ini(cfg / "global.ini")
    assert g["General"]["Language"] == "de-DE" and g["General"]["FirstRun"] == "true"
    assert dict(g["OBSWebSocket"]) == {"ServerPort": "4444", "ServerEnabled": "false", "Debug": "true",
                                       "Extra": "1"}, "our keys back to their values or gone, theirs kept"
    assert json.loads(js.read_text()) == {"server_port": 4444, "server_enabled": False, "theirs": 1,
                                          "later": "kept"}
    assert not setup._record_path(cfg).exists()
    backups = setup._record_path(cfg).with_suffix("")
    # collection once (the second setup found the script there), global.ini and config.json twice each
    assert any(str(backups) in line for line in out) and len(list(backups.iterdir())) == 5
    with pytest.raises(DeepZoomError, match="nothing to undo"):
        setup.undo(cfg, progress=quiet)


def test_undo_of_a_record_from_an_earlier_version_is_surgical_too(tmp_path, home):
    cfg = scratch_config(tmp_path)
    coll = cfg / "basic" / "scenes" / "Mine.json"
    rec_path = setup._record_path(cfg)
    backup_dir = rec_path.with_suffix("")
    backup_dir.mkdir(parents=True)
    (backup_dir / "global.ini").write_bytes((cfg / "global.ini").read_bytes())
    (backup_dir / "Mine.json").write_bytes(coll.read_bytes())
    js = cfg / "plugin_config" / "obs-websocket" / "config.json"
    rec_path.write_text(json.dumps({"config_dir": str(cfg), "pydeps": None, "files": {
        str(coll): str(backup_dir / "Mine.json"), str(cfg / "global.ini"): str(backup_dir / "global.ini"),
        str(js): None}}))
    config.set_script(coll, setup.SCRIPT, True)
    config.enable_websocket(cfg, 4455, None)
    data = json.loads(coll.read_text())
    data["sources"].append({"name": "Added later"})
    coll.write_text(json.dumps(data), encoding="utf-8")

    setup.undo(cfg, progress=quiet)
    assert [s["name"] for s in json.loads(coll.read_text())["sources"]] == ["Cam", "Added later"]
    assert not config.has_script(coll, setup.SCRIPT)
    assert "OBSWebSocket" not in (cfg / "global.ini").read_text() and not js.exists()


def test_obs31_user_ini_names_the_current_collection(tmp_path, home):
    (tmp_path / "global.ini").write_text("[Basic]\nSceneCollectionFile=Studio\n")
    assert config.collection_file(tmp_path).name == "Studio.json", "OBS <= 30: global.ini"
    (tmp_path / "user.ini").write_text("[General]\nPre31Migrated=true\n")
    assert config.collection_file(tmp_path).name == "Studio.json", "no collection in user.ini: global.ini"
    (tmp_path / "user.ini").write_text("[Basic]\nSceneCollection=Live\nSceneCollectionFile=Live_2\n")
    assert config.collection_file(tmp_path).name == "Live_2.json", "OBS >= 31: user.ini first"
    assert config.collection_file(tmp_path, "Other").name == "Other.json"

    cfg = scratch_config(tmp_path / "c", collection="Old")
    (cfg / "user.ini").write_text("[Basic]\nSceneCollectionFile=Current\n", encoding="utf-8")
    setup.setup(cfg, None, None, None, deps=False, progress=quiet)
    assert config.has_script(cfg / "basic" / "scenes" / "Current.json", setup.SCRIPT)
    assert not config.has_script(cfg / "basic" / "scenes" / "Old.json", setup.SCRIPT)


def test_non_ascii_collection_names_and_contents(tmp_path):
    name = "Szenen – Übertragung ✓"
    cfg = scratch_config(tmp_path, collection=name)
    coll = cfg / "basic" / "scenes" / f"{name}.json"
    data = json.loads(coll.read_text(encoding="utf-8"))
    data["sources"].append({"name": "Kamera Jürgen 📷", "id": "v4l2_input"})
    coll.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, LC_ALL="C.UTF-8", DEEPZOOM_HOME=str(tmp_path / "dzhome"))
    r = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps", env=env, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert name in r.stderr and config.has_script(coll, setup.SCRIPT)
    assert "Kamera Jürgen 📷" in coll.read_text(encoding="utf-8"), "written as UTF-8, not as \\u escapes"
    u = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, env=env, tmp_path=tmp_path)
    assert u.returncode == 0, u.stderr
    assert json.loads(coll.read_text(encoding="utf-8")) == data


def test_utf8_files_and_password_in_an_ascii_locale(tmp_path):
    """Python's own default there is ASCII: every read and write must name UTF-8 itself."""
    cfg = scratch_config(tmp_path, ini_text="[General]\nName=Jürgen\n\n[Basic]\nProfile=Übertragung\n"
                                            "SceneCollectionFile=Mine\n")
    coll = cfg / "basic" / "scenes" / "Mine.json"
    data = json.loads(coll.read_text(encoding="utf-8"))
    data["sources"].append({"name": "Kamera Jürgen 📷", "id": "v4l2_input"})
    coll.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    env = dict(os.environ, LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0",
               DEEPZOOM_HOME=str(tmp_path / "dzhome"), WS_PW="pässwörd")
    r = deepzoom("obs", "setup", "--config-dir", cfg, "--no-deps", "--websocket-port", "4455",
                 "--password-env", "WS_PW", env=env, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    g = ini(cfg / "global.ini")
    assert g["General"]["Name"] == "Jürgen" and g["Basic"]["Profile"] == "Übertragung"
    assert g["OBSWebSocket"]["ServerPassword"] == "pässwörd"
    ws = json.loads((cfg / "plugin_config" / "obs-websocket" / "config.json").read_text(encoding="utf-8"))
    assert ws["server_password"] == "pässwörd"
    assert config.has_script(coll, setup.SCRIPT)
    u = deepzoom("obs", "setup", "--undo", "--config-dir", cfg, env=env, tmp_path=tmp_path)
    assert u.returncode == 0, u.stderr
    assert json.loads(coll.read_text(encoding="utf-8")) == data
    assert ini(cfg / "global.ini")["General"]["Name"] == "Jürgen"


def test_setup_refuses_websocket_without_a_password_choice(tmp_path):
    r = deepzoom("obs", "setup", "--config-dir", tmp_path, "--websocket-port", "4455", "--no-deps")
    assert r.returncode == 2 and "--password-env VAR" in r.stderr


def test_kinds_lists_video_and_audio_filters():
    r = deepzoom("obs", "kinds", "--json")
    kinds = {k["kind"]: k for k in json.loads(r.stdout)}
    assert kinds["deepzoom_landmarks"]["type"] == "video" and kinds["deepzoom_automute"]["type"] == "audio"
    assert kinds["deepzoom_keypoint_receiver"]["type"] == "source"
