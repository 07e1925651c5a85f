"""`deepzoom`: run the effect chain on files or a camera, manage models and samples, benchmark, evaluate.

Every user-facing failure is one line on stderr and exit status 2 (1 for a failed check); never a traceback
unless DEEPZOOM_DEBUG=1. Each module adds its own subcommands next to their handlers: `video` (process, demo,
avatar), `audio` (denoise, automute, devices), `codec` (the keypoint codec), `models` (models, samples,
reference, data, settings), `obs` (obs, remote, preset) and `measure` (bench, eval); the offline work itself is
in `obs_deepzoom.jobs`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .. import __version__
from ..errors import DeepZoomError
from . import audio, codec, faces, measure, models, obs, video

# the order `deepzoom --help` lists the commands in
ORDER = ("process", "demo", "avatar", "faces", "analyze", "codec", "models", "samples", "reference", "data", "preset",
         "obs", "remote", "settings", "bench", "eval", "denoise", "automute", "devices")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="deepzoom", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"obs-deepzoom {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log details")
    sub = p.add_subparsers(dest="command", required=True)
    adders = {**video.COMMANDS, **faces.COMMANDS, **codec.COMMANDS, **audio.COMMANDS, **models.COMMANDS, **obs.COMMANDS,
              **measure.COMMANDS}
    assert set(adders) == set(ORDER), f"commands without a place in ORDER: {set(adders) ^ set(ORDER)}"
    for name in ORDER:
        adders[name](sub)
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
