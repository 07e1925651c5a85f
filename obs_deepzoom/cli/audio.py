"""Audio commands: `denoise` (a file, or live from a microphone), `automute` and `devices`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from ..errors import InputError
from .common import emit, progress


def _audio_settings(args, effect: str):
    from ..settings import ChainSettings, apply_overrides

    overrides = list(args.set or [])
    if effect == "denoise":
        for flag, field in (("mode", "mode"), ("atten_db", "atten_limit_db"), ("mix", "mix")):
            if getattr(args, flag, None) is not None:
                overrides.append(f"denoise.{field}={getattr(args, flag)}")
    return getattr(apply_overrides(ChainSettings(), overrides), effect)


def _audio_effect(effect: str, settings):
    from ..engine.effects import audio_effect

    return lambda rate, channels: audio_effect(effect, settings, rate, channels)


def _audio_file(args, effect: str) -> int:
    from ..audio_io import Audio, check_audio_path, clipped_fraction, read_audio, write_audio
    from ..engine.audio.stream import process_signal

    settings = _audio_settings(args, effect)
    if args.input is None or args.output is None:
        raise InputError(f"usage: deepzoom {effect} IN.wav -o OUT.wav (or --live)")
    check_audio_path(args.output, output=True)
    audio = read_audio(args.input)
    clipped = clipped_fraction(audio.samples)
    if clipped > 0.001:
        progress(f"warning: {args.input} is clipped ({100 * clipped:.2f}% of samples at full scale); "
                 "clipping distortion cannot be removed")
    fx = _audio_effect(effect, settings)(audio.rate, audio.channels)
    t = time.perf_counter()
    out = process_signal(fx, audio.samples, args.block)
    wall = time.perf_counter() - t
    write_audio(args.output, Audio(out, audio.rate, audio.subtype))
    progress(f"wrote {args.output}")
    summary = {"input": str(args.input), "output": str(args.output), "rate": audio.rate, "channels": audio.channels,
               "seconds": round(audio.seconds, 2), "latency_ms": round(fx.latency_ms, 2),
               "rtf": round(wall / max(audio.seconds, 1e-9), 4)}
    if effect == "denoise":
        summary["mode"] = settings.mode
    emit(summary, args.json)
    return 0


def cmd_denoise(args) -> int:
    if args.live:
        from ..jobs.audio_live import run_live

        fx = _audio_effect("denoise", _audio_settings(args, "denoise"))
        emit(run_live(fx, args.input_device, args.output_device, args.rate, args.seconds, progress), args.json)
        return 0
    return _audio_file(args, "denoise")


def cmd_automute(args) -> int:
    return _audio_file(args, "automute")


def cmd_devices(args) -> int:
    from ..jobs.audio_live import devices

    rows = devices()
    if args.json:
        print(json.dumps(rows))
    for r in [] if args.json else rows:
        print(f"{r['index']:3d}  in {r['inputs']:2d}  out {r['outputs']:2d}  {r['rate']:6d} Hz  {r['name']}")
    return 0


# ---- parsers ----------------------------------------------------------------------------------------------
def audio_opts(sp, effect: str) -> None:
    sp.add_argument("input", nargs="?", type=Path, help="WAV or FLAC, mono or stereo, 16/44.1/48 kHz")
    sp.add_argument("-o", "--output", type=Path, help="output WAV/FLAC (same rate and channels)")
    sp.add_argument("--set", action="append", metavar=f"{effect.upper()}.FIELD=VALUE",
                    help=f"override one setting, e.g. --set {effect}.mix=0.8 (repeatable)")
    sp.add_argument("--block", type=int, default=1024, help="frames per block (OBS uses 1024)")
    sp.add_argument("--json", action="store_true", help="print the summary as JSON")


def add_denoise(sub) -> None:
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


def add_automute(sub) -> None:
    sp = sub.add_parser("automute", help="silence the pauses of a WAV/FLAC file (voice-activity gate)")
    audio_opts(sp, "automute")
    sp.set_defaults(func=cmd_automute)


def add_devices(sub) -> None:
    sp = sub.add_parser("devices", help="list audio devices for --live (needs PyAudio)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_devices)


COMMANDS = {"denoise": add_denoise, "automute": add_automute, "devices": add_devices}
