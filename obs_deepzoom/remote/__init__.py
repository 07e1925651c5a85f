"""Remote control of OBS over obs-websocket v5: filters, settings, presets, screenshots, virtual camera."""
