"""Video commands: `process` (an image, a video or a camera through the chain), `demo` and `avatar`."""

from __future__ import annotations

from pathlib import Path

from .. import paths
from ..errors import InputError
from .common import audio_chain, chain_from_args, emit, encoding_from_args, progress


def _soundtrack(args, path: Path, settings, seconds: float | None):
    """The input's soundtrack through the audio chain, or None (no sound, or --no-audio)."""
    from ..engine.effects import apply_audio_effects
    from ..video_io import read_soundtrack

    if getattr(args, "no_audio", False):
        return None, "none (--no-audio)"
    track = read_soundtrack(path, seconds)
    if track is None:
        return None, "none (the input has no sound)"
    effects = audio_chain(args)
    if effects:
        progress(f"soundtrack: {track.seconds:.1f} s through {', '.join(effects)}")
    return apply_audio_effects(track, effects, settings), ", ".join(effects) or "as recorded"


def cmd_process(args) -> int:
    from ..jobs.video import process_image, process_video
    from ..media import VideoSource, check_output, kind_of
    from ..video_io import output_format

    encoding = encoding_from_args(args)
    if args.camera is not None:
        out = check_output(args.output, "video") if args.output else None
        if out is not None:
            output_format(out, encoding)
        chain = chain_from_args(args)
        source = VideoSource.open_camera(args.camera)
        summary = process_video(chain, source, out, args.max_frames or 0, encoding=encoding)
        summary.update({"video": encoding.describe(out) if out else "none", "audio": "none (cameras have no sound)"})
    else:
        if args.input is None:
            raise InputError("give an input file or --camera N")
        kind = kind_of(args.input)
        out = check_output(args.output, kind)
        if kind == "video":
            output_format(out, encoding)  # a bad name or --lossless without .mkv fails before any work
            audio_chain(args)
        elif args.lossless and out.suffix.lower() in (".jpg", ".jpeg", ".webp"):
            raise InputError(f"{out}: --lossless needs a lossless image format (.png, .bmp, .tif)")
        chain = chain_from_args(args)
        if kind == "image":
            summary = process_image(chain, args.input, out)
        else:
            source = VideoSource.open_file(args.input)
            max_frames = args.max_frames or 0
            seconds = max_frames / source.fps if max_frames else None
            audio, sound = _soundtrack(args, args.input, chain.settings, seconds)
            summary = process_video(chain, source, out, max_frames, encoding=encoding, audio=audio)
            summary.update({"video": encoding.describe(out), "audio": sound})
            if chain.tracker is not None and summary["frames_with_face"] == 0:
                progress(f"warning: no face found in {args.input}; frames were passed through")
    progress(f"wrote {out}" if out else "done")
    emit(summary, args.json)
    return 0


def cmd_demo(args) -> int:
    from ..jobs import demo

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoding = encoding_from_args(args)
    args.effects, args.set = None, []
    chain = chain_from_args(args)
    done = demo.run(chain, out_dir, encoding, audio_chain(args), args.preset)
    print(f"demo video:        {done['video']}")
    print(f"sound before:      {done['sound_before']}")
    print(f"side-by-side PNG:  {done['side_by_side']}")
    print(f"timing summary:    {done['timing']}")
    print(f"median ms/frame:   {done['summary']['ms_median']}")
    return 0


def cmd_avatar(args) -> int:
    from ..jobs.avatar import animate
    from ..presets import load
    from ..settings import apply_overrides

    settings = apply_overrides(load(args.preset).settings, [f"avatar.source={args.source}", *(args.set or [])])
    w, _, h = args.size.partition("x")
    if not (w.isdigit() and h.isdigit()) or not (64 <= int(w) <= 3840 and 64 <= int(h) <= 2160):
        raise InputError(f"--size {args.size}: expected WIDTHxHEIGHT between 64x64 and 3840x2160")
    summary = animate(settings, Path(args.output), Path(args.driver) if args.driver else None, args.camera,
                      Path(args.audio) if args.audio else None, (int(w), int(h)), args.max_frames or 0,
                      args.side_by_side, progress, encoding=encoding_from_args(args),
                      audio_effects=None if args.no_audio else audio_chain(args))
    progress(f"wrote {summary['output']}")
    emit(summary, args.json)
    return 0


# ---- parsers ----------------------------------------------------------------------------------------------
def chain_opts(sp) -> None:
    sp.add_argument("--preset", default="default", help="preset name or path to a preset .json")
    sp.add_argument("--effects", help="comma-separated video effects, overriding the preset's chain")
    sp.add_argument("--set", action="append", metavar="EFFECT.FIELD=VALUE",
                    help="override one setting, e.g. --set face.max_faces=2 (repeatable)")


def video_opts(sp, audio: bool = True) -> None:
    from ..video_io import DEFAULT_CRF

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


def add_process(sub) -> None:
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


def add_demo(sub) -> None:
    sp = sub.add_parser("demo", help="the default preset over the sample clip: MP4 (eye contact, background, cleaned "
                                     "voice) + side-by-side PNG + timings")
    sp.add_argument("--out-dir", default=str(paths.REPO_ROOT / "out" / "demo"))
    sp.add_argument("--preset", default="default")
    video_opts(sp, audio=False)
    sp.set_defaults(func=cmd_demo)


def add_avatar(sub) -> None:
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


COMMANDS = {"process": add_process, "demo": add_demo, "avatar": add_avatar}
