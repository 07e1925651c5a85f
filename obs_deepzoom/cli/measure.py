"""Measurement commands: `bench` (speed against a peer in the same process) and `eval` (quality on real data).
Their names are the measurements', not the effect registry's: a bench or an evaluation exists only once written."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import DeepZoomError
from .common import emit, progress

BENCHES = ("face", "gaze", "background", "restore", "avatar", "obs", "denoise", "automute", "framing", "models",
           "analytics", "codec")
AUDIO_BENCHES = ("denoise", "automute")
EVALS = ("face", "gaze", "background", "restore", "avatar", "denoise", "automute", "framing", "analytics", "codec",
         "datasaver", "conceal")
EVALS_WITH_PICTURES = ("gaze", "background", "restore", "avatar", "framing", "codec")


def cmd_bench(args) -> int:
    from ..engine.runtime import default_precision

    if args.precision != "auto" and args.name in ("models", "obs"):
        raise DeepZoomError(f"--precision: bench {args.name} "
                            + ("measures every precision itself" if args.name == "models" else
                               "runs the models inside OBS (set the filters' precision setting instead)"))
    with default_precision(args.precision):
        result = _bench(args)
    emit(_with_precision(result, args.precision), args.json)
    return 0


def _with_precision(result: dict, precision: str) -> dict:
    """The run's --precision in its result (only when given: 'auto' is each model's manifest choice)."""
    return result if precision == "auto" else {**result, "precision_requested": precision}


def _bench(args) -> dict:
    if args.name == "models":
        from ..bench import models

        names = [n for n in args.models.split(",") if n] if args.models else None
        return models.run(names, rounds=max(args.rounds, 7), progress=progress)
    if args.name in AUDIO_BENCHES:
        from ..bench import audio

        result = audio.run(args.name, seconds=args.seconds, rounds=args.rounds, peer=not args.no_peer,
                           progress=progress)
    else:
        bench = importlib.import_module(f"..bench.{args.name}", __package__)
        if args.name == "obs" and args.obs == 32:  # libobs 32.2.2 in-process (the OBS 32 test tier's host)
            from ..bench import obs32

            result = obs32.run(seconds=args.seconds, progress=progress)
        elif args.name == "obs":
            result = bench.run(seconds=args.seconds, progress=progress)
        elif args.name == "gaze":  # no offline peer: compared with the face tracking it needs
            result = bench.run(rounds=args.rounds, progress=progress)
        elif args.name == "framing":  # the peer, a centre crop, is our own baseline and always runs
            result = bench.run(rounds=args.rounds, seconds=args.seconds, progress=progress)
        else:
            extra = {"input_height": args.input_height} if args.name == "restore" else {}
            result = bench.run(rounds=args.rounds, peer=not args.no_peer, progress=progress, **extra)
    return result


def cmd_eval(args) -> int:
    from ..engine.runtime import default_precision

    with default_precision(args.precision):
        result = _eval(args)
    emit(_with_precision(result, args.precision), args.json)
    return 0


def _eval(args) -> dict:
    evaluation = importlib.import_module(f"..evaluate.{args.name}", __package__)
    kwargs = {"progress": progress}
    if args.name == "denoise":
        kwargs.update(n=args.n, candidates=not args.no_candidates, seed=args.seed)
    if args.out_dir:
        if args.name not in EVALS_WITH_PICTURES:
            only = ", ".join(EVALS_WITH_PICTURES)
            raise DeepZoomError(f"--out-dir: eval {args.name} saves no pictures (only {only})")
        Path(args.out_dir).mkdir(parents=True, exist_ok=True)
        kwargs["out_dir"] = Path(args.out_dir)
    return evaluation.run(**kwargs)


# ---- parsers ----------------------------------------------------------------------------------------------
def _precision_flag(sp) -> None:
    sp.add_argument("--precision", choices=["auto", "f32", "bf16", "int8"], default="auto",
                    help="run our models at this precision wherever a setting says 'auto' (int8: the models "
                         "built with `deepzoom models build --precision int8`, f32 where there is none)")


def add_bench(sub) -> None:
    sp = sub.add_parser("bench", help="benchmark a stage against a peer in the same process")
    sp.add_argument("name", choices=list(BENCHES))
    sp.add_argument("--rounds", type=int, default=3,
                    help="video: passes over the sample clip; audio: passes over the speech")
    sp.add_argument("--seconds", type=float, default=10.0,
                    help="obs: seconds sampled per phase; audio: seconds of 48 kHz stereo speech; framing: "
                         "seconds of the moving-face scene")
    sp.add_argument("--no-peer", action="store_true", help="skip the peer (MediaPipe)")
    sp.add_argument("--input-height", type=int, choices=[240, 360], default=240,
                    help="restore: the input's lines (240p: x3 to 720p; 360p: x2, the x2 deblocker's weights)")
    sp.add_argument("--obs", type=int, choices=[29, 32], default=29,
                    help="obs: 29 = the headless OBS Studio installed here; 32 = libobs 32.2.2 in-process "
                         "(test-only, from `deepzoom reference install`)")
    sp.add_argument("--models", help="models: comma-separated manifest names (default: all)")
    _precision_flag(sp)
    sp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sp.set_defaults(func=cmd_bench)


def add_eval(sub) -> None:
    sp = sub.add_parser("eval", help="measure quality on real data")
    sp.add_argument("name", choices=list(EVALS))
    sp.add_argument("--out-dir", help="gaze/background/restore/framing: also save before/after pictures (PNG; "
                                      "framing: and its side-by-side video) here")
    sp.add_argument("--n", type=int, default=24, help="denoise: number of mixtures (12 noise x SNR pairs, cycled)")
    sp.add_argument("--seed", type=int, default=4,
                    help="denoise: mixture seed (4 = the issue's set; another seed builds a second set)")
    sp.add_argument("--no-candidates", action="store_true",
                    help="denoise: skip the single networks measured beside the modes (DTLN, GTCRN, NSNet2)")
    _precision_flag(sp)
    sp.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    sp.set_defaults(func=cmd_eval)


COMMANDS = {"bench": add_bench, "eval": add_eval}
