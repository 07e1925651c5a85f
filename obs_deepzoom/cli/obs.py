"""OBS commands: `obs` (set up OBS to load DeepZoom, list our filter kinds), `remote` (control a running OBS
over obs-websocket) and `preset` (list, show, validate, or apply one to an OBS source)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import DeepZoomError
from .common import emit, progress, table


def cmd_obs(args) -> int:
    from ..obs import kinds

    if args.action == "kinds":
        table(kinds.table(), args.json, "{kind:28s} {type:6s} {name}")
        return 0
    from ..remote import config, setup

    config_dir = Path(args.config_dir) if args.config_dir else config.default_config_dir()
    if args.undo:
        setup.undo(config_dir, progress, force=args.force)
        return 0
    password = None
    if args.password_env:
        password = _env_password(args.password_env)
        try:  # the variable's bytes as UTF-8 (what OBS stores), even where Python decoded them as ASCII
            password = os.fsencode(password).decode("utf-8")
        except UnicodeDecodeError:
            raise DeepZoomError(f"--password-env {args.password_env}: the password is not valid UTF-8") from None
    elif args.websocket_port is not None and not args.no_auth:
        raise DeepZoomError("enabling obs-websocket needs --password-env VAR (recommended) or --no-auth")
    setup.setup(config_dir, args.collection, args.websocket_port, password, deps=not args.no_deps,
                progress=progress, force=args.force)
    return 0


def _env_password(var: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise DeepZoomError(f"--password-env {var}: that environment variable is not set")
    return value


def _password(args) -> str | None:
    if getattr(args, "password_env", None):
        return _env_password(args.password_env)
    if getattr(args, "ask_password", False):
        import getpass

        return getpass.getpass("OBS websocket password: ")
    return os.environ.get("DEEPZOOM_OBS_PASSWORD") or None


def _client(args):
    from ..remote.client import ObsClient

    return ObsClient(args.host, args.port, _password(args), timeout=args.timeout)


def cmd_remote(args) -> int:
    from ..remote import commands as rc

    if args.remote_action == "analytics" and not args.every > 0:
        from ..errors import InputError

        raise InputError(f"--every {args.every}: must be more than 0 seconds")
    with _client(args) as c:
        action = args.remote_action
        if action == "status":
            emit(rc.status(c), args.json)
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
            emit(rc.virtualcam(c, args.vc_action), args.json)
        elif action == "analytics":
            _analytics(c, args)
    return 0


def _analytics(c, args) -> None:
    """One reading, or one every --every seconds with --follow until Ctrl+C."""
    import time

    from ..remote import commands as rc

    reset = args.reset
    try:
        while True:
            stats = rc.analytics(c, args.source, reset)
            reset = False
            print(json.dumps(stats) if args.json else rc.analytics_text(args.source, stats), flush=True)
            if not args.follow:
                return
            time.sleep(args.every)
    except KeyboardInterrupt:
        pass


def _apply_preset(c, source: str, name: str, audio_source: str | None = None) -> int:
    from .. import presets
    from ..remote import commands as rc

    preset = presets.load(name)
    for step in rc.apply_preset(c, source, preset, audio_source):
        print(step)
    print(f"preset '{preset.name}' applied to '{source}' in one frame")
    return 0


def cmd_preset(args) -> int:
    from .. import presets

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


# ---- parsers ----------------------------------------------------------------------------------------------
def connection_opts(sp) -> None:
    sp.add_argument("--host", default="127.0.0.1", help="OBS host (default 127.0.0.1)")
    sp.add_argument("--port", type=int, default=4455, help="obs-websocket port (default 4455)")
    sp.add_argument("--password-env", metavar="VAR",
                    help="read the websocket password from this environment variable "
                         "(default: DEEPZOOM_OBS_PASSWORD when set)")
    sp.add_argument("--ask-password", action="store_true", help="prompt for the websocket password")
    sp.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for OBS")


def add_preset(sub) -> None:
    sp = sub.add_parser("preset", help="list, show, validate presets, or apply one to an OBS source")
    sp.add_argument("action", choices=["list", "show", "validate", "apply"])
    sp.add_argument("name", nargs="?", help="preset name (show/apply) or a .json file (validate)")
    sp.add_argument("--source", help="apply: the OBS source to set up")
    sp.add_argument("--audio-source", help="apply: the source that gets the audio effects (default: --source)")
    connection_opts(sp)
    sp.set_defaults(func=cmd_preset)


def add_obs(sub) -> None:
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


def add_remote(sub) -> None:
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
    r = rs.add_parser("analytics", help="the face analytics filter's live statistics: people seen, time in view, "
                                        "attention, apparent age and gender")
    r.add_argument("source")
    r.add_argument("--follow", action="store_true", help="keep printing (Ctrl+C stops)")
    r.add_argument("--every", type=float, default=2.0, help="seconds between readings with --follow (default 2)")
    r.add_argument("--reset", action="store_true", help="start the statistics over first")
    r.add_argument("--json", action="store_true")
    r = rs.add_parser("virtualcam", help="start, stop or query OBS's virtual camera")
    r.add_argument("vc_action", choices=["start", "stop", "status"])
    r.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_remote)


COMMANDS = {"preset": add_preset, "obs": add_obs, "remote": add_remote}
