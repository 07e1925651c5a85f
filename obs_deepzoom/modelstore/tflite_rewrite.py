"""Replace MediaPipe's custom op Convolution2DTransposeBias by TFLite's builtin TRANSPOSE_CONV (+ bias).

OpenVINO's TFLite frontend does not know the custom op used by the selfie-segmentation models. The op is a
transposed convolution whose custom options hold (padding, stride_w, stride_h) as three int32; TFLite's
builtin TRANSPOSE_CONV (version 3) takes (output_shape, weights, input, bias) and means the same thing.
The flatbuffer schema module comes from the mediapipe wheel (see the manifest recipe).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np

CUSTOM_OP = b"Convolution2DTransposeBias"


def _load_schema(schema_py: Path):
    spec = importlib.util.spec_from_file_location("_tflite_schema", schema_py)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rewrite_transpose_conv(src: Path, dst: Path, schema_py: Path) -> int:
    """Write a copy of src with every custom transpose-conv replaced; returns how many were replaced."""
    import flatbuffers

    s = _load_schema(schema_py)
    raw = Path(src).read_bytes()
    model = s.ModelT.InitFromObj(s.Model.GetRootAs(raw, 0))
    graph = model.subgraphs[0]

    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.TRANSPOSE_CONV
    code.version = 3
    model.operatorCodes.append(code)
    code_index = len(model.operatorCodes) - 1

    replaced = 0
    for op in graph.operators:
        if model.operatorCodes[op.opcodeIndex].customCode != CUSTOM_OP:
            continue
        padding, stride_w, stride_h = struct.unpack("<3i", bytes(op.customOptions))
        data, weights, bias = op.inputs
        out_shape = np.asarray(graph.tensors[op.outputs[0]].shape, np.int32)

        buf = s.BufferT()
        buf.data = np.frombuffer(out_shape.tobytes(), np.uint8)
        model.buffers.append(buf)
        shape_tensor = s.TensorT()
        shape_tensor.shape = [4]
        shape_tensor.type = s.TensorType.INT32
        shape_tensor.buffer = len(model.buffers) - 1
        shape_tensor.name = b"deepzoom_output_shape_%d" % replaced
        graph.tensors.append(shape_tensor)

        options = s.TransposeConvOptionsT()
        options.padding = s.Padding.SAME if padding == 1 else s.Padding.VALID
        options.strideW, options.strideH = stride_w, stride_h
        op.opcodeIndex = code_index
        op.inputs = [len(graph.tensors) - 1, weights, data, bias]
        op.builtinOptionsType = s.BuiltinOptions.TransposeConvOptions
        op.builtinOptions = options
        op.customOptions = None
        replaced += 1

    builder = flatbuffers.Builder(len(raw) * 2)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    Path(dst).write_bytes(bytes(builder.Output()))
    return replaced
