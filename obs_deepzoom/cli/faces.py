"""`deepzoom faces`: enroll / list / remove / verify / identify (the face analytics on still pictures)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .common import progress


def _jobs(args):
    from ..errors import InputError
    from ..jobs.faces import FaceJobs
    from ..settings import AnalyticsSettings

    try:
        settings = AnalyticsSettings() if args.threshold is None else AnalyticsSettings(threshold=args.threshold)
    except ValueError as e:  # pydantic's ValidationError: name the flag and its range
        lo, hi = (next(getattr(m, k) for m in AnalyticsSettings.model_fields["threshold"].metadata if hasattr(m, k))
                  for k in ("ge", "le"))
        raise InputError(f"--threshold {args.threshold}: must be between {lo} and {hi}") from e
    return FaceJobs(_gallery(args, settings), settings, progress)


def _gallery(args, settings) -> Path:
    """--gallery, else the setting analytics.gallery, else the default folder."""
    from ..engine.analytics.gallery import gallery_folder

    return Path(args.gallery) if args.gallery else gallery_folder(settings.gallery)


def _print(result, as_json: bool, text: str) -> None:
    print(json.dumps(result) if as_json else text)


def cmd_faces(args) -> int:
    jobs = _jobs(args)
    if args.action == "enroll":
        r = jobs.enroll(args.name, [Path(p) for p in args.pictures])
        _print(r, args.json, f"enrolled {r['name']}: {r['pictures']} picture(s) in {r['gallery']}")
    elif args.action == "list":
        rows = jobs.people()
        if args.json:
            print(json.dumps(rows))
        else:
            for r in rows:
                print(f"{r['name']:32s} {r['pictures']:3d} picture(s)  enrolled {r['enrolled']}")
            if not rows:
                progress(f"nobody is enrolled in {jobs.gallery.folder}")
    elif args.action == "remove":
        _print(jobs.remove(args.name), args.json, f"removed {args.name}")
    elif args.action == "verify":
        r = jobs.verify(Path(args.a), Path(args.b))
        verdict = "same person" if r["same"] else "different people"
        _print(r, args.json, f"{verdict} (distance {r['distance']:.3f}, threshold {r['threshold']})")
    else:
        r = jobs.identify(Path(args.picture))
        lines = [f"{f['identity']:20s} box {f['box']}  age ~{f['age']:.0f}  {f['gender']}  "
                 f"(nearest {f['nearest']}, distance {f['distance']})" for f in r["faces"]]
        _print(r, args.json, "\n".join(lines))
    return 0


def add_faces(sub) -> None:
    sp = sub.add_parser("faces", help="enrol, verify and identify faces in pictures (face analytics)")
    sp.add_argument("--gallery", help="folder of enrolled faces (default: ~/.local/share/obs-deepzoom/faces, or "
                                      "$DEEPZOOM_GALLERY)")
    sp.add_argument("--threshold", type=float, default=None,
                    help="embedding distance below which two faces are the same person (default: the setting "
                         "analytics.threshold)")
    sp.add_argument("--json", action="store_true", help="print one JSON object (list: a JSON list) on the last line")
    act = sp.add_subparsers(dest="action", required=True)
    e = act.add_parser("enroll", help="add pictures of one person (one face each) to the gallery")
    e.add_argument("name")
    e.add_argument("pictures", nargs="+")
    act.add_parser("list", help="who is enrolled")
    r = act.add_parser("remove", help="forget an enrolled person")
    r.add_argument("name")
    v = act.add_parser("verify", help="same person or not (the largest face of each picture)")
    v.add_argument("a")
    v.add_argument("b")
    i = act.add_parser("identify", help="every face in a picture: identity, age, gender")
    i.add_argument("picture")
    for p in (e, r, v, i, act.choices["list"]):
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON on the last line")
    sp.set_defaults(func=cmd_faces)


def cmd_analyze(args) -> int:
    from ..errors import InputError
    from ..jobs.analyze import analyze
    from ..media import VideoSource
    from ..settings import ChainSettings, apply_overrides

    if (args.input is None) == (args.camera is None):
        raise InputError("analyze needs a video file or --camera N (one of them)")
    overrides = [o if o.startswith("analytics.") else f"analytics.{o}" for o in (args.set or [])]
    settings = apply_overrides(ChainSettings(), overrides).analytics
    if args.no_identity:
        settings = settings.model_copy(update={"identity": False})
    source = VideoSource.open_file(Path(args.input)) if args.input else VideoSource.open_camera(args.camera)
    summary = analyze(source, Path(args.out), settings, _gallery(args, settings),
                      audio_path=Path(args.input) if args.input else None, max_frames=args.max_frames,
                      progress=progress)
    if args.json:
        print(json.dumps(summary))
    else:
        for p in summary["people"]:
            print(f"{p['id']:20s} {p['seconds']:7.1f} s in view, attention {p['attention_pct']:5.1f} %, "
                  f"age ~{p['age'] if p['age'] is not None else '?'}, {p['gender'] or '?'}, "
                  f"speaking {p['speaking_s']} s")
    return 0


def _count(text: str) -> int:
    n = int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n}: must be 0 (all) or more")
    return n


def add_analyze(sub) -> None:
    sp = sub.add_parser("analyze", help="face analytics over a video or a camera: HTML report with plots, CSV, "
                                        "JSON")
    sp.add_argument("input", nargs="?", help="video file")
    sp.add_argument("--camera", type=int, help="camera index instead of a file (stop with Ctrl+C … or --max-frames)")
    sp.add_argument("-o", "--out", required=True, help="folder for report.html, faces.csv and summary.json")
    sp.add_argument("--gallery", help="folder of enrolled faces (default: as `deepzoom faces`)")
    sp.add_argument("--no-identity", action="store_true", help="do not compute face embeddings at all")
    sp.add_argument("--max-frames", type=_count, default=0, help="stop after this many frames (0: all)")
    sp.add_argument("--set", action="append", metavar="KEY=VALUE",
                    help="an analytics setting, e.g. --set attention_yaw_deg=30 (docs/settings.md)")
    sp.add_argument("--json", action="store_true", help="print the summary as one JSON object on the last line")
    sp.set_defaults(func=cmd_analyze)


COMMANDS = {"faces": add_faces, "analyze": add_analyze}
