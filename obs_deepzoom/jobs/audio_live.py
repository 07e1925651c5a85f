"""Live microphone -> effect -> speaker/virtual sink through PyAudio (PortAudio), and the device list.
PyAudio is optional (`pip install -e '.[audio]'`, needs PortAudio: apt-get install portaudio19-dev)."""

from __future__ import annotations

import time

import numpy as np

from ..engine.audio.stream import OBS_BLOCK
from ..errors import InputError


def _pyaudio():
    try:
        import pyaudio
    except ImportError as exc:
        raise InputError("live audio needs PyAudio: pip install -e '.[audio]' (PortAudio first: "
                         "sudo apt-get install portaudio19-dev)") from exc
    return pyaudio


def devices() -> list[dict]:
    pa = _pyaudio().PyAudio()
    try:
        return [{"index": i, "name": d["name"], "inputs": int(d["maxInputChannels"]),
                 "outputs": int(d["maxOutputChannels"]), "rate": int(d["defaultSampleRate"])}
                for i in range(pa.get_device_count()) for d in [pa.get_device_info_by_index(i)]]
    finally:
        pa.terminate()


def run_live(make_effect, input_device: int | None, output_device: int | None, rate: int = 48000,
             seconds: float = 0.0, progress=print) -> dict:
    """Mono capture -> effect(rate, 1 channel) -> mono playback in 1024-frame blocks until Ctrl+C."""
    pyaudio = _pyaudio()
    pa = pyaudio.PyAudio()
    try:
        effect = make_effect(rate, 1)
        kw = {"format": pyaudio.paFloat32, "channels": 1, "rate": rate, "frames_per_buffer": OBS_BLOCK}
        try:
            mic = pa.open(input=True, input_device_index=input_device, **kw)
            out = pa.open(output=True, output_device_index=output_device, **kw)
        except Exception as exc:
            raise InputError(f"cannot open the audio device ({exc}); list them with: deepzoom devices") from exc
        progress(f"live: {effect.name} at {rate} Hz, added latency {effect.latency_ms:.1f} ms; Ctrl+C stops")
        t0, blocks, ms = time.monotonic(), 0, []
        try:
            while not seconds or time.monotonic() - t0 < seconds:
                x = np.frombuffer(mic.read(OBS_BLOCK, exception_on_overflow=False), np.float32)[None]
                t = time.perf_counter()
                y = effect.process(x)
                ms.append((time.perf_counter() - t) * 1e3)
                out.write(np.ascontiguousarray(y[0], np.float32).tobytes())
                blocks += 1
        except KeyboardInterrupt:
            pass
        finally:
            mic.close()
            out.close()
        return {"blocks": blocks, "ms_median": round(float(np.median(ms)), 3) if ms else 0.0,
                "latency_ms": round(effect.latency_ms, 2)}
    finally:
        pa.terminate()
