"""A picture of every DeepZoom filter's property page, from the real headless OBS: probe_property_screens.py adds
each filter and opens its source's Filters dialog as a person does; this test finds the dialog's X window, gives it
a fixed size, grabs it (python-xlib) and closes it as a window manager would. With DZ_SAVE_SCREENSHOTS=1 the
pictures go to docs/img/obs-properties-<effect>.png (the ones docs/obs.md shows); else to the test's directory."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from obs_deepzoom.obs.kinds import ALL_KINDS, AUDIO_KINDS
from obs_deepzoom.samples import sample

from .conftest import speech_with_pauses
from .conftest_probe import HERE, alive, env_float, evidence, media, running_obs, watch

DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
WINDOW = (980, 1040)  # the dialog's size for the pictures


def _windows(d):
    out = []
    for w in d.screen().root.query_tree().children:
        try:
            name = w.get_wm_name() or ""
        except Exception:
            continue
        out.append((name.decode(errors="replace") if isinstance(name, bytes) else name, w))
    return out


def grab_filters_dialog(display_no: int, source: str, path: Path, timeout: float = 30.0) -> np.ndarray:
    """The Filters dialog of `source`: sized to WINDOW at the screen's corner, grabbed, closed."""
    from Xlib import X, display, protocol

    d = display.Display(f":{display_no}")
    try:
        deadline = time.monotonic() + timeout
        while True:
            found = [w for name, w in _windows(d) if name.startswith("Filters") and source in name]
            if found:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"no Filters dialog for {source!r}: {[n for n, _ in _windows(d)]}")
            time.sleep(0.2)
        w = found[-1]
        resize_until_done(d, w)
        time.sleep(2.5)  # Qt lays the page out at the new size and paints it
        handle = splitter_handle(_grab(w))
        if handle is not None:  # drag the preview / page splitter up, as a person does to see the whole page
            from Xlib.ext import xtest

            x = PREVIEW_X
            for event, kw in ((X.MotionNotify, {"x": x, "y": handle}), (X.ButtonPress, {"detail": 1}),
                              (X.MotionNotify, {"x": x, "y": (handle + PREVIEW_TOP) // 2}),
                              (X.MotionNotify, {"x": x, "y": PREVIEW_TOP}), (X.ButtonRelease, {"detail": 1})):
                xtest.fake_input(d, event, **kw)
                d.sync()
                time.sleep(0.2)
            time.sleep(1.5)
        img = _grab(w)
        save_png(img, path)
        wm_delete, wm_protocols = d.intern_atom("WM_DELETE_WINDOW"), d.intern_atom("WM_PROTOCOLS")
        w.send_event(protocol.event.ClientMessage(window=w, client_type=wm_protocols,
                                                  data=(32, [wm_delete, X.CurrentTime, 0, 0, 0])))
        d.flush()
        return img
    finally:
        d.close()


def resize_until_done(d, w, timeout: float = 20.0) -> None:
    """Size the window to WINDOW and wait until it is (a busy machine's Qt can take its time, or miss a first
    request while the dialog is still being mapped)."""
    deadline = time.monotonic() + timeout
    while True:
        w.configure(x=0, y=0, width=WINDOW[0], height=WINDOW[1])
        d.sync()
        time.sleep(0.5)
        g = w.get_geometry()
        if (g.width, g.height) == WINDOW or time.monotonic() > deadline:
            return


PREVIEW_X = 300  # a column inside the dialog's preview (right of the filter lists)
PREVIEW_TOP = 150  # where the splitter is dragged to: a small preview, the page below it


def _grab(w) -> np.ndarray:
    from Xlib import X

    g = w.get_geometry()
    raw = w.get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
    return np.frombuffer(raw.data, np.uint8).reshape(g.height, g.width, 4)[..., :3].copy()  # BGRX


def splitter_handle(img: np.ndarray) -> int | None:
    """The row of the splitter under the preview: where the preview's background (PREVIEW_X, 20) ends."""
    col = img[:, PREVIEW_X].astype(int)
    bg = col[20]
    for y in range(40, img.shape[0] - 200):
        if np.abs(col[y] - bg).max() > 3 and np.abs(col[y + 1] - bg).max() > 3 and np.abs(col[y + 3] - bg).max() > 3:
            return y + 1 if y > PREVIEW_TOP + 20 else None
    return None


def save_png(img: np.ndarray, path: Path) -> None:
    """A 256-colour PNG (the pictures live in git): the text stays sharp, the preview is a little posterised."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img[..., ::-1]).quantize(256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def test_property_page_screenshots(tmp_path):
    pytest.importorskip("Xlib")
    home = tmp_path / "obs-home"
    out = home / "shots"
    out.mkdir(parents=True)
    dest = DOCS_IMG if os.environ.get("DZ_SAVE_SCREENSHOTS") == "1" else tmp_path / "img"
    runs = []
    for effect, (kind, title) in ALL_KINDS.items():
        run = {"effect": effect, "kind": kind, "title": title, "source": "Speech" if effect in AUDIO_KINDS else "Face"}
        if effect == "avatar":
            run["settings"] = {"avatar.source": str(sample("grace_hopper.jpg"))}
        runs.append(run)
    plan = {"out": str(out), "runs": runs, "run_s": env_float("DZ_SHOT_RUN_S", 6.0)}
    sources = [
        {"id": "image_source", "versioned_id": "image_source", "name": "Face",
         "settings": {"file": str(sample("single_face.jpg"))}},
        media("Speech", speech_with_pauses(home / "speech.wav")),
    ]
    progress = out / "progress"
    shots = {}
    with running_obs(home, sources, [HERE / "probe_property_screens.py"], {"DZ_SHOT_PLAN": json.dumps(plan)}) as obs:
        for run in runs:
            effect = run["effect"]
            outcome = watch(obs, progress, f"{effect}: shoot", stall_s=120, timeout_s=300)
            assert outcome == "done", evidence(obs, outcome, progress)
            shots[effect] = grab_filters_dialog(obs.display, run["source"], dest / f"obs-properties-{effect}.png")
            (out / f"{effect}.shot").touch()
        outcome = watch(obs, progress, "ALL DONE", stall_s=60, timeout_s=120)
        assert outcome == "done", evidence(obs, outcome, progress)
        assert alive(obs)
        log = obs.log_text()
    assert "Traceback" not in log, log[log.index("Traceback") - 300: log.index("Traceback") + 2500]
    for effect, img in shots.items():
        assert img.shape[:2] == (WINDOW[1], WINDOW[0]), (effect, img.shape)
        assert img.std() > 10, f"{effect}: the picture is blank"
