"""`deepzoom process --effects background,restore` and the background/restore benchmarks, as a user runs them."""

import json

import cv2
from bench_checks import check_bench
from test_cli import deepzoom, one_line_error

from obs_deepzoom.samples import sample


def test_process_image_with_background_and_restore(tmp_path):
    out = tmp_path / "out.png"
    r = deepzoom("process", sample("single_face.jpg"), "-o", out, "--effects", "background,restore",
                 "--set", "background.mode=color", "--json")
    assert r.returncode == 0, r.stderr
    timings = json.loads(r.stdout.strip().splitlines()[-1])["ms_median"]
    assert {"background", "restore", "face"} <= set(timings)
    assert cv2.imread(str(out)).shape == cv2.imread(str(sample("single_face.jpg"))).shape


def test_bad_replacement_path_is_one_line(tmp_path):
    r = deepzoom("process", sample("single_face.jpg"), "-o", tmp_path / "o.png", "--effects", "background",
                 "--set", "background.mode=replace", "--set", "background.image=/nonexistent/beach.jpg")
    one_line_error(r, "background.image", "/nonexistent/beach.jpg", "no such file")
    assert not (tmp_path / "o.png").exists()


def test_bench_background_and_restore_print_json_last():
    for name in ("background", "restore"):
        r = deepzoom("bench", name, "--rounds", "1", "--json")
        assert r.returncode == 0, r.stderr
        res = json.loads(r.stdout.strip().splitlines()[-1])
        # background: MediaPipe's segmenter; restore: whole-frame FSRCNN, our own baseline
        check_bench(res, "outside" if name == "background" else "own-baseline")
        if name == "background":  # the mask every 2nd frame: half the calls
            assert 45 <= res["mask_runs_every2_pct"] <= 55
        else:  # the chain's time holds the restore stage's
            assert res["ms_median"] >= res["restore_ms_median"] > 0


def test_bench_restore_at_360p_runs_the_x2_path():
    r = deepzoom("bench", "restore", "--rounds", "1", "--no-peer", "--input-height", "360", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout.strip().splitlines()[-1])
    assert (res["input"], res["output"]) == ("640x360", "1280x720")
    check_bench(res, None)
