"""The command's one error type."""

from __future__ import annotations


class ExportError(Exception):
    """A failure the command reports as one clear message (exit code 1)."""
