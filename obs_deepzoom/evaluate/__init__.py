"""Evaluations: `deepzoom eval NAME` prints metrics and, with --json, one JSON object on its last line."""
