"""Model compression: calibration data and INT8 measurements (build time and benchmarks, never OBS)."""
