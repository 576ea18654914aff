"""The command's error types."""

from __future__ import annotations


class ExportError(Exception):
    """A failure the command reports as one clear message (exit code 1)."""


class CliError(ExportError):
    """A message for the user and the exit code that goes with it (1 unless given)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
