"""`deepzoom bench models`: every manifest model at f32, bf16 and int8, side by side in one process.

Per model: median ms per inference (rounds interleaved across the precisions, so a busy machine slows all
alike) with one thread and with all threads, on a held-out input (recorded from the evaluation media,
never the calibration media); size on disk per precision; the int8 model's error against the f32 model on
its own measure over held-out inputs, and whether it is within the stated tolerance. bf16 is a runtime
hint: on a CPU without native bf16 (OPTIMIZATION_CAPABILITIES) OpenVINO runs it in f32."""

from __future__ import annotations

import os
import statistics
import time

import numpy as np

from ..engine.runtime import core
from ..errors import DeepZoomError
from ..modelstore.build import build_state
from ..modelstore.manifest import load_manifest

PRECISIONS = ("f32", "bf16", "int8")


# ---- the int8 model's error against f32, per model, on its own measure -----------------------------------
def _face_box_err(ref, got) -> float:
    """Top face box (the f32 model's best anchor): centre and size error in % of the box width."""
    reg_r, cls_r = ref
    reg_g = got[0]
    a = int(np.argmax(cls_r.ravel()))
    w = max(float(abs(reg_r[0, a, 2])), 1e-6)
    return float(np.abs(reg_r[0, a, :4] - reg_g[0, a, :4]).max() / w * 100)


def _mesh_nme(ref, got) -> float:
    """Mean landmark distance in % of the inter-ocular distance (outer eye corners 33 and 263)."""
    r, g = ref[0].reshape(468, 3)[:, :2], got[0].reshape(468, 3)[:, :2]
    iod = max(float(np.linalg.norm(r[33] - r[263])), 1e-6)
    return float(np.linalg.norm(r - g, axis=1).mean() / iod * 100)


def _iris_err(ref, got) -> float:
    """Iris centre distance in % of the eye width (contour points 0 and 8), worst eye."""
    rc, ri, gi = ref[0].reshape(2, 71, 3), ref[1].reshape(2, 5, 3), got[1].reshape(2, 5, 3)
    width = np.maximum(np.linalg.norm(rc[:, 0, :2] - rc[:, 8, :2], axis=1), 1e-6)
    return float((np.linalg.norm(ri[:, 0, :2] - gi[:, 0, :2], axis=1) / width).max() * 100)


def _mask_iou(ref, got) -> float:
    r, g = ref[0] > 0.5, got[0] > 0.5
    union = np.logical_or(r, g).sum()
    return float(np.logical_and(r, g).sum() / union) if union else 1.0


def _psnr(ref, got) -> float:
    """Output PSNR (dB) of int8 against f32 on [0, 1] images."""
    mse = float(np.mean((ref[0] - got[0]) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(1.0 / mse))


def _snr(ref, got) -> float:
    """Worst output's signal-to-difference ratio in dB (masks, spectra, recurrent states alike)."""
    out = []
    for r, g in zip(ref, got):
        err = float(np.sum((r - g) ** 2))
        out.append(99.0 if err == 0 else 10 * np.log10(max(float(np.sum(r ** 2)), 1e-12) / err))
    return float(min(out))


def _vad_diff(ref, got) -> float:
    return float(np.abs(ref[0] - got[0]).max())


def _embed_dist(ref, got) -> float:
    """Distance between the two embeddings once L2-normalised (the analytics threshold is 1.0)."""
    r, g = (x[0].ravel() / max(float(np.linalg.norm(x[0])), 1e-9) for x in (ref, got))
    return float(np.linalg.norm(r - g))


def _age_diff(ref, got) -> float:
    """Difference of the expected apparent ages, years."""
    from ..engine.analytics.models import AGE_BINS

    r, g = (x[0].ravel() / max(float(x[0].sum()), 1e-9) for x in (ref, got))
    return float(abs(r @ AGE_BINS - g @ AGE_BINS))


def _first_prob_diff(ref, got) -> float:
    """Difference of the first class's probability (gender: p(female))."""
    return float(abs(ref[0].ravel()[0] - got[0].ravel()[0]))


# name prefix: (measure of one sample, what it is, tolerance on the mean over the samples, True when higher is
# better). Recurrent models get the f32 model's recorded state at every step, so these are per-step errors;
# the error that builds up over a stream is what `deepzoom eval denoise --precision int8` measures.
MEASURES = {
    "face_detection": (_face_box_err, "top box error, % of box width", 1.0, False),
    "face_landmark": (_mesh_nme, "mesh NME, % of inter-ocular distance", 0.1, False),
    "iris_landmark": (_iris_err, "iris centre error, % of eye width", 1.0, False),
    "selfie_segmentation": (_mask_iou, "mask IoU against f32", 0.98, True),
    "fsrcnn": (_psnr, "PSNR of int8 against f32, dB", 40.0, True),
    "silero_vad": (_vad_diff, "speech probability difference", 0.05, False),
    "sface": (_embed_dist, "embedding distance (threshold 1.0)", 0.05, False),
    "age_v1": (_age_diff, "apparent age difference, years", 1.0, False),
    "gender_v1": (_first_prob_diff, "p(female) difference", 0.05, False),
    "": (_snr, "output SNR against f32 (worst output), dB", 20.0, True),
}


def measure_of(name: str):
    return next(v for k, v in MEASURES.items() if name.startswith(k))


# ---- timing -----------------------------------------------------------------------------------------------
def _request(xml, precision: str, threads: int, sample):
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32" if precision == "int8" else precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = core().compile_model(str(xml), "CPU", config)
    request = compiled.create_infer_request()
    feeds = {i: np.ascontiguousarray(v, np.float32) for i, v in enumerate(sample)}
    for _ in range(5):
        request.infer(feeds)
    return request, feeds


def _outputs(request, feeds) -> list[np.ndarray]:
    request.infer(feeds)
    return [request.get_output_tensor(i).data.copy() for i in range(len(request.model_outputs))]


def time_precisions(entry, sample, threads: int, rounds: int, per_round: int) -> dict[str, float]:
    """Median ms per inference at each precision whose IR is built, rounds interleaved."""
    requests = {p: _request(entry.variant_xml(p), p, threads, sample) for p in PRECISIONS
                if build_state(entry, p) == "ok"}
    times: dict[str, list[float]] = {p: [] for p in requests}
    order = list(requests)
    for r in range(rounds):
        for p in order[r % len(order):] + order[:r % len(order)]:  # each precision goes first in turn
            request, feeds = requests[p]
            ts = []
            for _ in range(per_round):
                t = time.perf_counter()
                request.infer(feeds)
                ts.append(time.perf_counter() - t)
            times[p].append(statistics.median(ts))
    return {p: round(statistics.median(v) * 1e3, 4) for p, v in times.items()}


def accuracy(entry, samples) -> dict:
    """The int8 model against f32 on held-out inputs: mean of the per-sample measure, and the worst."""
    fn, unit, tol, higher = measure_of(entry.name)
    ref_req = _request(entry.xml, "f32", 0, samples[0])[0]
    got_req = _request(entry.variant_xml("int8"), "int8", 0, samples[0])[0]
    values = []
    for s in samples:
        feeds = {i: np.ascontiguousarray(v, np.float32) for i, v in enumerate(s)}
        values.append(fn(_outputs(ref_req, feeds), _outputs(got_req, feeds)))
    mean, worst = float(np.mean(values)), float(min(values) if higher else max(values))
    return {"measure": unit, "int8_vs_f32": round(mean, 4), "int8_vs_f32_worst": round(worst, 4),
            "tolerance": tol, "within_tolerance": bool(mean >= tol if higher else mean <= tol),
            "samples": len(values)}


def _float_mb(entry) -> float:
    """What the float IR weighs with every real-valued constant in f32 (a .bin may keep a source's f16 weights
    as f16): the reference for `size_ratio`."""
    model = core().read_model(str(entry.xml))
    n = 0
    for op in model.get_ordered_ops():
        if op.get_type_name() == "Constant":
            kind = op.get_output_element_type(0)
            n += int(np.prod(op.get_output_shape(0))) * (4 if kind.is_real() else kind.size)
    return round(n / 1e6, 4)


def run(names: list[str] | None = None, rounds: int = 7, per_round: int = 15, accuracy_samples: int = 60,
        progress=print) -> dict:
    from ..compress import calibration
    from ..compress.build import VIDEO_MODELS

    manifest = load_manifest()
    entries = [manifest.get(n) for n in names] if names else manifest.models
    if missing := [e.name for e in entries if build_state(e) != "ok"]:
        raise DeepZoomError(f"not built: {', '.join(missing)} (run `deepzoom models build`)")
    video = [e for e in entries if e.name.startswith(VIDEO_MODELS)]
    held_out = calibration.record_video("evaluation", accuracy_samples, progress) if video else {}
    if len(video) < len(entries):
        held_out.update(calibration.record_audio("evaluation", accuracy_samples, progress, mixtures=4))
    caps = core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    result = {"cpu": core().get_property("CPU", "FULL_DEVICE_NAME"), "cpu_capabilities": list(caps),
              "bf16_native": "BF16" in caps, "threads_all": os.cpu_count(), "rounds": rounds,
              "per_round": per_round, "load_average_1min": round(os.getloadavg()[0], 2), "models": {}}
    for i, entry in enumerate(entries, 1):
        samples = held_out.get(entry.name)
        if not samples:
            progress(f"[{i}/{len(entries)}] {entry.name}: no held-out inputs recorded, skipped")
            continue
        row: dict = {"precision_chosen": entry.precision, "int8_state": build_state(entry, "int8")}
        for threads, tag in ((1, "1t"), (0, "all")):
            for p, ms in time_precisions(entry, samples[0], threads, rounds, per_round).items():
                row[f"ms_{p}_{tag}"] = ms
        row["ms_shipped"] = row.get(f"ms_{entry.precision}_all")
        row["size_mb_f32"] = _float_mb(entry)
        row["size_mb_shipped"] = round(entry.xml.with_suffix(".bin").stat().st_size / 1e6, 4)
        if row["int8_state"] == "ok":
            row["size_mb_int8"] = round(entry.variant_xml("int8").with_suffix(".bin").stat().st_size / 1e6, 4)
            row["size_ratio"] = round(row["size_mb_f32"] / row["size_mb_int8"], 2)  # an all-f32 IR / int8
            row["size_ratio_vs_shipped"] = round(row["size_mb_shipped"] / row["size_mb_int8"], 2)  # file / file
            row["int8_speedup_1t"] = round(row["ms_f32_1t"] / row["ms_int8_1t"], 3)
            row["int8_speedup_all"] = round(row["ms_f32_all"] / row["ms_int8_all"], 3)
            row["accuracy"] = accuracy(entry, samples)
        row["speedup"] = round(row["ms_f32_all"] / row["ms_shipped"], 3) if row["ms_shipped"] else None
        result["models"][entry.name] = row
        progress(f"[{i}/{len(entries)}] {entry.name}: f32 {row['ms_f32_all']} ms, int8 "
                 f"{row.get('ms_int8_all', '-')} ms, {row.get('size_ratio', '-')}x smaller than f32 "
                 f"({row.get('size_ratio_vs_shipped', '-')}x than the shipped file), "
                 f"{row.get('accuracy', {}).get('int8_vs_f32', '-')} ({measure_of(entry.name)[1]})")
    return result
