"""The package's layers (docs/design.md): every import of obs_deepzoom runs to the importer's own layer or a
lower one, and the sides that must not know each other never import each other. A new top-level module
fails here until it is given a layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from obs_deepzoom import paths

PACKAGE = paths.REPO_ROOT / "obs_deepzoom"
LAYERS = [  # bottom to top; the first part of a module's name below obs_deepzoom
    {"__init__", "errors", "paths", "netguard"},
    {"downloads", "cbuild", "settings", "audio_io", "video_io", "media"},
    {"modelstore"},
    {"engine"},
    {"samples", "presets", "reference"},
    {"obs", "remote", "jobs", "evaluate", "compress"},
    {"bench", "datafetch", "settings_doc"},
    {"cli"},
]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}
NEVER = [  # same layer, but one must not know the other
    ("obs", "remote", "what OBS loads never drives OBS from outside"),
    ("obs", "jobs", "what OBS loads runs no offline job"),
    ("obs", "evaluate", "what OBS loads carries no evaluation"),
    ("obs", "compress", "what OBS loads quantises nothing (and needs no NNCF)"),
    ("compress", "obs", "compression works on the engine, not OBS"),
    ("jobs", "obs", "offline runners know nothing of OBS"),
    ("jobs", "remote", "offline runners know nothing of OBS"),
    ("evaluate", "obs", "evaluations judge the engine, not OBS"),
    ("evaluate", "remote", "evaluations judge the engine, not OBS"),
    ("evaluate", "jobs", "evaluations judge the engine itself"),
    ("remote", "jobs", "driving OBS runs no offline job"),
    ("remote", "evaluate", "driving OBS carries no evaluation"),
]


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _is_module(name: str) -> bool:
    return (PACKAGE / f"{name}.py").exists() or (PACKAGE / name).is_dir()


def imports(files: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(file, importer's top name, imported top name) for every import of obs_deepzoom in the package (or in
    `files`: path below the repository -> source), lazy imports inside functions and importlib calls with a
    literal name included."""
    out = []
    if files is None:
        files = {str(p.relative_to(paths.REPO_ROOT)): p.read_text() for p in sorted(PACKAGE.rglob("*.py"))}
    for name, source in files.items():
        rel = Path(name).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        package = module if rel.name == "__init__" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(source, name)):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" if target == "obs_deepzoom" and _is_module(a.name) else target
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None))
                  in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant)):
                targets = [str(node.args[0].value)]
            for t in targets:
                if t == "obs_deepzoom" or t.startswith("obs_deepzoom."):
                    out.append((str(rel), _top(module), _top(t)))
    return out


def test_every_module_has_a_layer():
    tops = {_top(".".join(p.relative_to(paths.REPO_ROOT).with_suffix("").parts)) for p in PACKAGE.rglob("*.py")}
    assert tops <= set(LAYER), f"give these a layer in LAYERS (and docs/design.md): {sorted(tops - set(LAYER))}"


def test_no_import_runs_upwards():
    upward = [f"{f}: {a} -> {b}" for f, a, b in imports() if LAYER.get(b, 99) > LAYER.get(a, 99)]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(upward)


@pytest.mark.parametrize(("a", "b", "why"), NEVER)
def test_sides_that_must_not_know_each_other(a, b, why):
    found = [f for f, x, y in imports() if (x, y) == (a, b)]
    assert not found, f"{a} imports {b} ({why}): {found}"


def test_the_check_sees_imports():
    """The checker itself: relative and absolute imports are both found (a checker that finds nothing passes)."""
    found = {(a, b) for _, a, b in imports()}
    assert ("engine", "settings") in found and ("cli", "engine") in found and ("obs", "engine") in found


def test_the_checker_flags_what_it_must():
    """Made-up modules: an upward import (plain, lazy, through importlib) and a forbidden side are all found."""
    files = {"obs_deepzoom/engine/x.py": "from ..cli import main\n",
             "obs_deepzoom/engine/y.py": "def f():\n    from obs_deepzoom.bench import audio\n",
             "obs_deepzoom/settings_x.py": "import importlib\nimportlib.import_module('obs_deepzoom.obs.filters')\n",
             "obs_deepzoom/obs/z.py": "from ..remote import setup\n"}
    found = set(imports(files))
    assert ("obs_deepzoom/engine/x", "engine", "cli") in found
    assert ("obs_deepzoom/engine/y", "engine", "bench") in found
    assert ("obs_deepzoom/settings_x", "settings_x", "obs") in found
    assert ("obs_deepzoom/obs/z", "obs", "remote") in found
