"""Recipe steps that make a model exported for whole sequences run frame by frame, its state carried by
the caller: `expose_recurrent_state` turns the hidden state of every GRU/LSTM sequence that a graph starts
from zeros into an explicit input (`state_in_K`) and its final state into an output (`state_out_K`);
`strip_input_time_padding` removes the causal (past) zero padding of the convolutions that read an input
over several frames, so the caller passes those past frames instead."""

from __future__ import annotations

import numpy as np

RECURRENT = ("GRUSequence", "RNNSequence")


def expose_recurrent_state(model) -> int:
    """Edit `model` (an openvino.Model) in place; returns how many states were exposed."""
    from openvino import opset13 as ops

    params, results = [], []
    for node in model.get_ordered_ops():
        if node.get_type_name() not in RECURRENT or node.input(1).get_source_output().get_node().get_type_name() \
                == "Parameter":
            continue
        k = len(params)
        hidden = node.get_attributes()["hidden_size"]
        dirs = node.input(1).get_partial_shape()[1].get_length()
        param = ops.parameter([1, dirs, hidden], np.float32, name=f"state_in_{k}")
        param.output(0).get_tensor().set_names({f"state_in_{k}"})
        node.input(1).replace_source_output(param.output(0))
        result = ops.result(node.output(1))
        node.output(1).get_tensor().add_names({f"state_out_{k}"})
        params.append(param)
        results.append(result)
    model.add_parameters(params)
    model.add_results(results)
    model.validate_nodes_and_infer_types()
    return len(params)


def constant_sequence_lengths(model) -> int:
    """Recipe step `constant_sequence_lengths`: give every GRU/LSTM sequence with a static input its
    sequence lengths as a constant. Computed lengths make OpenVINO's CPU plugin fall back to a slow
    TensorIterator (GTCRN: 2.9 -> 0.6 ms per frame). Returns how many were replaced."""
    from openvino import opset13 as ops

    done = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() not in RECURRENT + ("LSTMSequence",) or not node.input(0).get_partial_shape().is_static:
            continue
        if node.input(2).get_source_output().get_node().get_type_name() == "Constant":
            continue
        batch, steps = (int(d) for d in node.input(0).get_shape()[:2])
        node.input(2).replace_source_output(ops.constant(np.full([batch], steps, np.int32)).output(0))
        done += 1
    model.validate_nodes_and_infer_types()
    return done


def strip_input_time_padding(model) -> int:
    """Recipe step `strip_input_time_padding`: for every (group) convolution fed by a model input and padded
    at the start of its time axis (axis 2 of NCTF), drop that padding. The input then takes the kernel's
    past frames too: kernel_t - 1 + T frames in, T out. Returns how many convolutions were changed."""
    from openvino import opset13 as ops

    done = 0
    for param in model.get_parameters():
        for target in list(param.output(0).get_target_inputs()):
            conv = target.get_node()
            kind = conv.get_type_name()
            if kind not in ("Convolution", "GroupConvolution") or conv.get_attributes()["pads_begin"][0] == 0:
                continue
            a = conv.get_attributes()
            make = ops.convolution if kind == "Convolution" else ops.group_convolution
            new = make(conv.input(0).get_source_output(), conv.input(1).get_source_output(), a["strides"],
                       [0] + a["pads_begin"][1:], [0] + a["pads_end"][1:], a["dilations"])
            new.set_friendly_name(conv.get_friendly_name())
            conv.output(0).replace(new.output(0))
            done += 1
    model.validate_nodes_and_infer_types()
    return done


def decompose_single_step_gru(model) -> int:
    """Recipe step `decompose_single_step_gru`: rewrite every forward GRUSequence that runs one time step
    (static shapes) as two matrix products and its gate arithmetic. OpenVINO's CPU plugin runs f32 GRUs with
    oneDNN's reference kernel (~65 us for 256 units); the products run on its GEMM kernels (DeepFilterNet3:
    0.6 -> 0.3 ms per frame). Returns how many were rewritten."""
    from openvino import opset13 as ops

    done = 0
    for node in model.get_ordered_ops():
        if node.get_type_name() != "GRUSequence" or not node.input(0).get_partial_shape().is_static:
            continue
        a = node.get_attributes()
        batch, steps, _ = (int(d) for d in node.input(0).get_shape())
        if steps != 1 or a["direction"] != "forward" or a["clip"] or a["activations"] != ["sigmoid", "tanh"]:
            continue
        hid = a["hidden_size"]
        w, r, b = (node.input(k).get_source_output().get_node() for k in (3, 4, 5))
        if any(n.get_type_name() != "Constant" for n in (w, r, b)):
            continue
        w, r, b = w.get_data()[0], r.get_data()[0], b.get_data()[0]  # gates z, r, h (OpenVINO order)
        lbr = a["linear_before_reset"]
        if not lbr:  # reset gate applied before the recurrent product: not the PyTorch form, leave it
            continue
        x = ops.reshape(node.input(0).get_source_output(), [batch, -1], False)
        h = ops.reshape(node.input(1).get_source_output(), [batch, hid], False)
        gx = ops.add(ops.matmul(x, ops.constant(w), False, True), ops.constant(b[: 3 * hid]))
        gh = ops.add(ops.matmul(h, ops.constant(r), False, True),
                     ops.constant(np.concatenate([np.zeros(2 * hid, b.dtype), b[3 * hid:]])))
        xz, xr, xn = ops.split(gx, 1, 3).outputs()
        hz, hr, hn = ops.split(gh, 1, 3).outputs()
        z = ops.sigmoid(ops.add(xz, hz))
        n = ops.tanh(ops.add(xn, ops.multiply(ops.sigmoid(ops.add(xr, hr)), hn)))
        new_h = ops.add(n, ops.multiply(z, ops.subtract(h, n)))
        for port, shape in ((0, [batch, 1, 1, hid]), (1, [batch, 1, hid])):
            old = node.output(port)
            new = ops.reshape(new_h, shape, False).output(0)
            names = old.get_tensor().get_names()
            old.replace(new)
            new.get_tensor().set_names(names)
        done += 1
    model.validate_nodes_and_infer_types()
    return done
