"""Test doubles the handler tests share."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from blue_green_ecs.handlers import lifecycle_hook


@dataclass
class Clock:
    """A clock the test sets: ``clock.now = ...``."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def no_codedeploy_calls(client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``client``, failing the test on any CodeDeploy call through it and on creating a default client."""
    attempted: list[str] = []

    def no_default_client() -> Any:
        attempted.append("default client created")
        raise AssertionError("a CodeDeploy client was created")

    def record(event_name: str, **kwargs: Any) -> None:
        attempted.append(event_name)

    monkeypatch.setattr(lifecycle_hook, "_default_client", no_default_client)
    # Emitted before a Stubber's own check, so even a call whose error the code swallowed is seen.
    client.meta.events.register("provide-client-params.*.*", record)
    yield client
    assert attempted == []
