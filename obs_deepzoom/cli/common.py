"""What the command modules share: progress and result printing, and the effect chain and encoding from the
arguments."""

from __future__ import annotations

import json
import sys

from ..errors import InputError


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def table(rows: list[dict], as_json: bool, line: str) -> None:
    """Rows as a JSON list, or one formatted `line` (str.format over the row) per row."""
    if as_json:
        print(json.dumps(rows))
    else:
        for r in rows:
            print(line.format(**r))


def emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f"{k:28s} {v}")


def chain_from_args(args):
    """The chain of --effects (else the preset's video effects) with the preset's settings and --set overrides."""
    from ..engine.chain import Chain
    from ..presets import load
    from ..settings import apply_overrides

    preset = load(args.preset)
    effects = [e.strip() for e in args.effects.split(",") if e.strip()] if args.effects else list(preset.video)
    settings = apply_overrides(preset.settings, args.set or [])
    if "avatar" in effects and not settings.avatar.source:
        raise InputError("the avatar effect needs a portrait: --set avatar.source=PHOTO")
    return Chain(effects, settings)


def encoding_from_args(args):
    from ..video_io import Encoding

    return Encoding(crf=args.crf, lossless=args.lossless)


def audio_chain(args) -> list[str]:
    """The audio effects the soundtrack goes through: --audio-effects, else the preset's."""
    from ..engine.effects import AUDIO_EFFECTS
    from ..presets import load

    if getattr(args, "audio_effects", None) is None:
        return list(load(args.preset).audio)
    effects = [e.strip() for e in args.audio_effects.split(",") if e.strip() and e.strip() != "none"]
    unknown = [e for e in effects if e not in AUDIO_EFFECTS]
    if unknown:
        raise InputError(f"--audio-effects: unknown {', '.join(unknown)} (available: {', '.join(AUDIO_EFFECTS)}, "
                         "none)")
    return effects

