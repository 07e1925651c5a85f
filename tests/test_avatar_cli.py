"""`deepzoom avatar`, `eval avatar` and `bench avatar` as a user runs them."""

import json

import cv2
from bench_checks import check_bench
from test_cli import deepzoom, one_line_error

from obs_deepzoom.samples import sample


def test_avatar_from_driver_and_voice(tmp_path):
    out = tmp_path / "avatar.mp4"
    r = deepzoom("avatar", "--source", sample("grace_hopper.jpg"), "--driver", sample("single_face.mp4"),
                 "--audio", sample("speech_librivox.wav"), "--side-by-side", "--max-frames", "12", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert summary["frames"] == 12 and summary["driven_by"] == {"face": 12}
    cap = cv2.VideoCapture(str(out))
    ok, frame = cap.read()
    assert ok and frame.shape[1] == 2 * 640  # driver | avatar


def test_avatar_from_voice_alone(tmp_path):
    out = tmp_path / "voice.mp4"
    r = deepzoom("avatar", "--source", sample("grace_hopper.jpg"), "--audio", sample("speech_librivox.wav"),
                 "--size", "320x240", "--max-frames", "10", "-o", out, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["driven_by"] == {"voice": 10}
    ok, frame = cv2.VideoCapture(str(out)).read()
    assert ok and frame.shape[:2] == (240, 320)


def test_avatar_bad_inputs_are_one_line(tmp_path):
    out = tmp_path / "x.mp4"
    r = deepzoom("avatar", "--source", sample("multi_face.jpg"), "--audio", sample("speech_librivox.wav"), "-o", out)
    one_line_error(r, "avatar.source", "faces found")
    r = deepzoom("avatar", "--source", sample("grace_hopper.jpg"), "-o", out)
    one_line_error(r, "--driver")
    r = deepzoom("avatar", "--source", sample("grace_hopper.jpg"), "--audio", sample("single_face.jpg"), "-o", out)
    one_line_error(r, "unsupported audio file type")
    assert not out.exists()


def test_eval_and_bench_avatar_print_json_last():
    r = deepzoom("eval", "avatar", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert res["nme_pct"] <= 3 and res["psnr_gain_db"] >= 3  # the targets, as a regression guard
    # judged by MediaPipe's reference mesh: expression meets the 0.8 target, pose does not (docs/avatar.md);
    # tests/quality/test_avatar_quality.py guards the figures
    assert res["judge"].startswith("mediapipe-reference")
    assert res["expression_corr"] >= 0.8 and res["jitter_px"] <= 0.5
    r = deepzoom("bench", "avatar", "--rounds", "1", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    check_bench(res, "own-baseline", ours="avatar_ms_median")  # our naive renderer, on the avatar stage alone
    # ms_* are tracking + avatar, frame by frame
    assert res["ms_median"] >= res["avatar_ms_median"] and res["ms_median"] >= res["tracking_ms_median"]


def test_process_with_the_avatar_effect(tmp_path):
    out = tmp_path / "o.mp4"
    r = deepzoom("process", sample("single_face.mp4"), "-o", out, "--effects", "avatar", "--max-frames", "5")
    one_line_error(r, "avatar.source")
    r = deepzoom("process", sample("single_face.mp4"), "-o", out, "--effects", "avatar", "--max-frames", "5",
                 "--set", f"avatar.source={sample('grace_hopper.jpg')}", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.strip().splitlines()[-1])["frames_with_face"] == 5
