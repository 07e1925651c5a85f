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


class ModelEntry(_Strict):
    name: str
    task: str
    source: PackageFile
    licence: str
    recipe: list[RecipeStep] = []
    precision: Literal["bf16", "f32"] = "bf16"
    inputs: list[Port]
    outputs: list[Port]

    @property
    def xml(self) -> Path:
        return paths.ir_dir() / f"{self.name}.xml"

    @property
    def stamp(self) -> Path:
        """Build record: source hash and the sha256 of the .bin written, to detect corrupt IR."""
        return paths.ir_dir() / f"{self.name}.built.json"


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
