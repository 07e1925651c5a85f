"""obs-deepzoom: AI video-call effects (OpenVINO on CPU/iGPU/NPU) for OBS Studio and the command line."""

__version__ = "0.1.0"
