"""The ctypes bridge without a running OBS: every libobs call typed, every symbol real, the right libobs chosen
on each platform, and property pages whose slider ends are values the settings accept."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from obs_deepzoom.obs import abi, locate, native
from obs_deepzoom.obs.kinds import ALL_KINDS, sections
from obs_deepzoom.obs.properties import specs_for

OBS_DIR = Path(abi.__file__).resolve().parent
DEBIAN_LIBOBS = Path("/usr/lib/x86_64-linux-gnu/libobs.so.0")


def test_no_module_calls_libobs_untyped():
    """Every libobs call goes through abi.SIGNATURES (ctypes passes an untyped 64-bit pointer as a C int)."""
    offenders = []
    for path in sorted(OBS_DIR.rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\blib\.(obs|gs|blog|audio)_?\w*\s*\(|obs\.lib\.|getattr\(lib,\s*\"(obs|gs)_", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, offenders


def test_every_binding_declares_its_types():
    for symbol, (_attr, restype, argtypes) in abi.SIGNATURES.items():
        assert isinstance(argtypes, list), symbol
        assert restype is None or isinstance(restype, type), symbol
    used = set()
    for path in OBS_DIR.rglob("*.py"):
        used |= set(re.findall(r"\bobs\.([a-z_]+)\(", path.read_text()))
    attrs = {attr for attr, _, _ in abi.SIGNATURES.values()}
    helpers = {"blog", "plane", "float_plane", "address", "use_native_log"}
    assert used - attrs - helpers == set(), "functions called on libobs that abi.SIGNATURES does not type"
    for symbol in abi.NATIVE_API:
        assert symbol in abi.SIGNATURES, symbol


@pytest.mark.skipif(not DEBIAN_LIBOBS.exists(), reason="Debian's obs-studio is not installed")
def test_every_symbol_exists_in_a_real_libobs():
    code = ("import ctypes; from obs_deepzoom.obs import abi\n"
            f"lib = ctypes.CDLL('{DEBIAN_LIBOBS}')\n"
            "missing = [s for s in abi.SIGNATURES if not hasattr(lib, s)]\n"
            "print(missing)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_shim_exports_what_python_binds():
    lib = native.open_library(native.build(progress=lambda *_: None))
    for name in [*native.SIGNATURES, *native.CALLBACKS]:
        assert hasattr(lib, name), name


def test_source_info_reaches_version():
    """libobs reads info->version before it copies the size we pass: our struct must reach it (offset 368
    on 64-bit OBS 29..32)."""
    import ctypes

    assert abi.SourceInfo.version.offset == 368
    assert ctypes.sizeof(abi.SourceInfo) >= 372
    assert abi.SourceInfo.icon_type.offset == 288


class FakeLib:
    def __init__(self, initialised: bool):
        self.obs_initialized = lambda: initialised


def test_the_loaded_libobs_is_chosen_on_each_platform():
    seen = []

    def opener(loaded: dict):
        def open_(name):
            seen.append(name)
            if name in loaded:
                return loaded[name]
            raise OSError("not loaded")
        return open_

    # OBS 29 on Linux: the executable links libobs.so.0, its symbols are global
    lib, name = locate.choose("linux", opener({None: FakeLib(True)}))
    assert name is None
    # a host that loaded libobs.so.30 locally (pylibobs): found by soname with RTLD_NOLOAD, not loaded anew
    seen.clear()
    lib, name = locate.choose("linux", opener({"libobs.so.30": FakeLib(True)}))
    assert name == "libobs.so.30" and seen[:3] == [None, "libobs.so.0", "libobs.so.30"]
    # a stray, uninitialised copy is skipped
    lib, name = locate.choose("linux", opener({"libobs.so.0": FakeLib(False), "libobs.so.32": FakeLib(True)}))
    assert name == "libobs.so.32"
    # explicit path first; Windows and macOS names
    assert locate.choose("linux", opener({"/x/libobs.so.30": FakeLib(True)}), "/x/libobs.so.30")[1] == "/x/libobs.so.30"
    assert locate.choose("win32", opener({"obs.dll": FakeLib(True)}))[1] == "obs.dll"
    mac = "@rpath/libobs.framework/Versions/A/libobs"
    assert locate.choose("darwin", opener({mac: FakeLib(True)}))[1] == mac
    with pytest.raises(OSError, match="no libobs is loaded"):
        locate.choose("linux", opener({"libobs.so.0": FakeLib(False)}))


@pytest.mark.parametrize("effect", list(ALL_KINDS))
def test_slider_ends_and_list_values_are_valid_settings(effect):
    """A person drags every slider to both ends and picks every list item: each value must validate (an invalid
    one would make OBS's update drop every other change too)."""
    models = sections(effect)
    for spec in specs_for(models):
        section, name = spec.key.split(".", 1)
        values = []
        if spec.kind in ("int", "float"):
            values = [spec.minimum, spec.maximum]
            values = [int(v) for v in values] if spec.kind == "int" else values
        elif spec.kind == "list":
            values = spec.choices
        for v in values:
            try:
                models[section].model_validate({name: v})
            except pydantic.ValidationError as exc:
                pytest.fail(f"{spec.key}={v!r} offered by the property page is rejected: {exc.errors()[0]['msg']}")
