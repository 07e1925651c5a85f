"""One OpenVINO Core per process: device choice with CPU fallback, compile cache, precision, infer requests."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from .. import paths
from ..errors import ModelError
from ..modelstore.build import build_state
from ..modelstore.manifest import load_manifest

log = logging.getLogger("obs_deepzoom.runtime")

DEVICES = ("AUTO", "CPU", "GPU", "NPU")
_lock = threading.Lock()
_fallbacks_logged: set[str] = set()
_recording: _Recorder | None = None  # collects model inputs while `recording()` is active
_scope = threading.local()  # .precision: what "auto" means for Infer requests made inside default_precision()


@lru_cache(maxsize=1)
def core():
    """The process-wide OpenVINO Core, with the compile cache so a second start compiles from cache."""
    import openvino as ov

    c = ov.Core()
    cache = paths.compile_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    c.set_property({"CACHE_DIR": str(cache)})
    return c


def available_devices() -> list[str]:
    return list(core().available_devices)


def resolve_device(requested: str) -> str:
    """Map a user choice to a device OpenVINO has; fall back to CPU with one log line per choice."""
    requested = requested.upper()
    have = available_devices()
    if requested == "AUTO":
        return "AUTO" if len(have) > 1 else "CPU"
    if any(d == requested or d.startswith(requested + ".") for d in have):
        return requested
    if requested not in _fallbacks_logged:
        _fallbacks_logged.add(requested)
        log.warning("device %s is not available here (have: %s); using CPU", requested, ", ".join(have))
    return "CPU"


@contextmanager
def default_precision(precision: str):
    """Models compiled in this block (this thread) with precision 'auto' use `precision` instead: for
    effects that build several networks through factories that do not take a precision."""
    before = getattr(_scope, "precision", "auto")
    _scope.precision = scoped(precision)  # 'auto' inside an outer block keeps the outer choice
    try:
        yield
    finally:
        _scope.precision = before


def scoped(precision: str) -> str:
    """`precision`, or for 'auto' the one a default_precision() block of this thread sets."""
    return getattr(_scope, "precision", "auto") if precision == "auto" else precision


def resolve_precision(name: str, requested: str = "auto") -> str:
    """The precision model `name` runs at: the manifest's choice for 'auto', else `requested`; int8 falls
    back to f32 (one log line) when its IR is not built or not offered for this model."""
    entry = load_manifest().get(name)
    precision = entry.precision if requested == "auto" else requested
    if precision == "int8":
        try:
            state = build_state(entry, "int8")
        except OSError as exc:  # a file vanished or is unreadable between the checks
            state = f"unreadable ({exc})"
        if state != "ok":
            _int8_fallback(name, f"is {state} (build it with `deepzoom models build --precision int8`)")
            precision = "f32"
    return precision


def _int8_fallback(name: str, why: str) -> None:
    if f"{name}:int8" not in _fallbacks_logged:
        _fallbacks_logged.add(f"{name}:int8")
        log.warning("int8 IR of %s %s; using f32", name, why)


def compile_model(name: str, device: str = "AUTO", threads: int = 0, precision: str = "auto"):
    """Compile the built IR of manifest model `name` at `precision` (auto, f32, bf16, int8: see
    resolve_precision). Raises ModelError naming the rebuild command."""
    entry = load_manifest().get(name)
    state = build_state(entry)
    if state != "ok":
        raise ModelError(name, f"is {state} ({entry.xml})" if state != "missing" else f"is not built ({entry.xml})")
    precision = resolve_precision(name, scoped(precision))
    dev = resolve_device(device)
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if dev in ("CPU", "AUTO"):
        config["INFERENCE_PRECISION_HINT"] = "f32" if precision == "int8" else precision
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
    try:
        with _lock:
            cfg = config if dev == "CPU" else {"PERFORMANCE_HINT": "LATENCY"}
            return core().compile_model(str(entry.variant_xml(precision)), dev, cfg)
    except Exception as exc:  # the fallbacks compile again: outside the (non-reentrant) lock
        first_line = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        if dev != "CPU":
            log.warning("compiling %s on %s failed (%s); using CPU", name, dev, first_line)
            return compile_model(name, "CPU", threads, precision)
        if precision == "int8":  # the float IR is known good: never lose the effect to its int8 twin
            _int8_fallback(name, f"failed to compile ({first_line})")
            return compile_model(name, "CPU", threads, "f32")
        raise ModelError(name, f"failed to compile ({first_line})") from exc


class _Recorder:
    """Per model, a uniform sample (reservoir, seeded: reproducible) of at most `limit` input tuples."""

    def __init__(self, limit: int):
        self.limit, self.samples, self.seen = limit, {}, {}
        self._rng = np.random.default_rng(0)

    def add(self, name: str, values) -> None:
        kept, n = self.samples.setdefault(name, []), self.seen.get(name, 0)
        self.seen[name] = n + 1
        slot = n if n < self.limit else int(self._rng.integers(0, n + 1))
        if slot >= self.limit:
            return
        copy = tuple(np.array(v, np.float32) for v in values)
        if slot == len(kept):
            kept.append(copy)
        else:
            kept[slot] = copy


@contextmanager
def recording(limit: int = 1000):
    """Collect copies of every model's inputs while the block runs (calibration data for int8 builds):
    yields {model name: [tuple of input arrays per inference]}, at most `limit` per model (a uniform sample
    of all the inferences). Not thread-safe; for offline tools only."""
    global _recording
    _recording = _Recorder(limit)
    try:
        yield _recording.samples
    finally:
        _recording = None


class Infer:
    """One infer request of a compiled model whose inputs are bound once to numpy buffers (`inputs`):
    fill them in place and call `run()`, or `start()` + `wait()` to overlap other work with inference.
    An input with a dynamic shape has no bound buffer (`inputs[i] is None`): pass its value to `run()`."""

    def __init__(self, name: str, device: str = "AUTO", threads: int = 0, precision: str = "auto"):
        import openvino as ov

        self.name = name
        self.compiled = compile_model(name, device, threads, precision)
        self.request = self.compiled.create_infer_request()
        self.inputs = []
        self._dynamic: dict[int, np.ndarray] = {}  # last values given for dynamic inputs
        for i, port in enumerate(self.compiled.inputs):
            buf = None
            if port.get_partial_shape().is_static:
                buf = np.zeros(tuple(port.get_shape()), np.float32)
                self.request.set_input_tensor(i, ov.Tensor(buf, shared_memory=True))
            self.inputs.append(buf)
        self._n_out = len(self.compiled.outputs)

    def _fill(self, values: tuple[np.ndarray, ...]) -> None:
        import openvino as ov

        for i, (buf, value) in enumerate(zip(self.inputs, values)):
            if buf is None:  # dynamic shape: share the caller's array (kept alive here until the next call)
                self._dynamic[i] = np.ascontiguousarray(value, np.float32)
                self.request.set_input_tensor(i, ov.Tensor(self._dynamic[i], shared_memory=True))
            elif value is not buf:
                np.copyto(buf, value, casting="same_kind")
        if _recording is not None:
            _recording.add(self.name, self.values)

    @property
    def values(self) -> list[np.ndarray]:
        """The inputs of the last inference: bound buffers, or the values given for dynamic inputs."""
        return [self._dynamic.get(i, buf) for i, buf in enumerate(self.inputs)]

    def run(self, *values: np.ndarray) -> list[np.ndarray]:
        """Infer synchronously; values (optional) are copied into the bound inputs first."""
        self._fill(values)
        self.request.infer()
        return self._results()

    def start(self, *values: np.ndarray) -> None:
        self._fill(values)
        self.request.start_async()

    def wait(self) -> list[np.ndarray]:
        self.request.wait()
        return self._results()

    def _results(self) -> list[np.ndarray]:
        """Views of the output tensors: valid until the next inference; copy what you keep."""
        return [self.request.get_output_tensor(i).data for i in range(self._n_out)]
