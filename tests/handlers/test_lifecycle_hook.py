"""The lifecycle hook helper always reports to CodeDeploy, whatever the hook function does."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from blue_green_ecs.handlers.lifecycle_hook import HookFailedError, codedeploy_hook

EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi"}


def expected(status: str) -> dict[str, str]:
    return {
        "deploymentId": "d-NEW",
        "lifecycleEventHookExecutionId": "eyJlbmNyeXB0ZWREYXRhIjoi",
        "status": status,
    }


@pytest.fixture
def client() -> Any:
    return boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(("returned", "status"), [(True, "Succeeded"), (None, "Succeeded"), (False, "Failed")])
def test_return_value_decides_the_status(client: Any, stubber: Stubber, returned: bool | None, status: str) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status", {"lifecycleEventHookExecutionId": "x"}, expected(status)
    )

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool | None:
        return returned

    result = check(EVENT, None)

    assert result["Status"] == status
    assert result["DeploymentId"] == "d-NEW"


def test_exception_is_reported_as_failed_and_logged_not_raised(
    client: Any, stubber: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "x"},
        expected("Failed"),
    )

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        raise RuntimeError("database unreachable")

    assert check(EVENT, None) == {
        "DeploymentId": "d-NEW",
        "Status": "Failed",
        "Reason": "RuntimeError: database unreachable",
    }
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "RuntimeError: database unreachable" in lines[0]["traceback"]
    assert lines[1]["status"] == "Failed"


def test_hook_failed_error_gives_the_reason(client: Any, stubber: Stubber) -> None:
    stubber.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "x"},
        expected("Failed"),
    )

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        raise HookFailedError("2 of 5 requests failed")

    assert check(EVENT, None)["Reason"] == "2 of 5 requests failed"


def test_plain_decorator_uses_the_default_client(monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    from blue_green_ecs.handlers import lifecycle_hook

    monkeypatch.setattr(lifecycle_hook, "_default_client", lambda: client)
    with Stubber(client) as stub:
        stub.add_response(
            "put_lifecycle_event_hook_execution_status",
            {"lifecycleEventHookExecutionId": "x"},
            expected("Succeeded"),
        )

        @codedeploy_hook
        def check(event: Mapping[str, Any], context: Any) -> bool:
            return True

        assert check(EVENT, None)["Status"] == "Succeeded"
        stub.assert_no_pending_responses()


def test_already_reported_hook_is_not_an_error(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "put_lifecycle_event_hook_execution_status",
        "LifecycleEventAlreadyCompletedException",
        "The lifecycle event has already completed",
        expected_params=expected("Succeeded"),
    )

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        return True

    assert check(EVENT, None)["Status"] == "Succeeded"


def test_report_errors_surface(client: Any, stubber: Stubber) -> None:
    stubber.add_client_error(
        "put_lifecycle_event_hook_execution_status",
        "AccessDeniedException",
        "not authorized to perform: codedeploy:PutLifecycleEventHookExecutionStatus",
        expected_params=expected("Succeeded"),
    )

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        return True

    with pytest.raises(ClientError, match="PutLifecycleEventHookExecutionStatus"):
        check(EVENT, None)


def test_event_without_hook_ids_is_rejected_without_calls(client: Any, stubber: Stubber) -> None:
    calls = []

    @codedeploy_hook(client=client)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        calls.append(event)
        return True

    with pytest.raises(ValueError, match="must carry DeploymentId and LifecycleEventHookExecutionId"):
        check({"DeploymentId": "d-NEW"}, None)
    assert calls == []
