"""Everything that drives OBS from outside its process: installing our script into OBS (setup, config files),
remote control over obs-websocket v5 (filters, settings, presets, screenshots, virtual camera), and a headless
OBS under Xvfb for tests and benchmarks."""
