"""Typed view of ir_models/manifest.json."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .. import paths
from ..downloads import PackageFile
from ..errors import DeepZoomError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Port(_Strict):
    name: str
    shape: list[int]
    dtype: str = "f32"
    layout: str = ""
    range: list[float] | None = None
    meaning: str = ""


class RecipeStep(_Strict):
    step: Literal["reshape", "tflite_transpose_conv_rewrite", "expose_recurrent_state", "constant_sequence_lengths",
                  "strip_input_time_padding"]
    shape: list[int] | None = None  # reshape: the first input
    shapes: dict[str, list[int]] | None = None  # reshape: inputs by name
    schema_file: PackageFile | None = Field(None, alias="schema")


Precision = Literal["f32", "bf16", "int8"]
PRECISIONS: tuple[str, ...] = ("f32", "bf16", "int8")


class Int8Recipe(_Strict):
    """How `deepzoom models build --precision int8` quantises the model (NNCF post-training, static)."""
    preset: Literal["performance", "mixed"] = "performance"
    ignored_types: list[str] = []  # OpenVINO op types left in float (e.g. "GroupConvolution")
    subset_size: int = Field(300, ge=10, le=5000)  # calibration samples used


class ModelEntry(_Strict):
    name: str
    task: str
    source: PackageFile
    licence: str
    recipe: list[RecipeStep] = []
    precision: Precision = "bf16"  # what runs when a setting says "auto": chosen by measurement (evidence)
    evidence: str = ""  # why that precision: the measurement that chose it
    int8: Int8Recipe | None = None  # None: no int8 build (quantising it does not work or is not wanted)
    inputs: list[Port]
    outputs: list[Port]

    @property
    def xml(self) -> Path:
        return paths.ir_dir() / f"{self.name}.xml"

    @property
    def stamp(self) -> Path:
        """Build record: source hash and the sha256 of the .bin written, to detect corrupt IR."""
        return paths.ir_dir() / f"{self.name}.built.json"

    def variant_xml(self, precision: str) -> Path:
        """The IR that runs at `precision`: f32 and bf16 share the float IR (bf16 is a runtime hint)."""
        return paths.ir_dir() / f"{self.name}.int8.xml" if precision == "int8" else self.xml

    def variant_stamp(self, precision: str) -> Path:
        return paths.ir_dir() / f"{self.name}.int8.built.json" if precision == "int8" else self.stamp


class Manifest(_Strict):
    format: int
    about: str = ""
    models: list[ModelEntry]

    def get(self, name: str) -> ModelEntry:
        for m in self.models:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.models)
        raise DeepZoomError(f"unknown model '{name}' (the manifest has: {known})")


@lru_cache(maxsize=4)
def load_manifest(path: Path = paths.MANIFEST) -> Manifest:
    return Manifest.model_validate(json.loads(Path(path).read_text()))
