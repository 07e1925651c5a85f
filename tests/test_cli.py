"""The `deepzoom` command as a user runs it: outputs written, one-line errors, no partial files."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from bench_checks import check_bench

from obs_deepzoom.samples import sample


def deepzoom(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "obs_deepzoom.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=600)


def one_line_error(r: subprocess.CompletedProcess, *words: str) -> None:
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_process_image_writes_the_overlay(tmp_path):
    out = tmp_path / "face.png"
    r = deepzoom("process", sample("single_face.jpg"), "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["frames_with_face"] == 1
    src, got = cv2.imread(str(sample("single_face.jpg"))), cv2.imread(str(out))
    assert got.shape == src.shape and np.abs(got.astype(int) - src).sum() > 0


def test_process_video_with_overrides(tmp_path):
    out = tmp_path / "clip.mp4"
    r = deepzoom("process", sample("single_face.mp4"), "-o", out, "--max-frames", "20",
                 "--set", "landmarks.mesh=false", "--set", "face.detect_every=5", "--json")
    assert r.returncode == 0, r.stderr
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    assert json.loads(r.stdout.strip().splitlines()[-1])["frames_with_face"] == 20
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    "args, words",
    [
        (["process", "/nonexistent/x.jpg", "-o", "{tmp}/o.jpg"], ["no such file"]),
        (["process", "{tmp}/notes.txt", "-o", "{tmp}/o.png"], ["unsupported file type '.txt'"]),
        (["process", "{tmp}/fake.jpg", "-o", "{tmp}/o.jpg"], ["not a readable image"]),
        (["process", "{tmp}/fake.mp4", "-o", "{tmp}/o.mp4"], ["not a readable video"]),
        (["process", "{tmp}/blank.png", "-o", "{tmp}/o.png"], ["no face found"]),
        (["process", "{face}", "-o", "{tmp}/o.mp4"], ["output must be an image"]),
        (["process", "{face}", "-o", "{tmp}/missing_dir/o.png"], ["output directory does not exist"]),
        (["process", "{face}", "-o", "{tmp}/o.png", "--set", "face.max_faces=0"], ["face.max_faces"]),
        (["process", "{face}", "-o", "{tmp}/o.png", "--effects", "sparkles"], ["unknown effect(s) sparkles"]),
        (["process", "{face}", "-o", "{tmp}/o.png", "--preset", "nope"], ["no preset 'nope'"]),
        (["process", "--camera", "7", "-o", "{tmp}/o.mp4"], ["camera 7 could not be opened"]),
    ],
)
def test_bad_input_gives_one_clear_line_and_no_output(tmp_path, args, words):
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "fake.jpg").write_bytes(b"not really a jpeg")
    (tmp_path / "fake.mp4").write_bytes(b"\x00" * 1000)
    cv2.imwrite(str(tmp_path / "blank.png"), np.full((240, 320, 3), 200, np.uint8))
    args = [a.format(tmp=tmp_path, face=sample("single_face.jpg")) for a in args]
    r = deepzoom(*args)
    one_line_error(r, *words)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("o.", ".o"))]


def test_missing_model_is_one_line_naming_the_fix(tmp_path):
    import os

    env = dict(os.environ, DEEPZOOM_IR_DIR=str(tmp_path / "empty"))
    r = deepzoom("process", sample("single_face.jpg"), "-o", tmp_path / "o.png", env=env)
    one_line_error(r, "is not built", "deepzoom models build")
    assert not (tmp_path / "o.png").exists()


def test_models_list_and_presets():
    r = deepzoom("models", "list", "--json")
    rows = json.loads(r.stdout)
    assert r.returncode == 0 and all(row["state"] == "ok" for row in rows)
    r = deepzoom("preset", "list")
    assert r.returncode == 0 and "default" in r.stdout
    r = deepzoom("preset", "show", "default")
    shown = json.loads(r.stdout)
    assert shown["name"] == "default" and shown["video"] and set(shown["settings"]) >= {"face", "gaze"}


def test_bench_and_eval_print_json_last(tmp_path):
    r = deepzoom("bench", "face", "--rounds", "1", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    check_bench(res, "outside")  # MediaPipe's FaceMesh
    assert res["n"] == 72 and "mediapipe" in res["peer"]
    r = deepzoom("eval", "face", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["nme_pct"] < 1.5 and res["tracked_frames_pct"] == 100 and res["n"] == 72


def test_bench_and_eval_framing_are_wired(tmp_path, monkeypatch, capsys):
    """`bench framing` gets --rounds and --seconds; `eval framing` saves its pictures under --out-dir."""
    from obs_deepzoom import cli
    from obs_deepzoom.bench import framing as bench_framing
    from obs_deepzoom.evaluate import framing as eval_framing

    calls = {}
    monkeypatch.setattr(bench_framing, "run", lambda **kw: calls.setdefault("bench", kw) and {"name": "framing"})
    monkeypatch.setattr(eval_framing, "run", lambda **kw: calls.setdefault("eval", kw) and {"name": "framing"})
    assert cli.main(["bench", "framing", "--rounds", "2", "--seconds", "4", "--json"]) == 0
    assert (calls["bench"]["rounds"], calls["bench"]["seconds"]) == (2, 4.0)
    assert cli.main(["eval", "framing", "--out-dir", str(tmp_path / "pictures"), "--json"]) == 0
    assert calls["eval"]["out_dir"] == tmp_path / "pictures" and (tmp_path / "pictures").is_dir()
    assert [json.loads(ln) for ln in capsys.readouterr().out.splitlines()] == [{"name": "framing"}] * 2


def test_demo_writes_its_outputs(tmp_path):
    from obs_deepzoom.video_io import probe

    r = deepzoom("demo", "--out-dir", tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("demo.mp4", "demo_sound_before.wav", "demo_side_by_side.png", "demo_timing.json"):
        assert (tmp_path / name).stat().st_size > 0
        assert str(tmp_path / name) in r.stdout
    timing = json.loads((tmp_path / "demo_timing.json").read_text())
    # the clip has no speech: the sample voice in noise, the clip played back and forth for as long as it lasts
    assert timing["frames_with_face"] == timing["frames"] > timing["clip_frames"] == 72
    assert timing["effects"] == ["gaze", "background"] and timing["audio_effects"] == ["denoise"]
    info = probe(tmp_path / "demo.mp4")
    assert (info.video_codec, info.audio_codec, info.frames) == ("h264", "aac", timing["frames"])
    assert abs(info.audio_seconds - info.video_seconds) < 0.05


def test_a_failed_demo_leaves_no_file(tmp_path, monkeypatch, capsys):
    """An effect failing mid-video: no video, no side-by-side, no timing and no sound file (the 'before' sound is
    written only once the video is done)."""
    from obs_deepzoom import cli
    from obs_deepzoom.engine.chain import Chain

    def broken(self, frame, t):
        raise RuntimeError("an effect failed")

    monkeypatch.setattr(Chain, "process", broken)
    monkeypatch.delenv("DEEPZOOM_DEBUG", raising=False)
    assert cli.main(["demo", "--out-dir", str(tmp_path / "demo")]) == 3
    assert "an effect failed" in capsys.readouterr().err
    assert not list((tmp_path / "demo").iterdir())


def test_install_script_uses_only_the_standard_library():
    import ast

    tree = ast.parse(Path(__file__).parent.parent.joinpath("install.py").read_text())
    modules = {n.names[0].name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import)}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}, modules
