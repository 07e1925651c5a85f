"""Errors a user can act on. The CLI prints them as one line; nothing else should escape to users."""


class DeepZoomError(Exception):
    """Base class: the message is complete and actionable on its own."""


class InputError(DeepZoomError):
    """A file or camera could not be used (unreadable, wrong type, no face ...)."""


class ModelError(DeepZoomError):
    """A model is missing, corrupt or failed to compile."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"model '{name}' {problem}; rebuild it with: deepzoom models build {name}")
        self.model = name


class SettingsError(DeepZoomError):
    """Invalid settings or preset; the message names the field."""


def last_line(result) -> str:
    """The last line a failed subprocess printed (its own error message), so our error stays one line."""
    lines = (result.stderr or result.stdout or "").strip().splitlines()
    return lines[-1].strip()[-300:] if lines else f"exit status {result.returncode}"
