"""One OpenVINO Core per process: device choice with CPU fallback, compile cache, precision, infer requests."""

from __future__ import annotations

import logging
import threading
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


def compile_model(name: str, device: str = "AUTO", threads: int = 0):
    """Compile the built IR of manifest model `name`. Raises ModelError naming the rebuild command."""
    entry = load_manifest().get(name)
    state = build_state(entry)
    if state != "ok":
        raise ModelError(name, f"is {state} ({entry.xml})" if state != "missing" else f"is not built ({entry.xml})")
    dev = resolve_device(device)
    config = {"PERFORMANCE_HINT": "LATENCY"}
    if dev in ("CPU", "AUTO"):
        config["INFERENCE_PRECISION_HINT"] = entry.precision
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
    with _lock:
        try:
            cfg = config if dev == "CPU" else {"PERFORMANCE_HINT": "LATENCY"}
            return core().compile_model(str(entry.xml), dev, cfg)
        except Exception as exc:
            if dev != "CPU":
                log.warning("compiling %s on %s failed (%s); using CPU", name, dev, str(exc).splitlines()[0])
                return compile_model(name, "CPU", threads)
            raise ModelError(name, f"failed to compile ({str(exc).splitlines()[0][:200]})") from exc


class Infer:
    """One infer request of a compiled model whose inputs are bound once to numpy buffers (`inputs`):
    fill them in place and call `run()`, or `start()` + `wait()` to overlap other work with inference.
    An input with a dynamic shape has no bound buffer (`inputs[i] is None`): pass its value to `run()`."""

    def __init__(self, name: str, device: str = "AUTO", threads: int = 0):
        import openvino as ov

        self.name = name
        self.compiled = compile_model(name, device, threads)
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
