"""The CLI tests' clients: boto3 clients of the services the commands call, each behind an active botocore Stubber
(every call's parameters validated against botocore's model), with no answer left unused at the end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber


class Clients(dict[str, Any]):
    """Clients by service name, and their stubs."""

    stubs: dict[str, Stubber]


@pytest.fixture
def clients() -> Iterator[Clients]:
    made = Clients()
    made.stubs = {}
    for name in ("cloudformation", "codedeploy", "ecs", "cloudwatch"):
        made[name] = boto3.client(name, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        made.stubs[name] = Stubber(made[name])
        made.stubs[name].activate()
    yield made
    for stub in made.stubs.values():
        stub.assert_no_pending_responses()
