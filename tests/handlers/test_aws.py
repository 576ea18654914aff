"""The trigger's one retry policy: botocore's standard mode, exercised through botocore's real retry loop.

A ``before-send`` handler answers in place of the network, so every attempt runs botocore's retry
handler (the Stubber answers before it and would hide the retries); only the sleeps are recorded.
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError, EndpointConnectionError

from blue_green_ecs.handlers import aws
from blue_green_ecs.handlers.aws import IAM_PROPAGATION_GRACE, Aws, AwsCallError, Patience, TransientAwsError
from blue_green_ecs.handlers.request import DeploymentRequest

from .fakes import Clock

PROPS = {
    "ApplicationName": "shop-web",
    "DeploymentGroupName": "shop-web-dg",
    "ClusterName": "shop",
    "ServiceName": "web",
    "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:42",
    "ContainerName": "app",
    "ContainerPort": "8080",
    "TimeoutMinutes": "30",
}
LIST = {"applicationName": "shop-web", "deploymentGroupName": "shop-web-dg"}
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass
class Wire:
    """Scripted HTTP answers (status, JSON body) or exceptions, one per attempt; records sleeps."""

    answers: list[tuple[int, dict[str, Any]] | Exception] = field(default_factory=list)
    attempts: int = 0
    sleeps: list[float] = field(default_factory=list)

    def send(self, request: Any, **_: Any) -> AWSResponse:
        self.attempts += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        return AWSResponse(request.url, status, {}, _Body(json.dumps(body).encode()))


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> Wire:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    recorded = Wire()
    # botocore's endpoint sleeps between attempts with time.sleep: record instead of waiting.
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=recorded.sleeps.append))
    return recorded


def _codedeploy(wire: Wire) -> Any:
    client = aws.client("codedeploy")
    client.meta.events.register_first("before-send.*.*", wire.send)
    return client


def _calls(wire: Wire) -> Aws:
    return Aws(_codedeploy(wire), None, DeploymentRequest.from_properties(PROPS))


THROTTLED = (400, {"__type": "ThrottlingException", "message": "Rate exceeded"})


def test_clients_use_botocore_standard_retries_with_short_timeouts(wire: Wire) -> None:
    config = _codedeploy(wire).meta.config

    # botocore stores max_attempts=5 (retries) as 6 attempts in all.
    assert config.retries == {"mode": "standard", "total_max_attempts": 6}
    assert (config.connect_timeout, config.read_timeout) == (5, 20)


@pytest.mark.parametrize(
    "error",
    [
        THROTTLED,
        (400, {"__type": "RequestLimitExceeded", "message": "slow down"}),
        (429, {"__type": "TooManyRequestsException", "message": "slow down"}),
        (500, {"__type": "InternalFailure", "message": "oops"}),
        (503, {}),
        EndpointConnectionError(endpoint_url="https://codedeploy.us-east-1.amazonaws.com/"),
    ],
    ids=["throttling", "request-limit", "429", "500", "503-no-code", "connection"],
)
def test_botocore_retries_throttling_5xx_and_connection_errors_then_succeeds(
    wire: Wire, error: tuple[int, dict[str, Any]] | Exception
) -> None:
    wire.answers = [error, error, (200, {"deployments": ["d-1"]})]

    response = _calls(wire).codedeploy("list_deployments", **LIST)

    assert response["deployments"] == ["d-1"]
    assert wire.attempts == 3
    # Exponential backoff with jitter: at most 1 s, then at most 2 s.
    assert len(wire.sleeps) == 2
    assert 0 <= wire.sleeps[0] <= 1
    assert 0 <= wire.sleeps[1] <= 2


def test_persistent_throttling_is_transient_after_six_attempts_and_nothing_retries_on_top(wire: Wire) -> None:
    wire.answers = [THROTTLED] * 6

    with pytest.raises(TransientAwsError) as excinfo:
        _calls(wire).codedeploy("list_deployments", **LIST)

    assert wire.attempts == 6
    assert len(wire.sleeps) == 5
    assert str(excinfo.value) == (
        "codedeploy:ListDeployments still failing after 6 attempt(s): ThrottlingException: Rate exceeded"
    )


def test_persistent_connection_errors_are_transient(wire: Wire) -> None:
    wire.answers = [EndpointConnectionError(endpoint_url="https://codedeploy.us-east-1.amazonaws.com/")] * 6

    with pytest.raises(TransientAwsError) as excinfo:
        _calls(wire).codedeploy("list_deployments", **LIST)

    assert str(excinfo.value) == (
        "codedeploy:ListDeployments still failing: EndpointConnectionError: Could not connect to the endpoint "
        'URL: "https://codedeploy.us-east-1.amazonaws.com/"'
    )

    assert wire.attempts == 6


def test_non_retryable_error_is_neither_retried_nor_transient(wire: Wire) -> None:
    wire.answers = [
        (
            400,
            {
                "__type": "DeploymentGroupDoesNotExistException",
                "message": "The deployment group shop-web-dg does not exist",
            },
        )
    ]

    with pytest.raises(AwsCallError) as excinfo:
        _calls(wire).codedeploy("list_deployments", **LIST)

    assert wire.attempts == 1
    assert wire.sleeps == []
    assert excinfo.value.code == "DeploymentGroupDoesNotExistException"
    assert str(excinfo.value) == (
        "CodeDeploy deployment group 'shop-web-dg' does not exist in application 'shop-web' "
        "(codedeploy:ListDeployments: The deployment group shop-web-dg does not exist.) Check "
        "DeploymentGroupName and that the group exists in this account and region."
    )


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("RequestLimitExceeded", 400, True),
        ("TooManyRequestsException", 429, True),
        ("", 503, True),
        ("InternalFailure", 500, True),
        ("AccessDeniedException", 400, False),
        ("DeploymentLimitExceededException", 400, False),
    ],
)
def test_is_transient_follows_botocore_standard_conditions(code: str, status: int, transient: bool, wire: Wire) -> None:
    error = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "CreateDeployment"
    )

    assert aws.is_transient(_codedeploy(wire), "create_deployment", error) is transient


# ---- a Create's AccessDenied while IAM shows the role's new policies ------------------------------------------

DENIED = (
    400,
    {
        "__type": "AccessDeniedException",
        "message": "User: arn:aws:sts::123456789012:assumed-role/trigger/fn is not authorized to perform: "
        "codedeploy:ListDeployments because no identity-based policy allows the codedeploy:ListDeployments action",
    },
)


def _patient(clock: Clock, sleeps: list[float]) -> Patience:
    """A Create's patience from ``clock``'s now; each sleep is recorded and moves the clock."""

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += timedelta(seconds=seconds)

    return Patience(clock.now + IAM_PROPAGATION_GRACE, clock, sleep)


def test_a_creates_access_denied_is_called_again_until_iam_shows_the_policy(wire: Wire) -> None:
    # given a Create's calls, denied twice (IAM does not show the role's new policy yet), then allowed
    clock, sleeps = Clock(T0), list[float]()
    wire.answers = [DENIED, DENIED, (200, {"deployments": ["d-1"]})]
    calls = Aws(_codedeploy(wire), None, DeploymentRequest.from_properties(PROPS), _patient(clock, sleeps))

    # when
    response = calls.codedeploy("list_deployments", **LIST)

    # then the third call answers, after 2 and 4 s; botocore itself retried none of them
    assert response["deployments"] == ["d-1"]
    assert (wire.attempts, wire.sleeps, sleeps) == (3, [], [2.0, 4.0])


def test_a_creates_access_denied_fails_once_the_grace_has_passed(wire: Wire) -> None:
    # given a Create's call denied for longer than IAM_PROPAGATION_GRACE
    clock, sleeps = Clock(T0), list[float]()
    wire.answers = [DENIED] * 8
    calls = Aws(_codedeploy(wire), None, DeploymentRequest.from_properties(PROPS), _patient(clock, sleeps))

    # when / then: waits of 2, 4, 8, 16, 30, 30 and 30 s fill the two minutes, then the call fails with the reason
    with pytest.raises(AwsCallError) as excinfo:
        calls.codedeploy("list_deployments", **LIST)
    assert sleeps == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert clock.now - T0 == IAM_PROPAGATION_GRACE
    assert wire.attempts == 8
    assert str(excinfo.value) == (
        "Access denied: the deployment handler's IAM role is not allowed to call codedeploy:ListDeployments "
        "(while calling codedeploy:ListDeployments for CodeDeploy application 'shop-web', deployment group "
        "'shop-web-dg'). Grant codedeploy:ListDeployments to the role. AWS said: User: "
        "arn:aws:sts::123456789012:assumed-role/trigger/fn is not authorized to perform: codedeploy:ListDeployments "
        "because no identity-based policy allows the codedeploy:ListDeployments action. Still denied 2 minutes "
        "after the request arrived, longer than a Create waits for IAM to show the role's new policies."
    )


@pytest.mark.parametrize("request_type", ["Update", "Delete"])
def test_access_denied_outside_a_create_fails_at_once(wire: Wire, request_type: str) -> None:
    # given an Update's or a Delete's calls (no patience), denied
    clock = Clock(T0)
    patience = Patience.of_request({"RequestType": request_type}, T0, clock, lambda _: None)
    wire.answers = [DENIED]

    # when / then: one call, no wait
    with pytest.raises(AwsCallError) as excinfo:
        Aws(_codedeploy(wire), None, DeploymentRequest.from_properties(PROPS), patience).codedeploy(
            "list_deployments", **LIST
        )
    assert (patience, wire.attempts, excinfo.value.code) == (None, 1, "AccessDeniedException")
    assert "Still denied" not in str(excinfo.value)
