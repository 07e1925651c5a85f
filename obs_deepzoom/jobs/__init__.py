"""Offline runners: the effect chain over a video file or a camera (`video`), the demo (`demo`), a portrait
animated by a driver or a voice (`avatar`) and live microphone audio (`audio_live`). The video jobs share one
frame loop and one timing summary (`frames`). Jobs take plain values, never parsed command-line arguments; they
know nothing of the command line or of OBS."""
