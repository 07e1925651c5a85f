"""Build OpenVINO IR for manifest entries: download the package, extract + check the file, apply the
recipe, convert, check the input/output contract, save, and record hashes of what was written."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from .. import paths
from ..downloads import extract, human_size, sha256_of
from ..errors import DeepZoomError, ModelError
from .manifest import ModelEntry, load_manifest
from .recurrent import constant_sequence_lengths, expose_recurrent_state, strip_input_time_padding
from .tflite_rewrite import rewrite_transpose_conv

log = logging.getLogger(__name__)


def source_path(entry: ModelEntry) -> Path:
    return paths.data_dir() / "sources" / entry.name / Path(entry.source.member or entry.source.file).name


def _files_state(xml: Path, stamp: dict) -> str:
    """'ok' when the .xml/.bin on disk are the ones the build record describes."""
    binf = xml.with_suffix(".bin")
    if binf.stat().st_size != stamp.get("bin_bytes") or sha256_of(binf) != stamp.get("bin_sha256"):
        return "corrupt: the .bin does not match its build record"
    if sha256_of(xml) != stamp.get("xml_sha256"):
        return "corrupt: the .xml does not match its build record"
    return "ok"


def read_stamp(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def build_state(entry: ModelEntry, precision: str = "f32") -> str:
    """'ok', 'missing', 'stale: why' or 'corrupt: why' for the built IR of entry at `precision` (f32 and bf16
    share the float IR; int8 is the quantised IR, stale when the float IR or its recipe changed)."""
    if precision == "int8":
        return _int8_state(entry)
    xml, binf = entry.xml, entry.xml.with_suffix(".bin")
    if not xml.exists() or not binf.exists() or not entry.stamp.exists():
        return "missing"
    stamp = read_stamp(entry.stamp)
    if stamp is None:
        return "corrupt: unreadable build record"
    if stamp.get("source_sha256") != entry.source.sha256:
        return "stale: the manifest's source changed since the build"
    if stamp.get("recipe") != [s.model_dump(by_alias=True, exclude_none=True) for s in entry.recipe]:
        return "stale: the manifest's recipe changed since the build"
    return _files_state(xml, stamp)


def _int8_state(entry: ModelEntry) -> str:
    if entry.int8 is None:
        return "none: the manifest has no int8 build for this model"
    xml, stamp_path = entry.variant_xml("int8"), entry.variant_stamp("int8")
    if not xml.exists() or not xml.with_suffix(".bin").exists() or not stamp_path.exists():
        return "missing"
    stamp, float_stamp = read_stamp(stamp_path), read_stamp(entry.stamp)
    if stamp is None:
        return "corrupt: unreadable build record"
    if (float_state := build_state(entry)) != "ok":
        return f"stale: the float IR it was quantised from is {float_state}"
    if stamp.get("float_bin_sha256") != (float_stamp or {}).get("bin_sha256"):
        return "stale: the float IR it was quantised from changed"
    if stamp.get("int8") != entry.int8.model_dump():
        return "stale: the manifest's int8 recipe changed since the build"
    return _files_state(xml, stamp)


def _dims(shape) -> list[int]:
    """A partial shape as a list, -1 for a dynamic dimension (as the manifest writes it)."""
    return [d.get_length() if d.is_static else -1 for d in shape]


def _check_contract(entry: ModelEntry, model) -> None:
    for kind, ports, declared in (("input", model.inputs, entry.inputs), ("output", model.outputs, entry.outputs)):
        got = {frozenset(p.get_names()): _dims(p.get_partial_shape()) for p in ports}
        for port in declared:
            shape = next((s for names, s in got.items() if port.name in names), None)
            if shape is None:
                raise ModelError(entry.name, f"has no {kind} named '{port.name}' (found {list(got)})")
            if shape != port.shape:
                raise ModelError(entry.name, f"{kind} '{port.name}' has shape {shape}, manifest says {port.shape}")


def build_one(entry: ModelEntry) -> Path:
    import openvino as ov

    src = extract(entry.source, source_path(entry))
    for step in entry.recipe:
        if step.step == "tflite_transpose_conv_rewrite":
            schema = extract(step.schema_file, paths.data_dir() / "sources" / "tflite_schema.py")
            fixed = src.with_name(src.stem + ".builtin.tflite")
            if rewrite_transpose_conv(src, fixed, schema) == 0:
                raise ModelError(entry.name, "recipe found no custom transpose convolution to rewrite")
            src = fixed
    try:
        model = ov.convert_model(str(src))
    except Exception as exc:  # the converter's own message is the useful part
        raise ModelError(entry.name, f"failed to convert ({str(exc).splitlines()[0][:200]})") from exc
    for step in entry.recipe:
        if step.step == "expose_recurrent_state" and expose_recurrent_state(model) == 0:
            raise ModelError(entry.name, "recipe found no recurrent state to expose")
        if step.step == "constant_sequence_lengths" and constant_sequence_lengths(model) == 0:
            raise ModelError(entry.name, "recipe found no computed sequence lengths")
        if step.step == "strip_input_time_padding" and strip_input_time_padding(model) == 0:
            raise ModelError(entry.name, "recipe found no time padding on an input convolution")
        if step.step == "reshape":
            model.reshape(step.shapes or {model.inputs[0].get_any_name(): step.shape})
    _check_contract(entry, model)

    stamp = {
        "source": entry.source.package + ":" + entry.source.file,
        "source_sha256": entry.source.sha256,
        "recipe": [s.model_dump(by_alias=True, exclude_none=True) for s in entry.recipe],
    }
    return save_ir(model, entry.xml, entry.stamp, stamp)


def save_ir(model, xml: Path, stamp_path: Path, stamp: dict) -> Path:
    """Write `model` to `xml` (+ .bin) and its build record (`stamp` + openvino version, hashes, time),
    through temporary names so a crash never leaves a half-written IR that looks built."""
    import openvino as ov

    xml.parent.mkdir(parents=True, exist_ok=True)
    tmp_xml = xml.parent / f".{xml.stem}.tmp.xml"
    ov.save_model(model, str(tmp_xml), compress_to_fp16=False)
    tmp_bin = tmp_xml.with_suffix(".bin")
    stamp = {**stamp, "openvino": ov.get_version(), "bin_bytes": tmp_bin.stat().st_size,
             "bin_sha256": sha256_of(tmp_bin), "xml_sha256": sha256_of(tmp_xml),
             "built": time.strftime("%Y-%m-%dT%H:%M:%S")}
    stamp_path.unlink(missing_ok=True)
    tmp_bin.replace(xml.with_suffix(".bin"))
    tmp_xml.replace(xml)
    stamp_path.write_text(json.dumps(stamp, indent=1))
    return xml


def build(names: list[str] | None = None, force: bool = False, progress=print) -> list[str]:
    """Build the named models (all when None) that are missing, stale or corrupt; returns what was built."""
    manifest = load_manifest()
    entries = [manifest.get(n) for n in names] if names else manifest.models
    built = []
    for i, entry in enumerate(entries, 1):
        state = build_state(entry)
        if state == "ok" and not force:
            progress(f"[{i}/{len(entries)}] {entry.name}: up to date")
            continue
        progress(f"[{i}/{len(entries)}] {entry.name}: building ({state}) from {entry.source.package}")
        t = time.perf_counter()
        try:
            build_one(entry)
        except DeepZoomError:
            raise
        except Exception as exc:
            raise ModelError(entry.name, f"failed to build ({type(exc).__name__}: {exc})") from exc
        written = sum(p.stat().st_size for p in (entry.xml, entry.xml.with_suffix(".bin")))
        progress(f"[{i}/{len(entries)}] {entry.name}: built ({human_size(written)}, "
                 f"{time.perf_counter() - t:.1f} s)")
        built.append(entry.name)
    if built:
        progress(f"IR written to {paths.ir_dir()}")
    return built
