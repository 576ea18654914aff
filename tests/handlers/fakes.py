"""Test doubles the handler tests share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class Clock:
    """A clock the test sets: ``clock.now = ...``."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now
