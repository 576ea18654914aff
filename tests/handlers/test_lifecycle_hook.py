"""The lifecycle hook helper always reports to CodeDeploy, whatever the hook function does.

Under Amazon ECS it returns the hook status instead and makes no AWS call at all.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator, Mapping
from typing import Any, cast

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from blue_green_ecs.functions.lambda_code import BUNDLES, inline_code_for
from blue_green_ecs.handlers import lifecycle_hook
from blue_green_ecs.handlers.lifecycle_hook import HookFailedError, codedeploy_hook

from .fakes import no_codedeploy_calls

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


# --- Amazon ECS native blue/green deployments: the return value is the report ---

SERVICE_ARN = "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service"
GREEN_ARN = "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900"
ECS_EVENT: dict[str, Any] = {
    "executionId": "3a0345ba-b029-404b-890d-7da2a4b266aa",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/EZe5RNVLH6PPzHXINuP28",
    "executionDetails": {
        "serviceArn": SERVICE_ARN,
        "targetServiceRevisionArn": GREEN_ARN,
        "testTrafficWeights": {},
        "productionTrafficWeights": {},
    },
}


@pytest.fixture
def no_codedeploy(monkeypatch: pytest.MonkeyPatch, client: Any) -> Iterator[Any]:
    """A CodeDeploy client with nothing stubbed, and no default client: any CodeDeploy call fails the test."""
    with no_codedeploy_calls(client, monkeypatch), Stubber(client) as stub:
        yield client
        stub.assert_no_pending_responses()


def reported(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(("returned", "status"), [(True, "SUCCEEDED"), (None, "SUCCEEDED"), (False, "FAILED")])
@pytest.mark.parametrize("with_client", [True, False])
def test_ecs_return_value_decides_the_hook_status(
    no_codedeploy: Any, capsys: pytest.CaptureFixture[str], returned: bool | None, status: str, with_client: bool
) -> None:
    def check(event: Mapping[str, Any], context: Any) -> bool | None:
        return returned

    hook = codedeploy_hook(client=no_codedeploy)(check) if with_client else codedeploy_hook(check)

    assert hook(ECS_EVENT, None) == {"hookStatus": status}
    [line] = reported(capsys)
    assert line == {
        "logger": "blue_green_ecs.lifecycle_hook",
        "action": "reported",
        "engine": "ecs",
        "execution_id": "3a0345ba-b029-404b-890d-7da2a4b266aa",
        "lifecycle_stage": "POST_TEST_TRAFFIC_SHIFT",
        "service_arn": SERVICE_ARN,
        "target_service_revision_arn": GREEN_ARN,
        "hook": "check",
        "status": status,
        "reason": "hook passed" if status == "SUCCEEDED" else "hook returned False",
    }


def test_ecs_exception_returns_failed_and_is_logged_not_raised(
    no_codedeploy: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    @codedeploy_hook(client=no_codedeploy)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        raise RuntimeError("database unreachable")

    assert check(ECS_EVENT, None) == {"hookStatus": "FAILED"}
    error, result = reported(capsys)
    assert error["action"] == "hook-error"
    assert error["lifecycle_stage"] == "POST_TEST_TRAFFIC_SHIFT"
    assert "RuntimeError: database unreachable" in error["traceback"]
    assert (result["status"], result["reason"]) == ("FAILED", "RuntimeError: database unreachable")


def test_ecs_hook_failed_error_logs_the_reason_without_traceback(
    no_codedeploy: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    @codedeploy_hook(client=no_codedeploy)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        raise HookFailedError("2 of 5 requests failed")

    assert check(ECS_EVENT, None) == {"hookStatus": "FAILED"}
    [line] = reported(capsys)
    assert (line["status"], line["reason"]) == ("FAILED", "2 of 5 requests failed")


@pytest.mark.parametrize(
    "stage",
    [
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "POST_TEST_TRAFFIC_SHIFT",
        "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "POST_PRODUCTION_TRAFFIC_SHIFT",
    ],
)
def test_ecs_hook_function_sees_the_event_as_given(no_codedeploy: Any, stage: str) -> None:
    # A re-invocation after IN_PROGRESS also carries the hookDetails returned before.
    event = {**ECS_EVENT, "lifecycleStage": stage, "hookDetails": {"attempt": 2}}
    seen: list[Mapping[str, Any]] = []

    @codedeploy_hook(client=no_codedeploy)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        seen.append(event)
        return True

    assert check(event, "context") == {"hookStatus": "SUCCEEDED"}
    assert seen == [event]


@pytest.mark.parametrize(
    "event",
    [
        {"executionDetails": {}},
        # The stage nested in executionDetails, the other top-level fields left out.
        {"executionDetails": {"lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "serviceArn": SERVICE_ARN}},
        {"executionDetails": None},
    ],
)
def test_ecs_event_needs_only_execution_details(
    no_codedeploy: Any, capsys: pytest.CaptureFixture[str], event: dict[str, Any]
) -> None:
    @codedeploy_hook
    def check(event: Mapping[str, Any], context: Any) -> bool:
        return False

    assert check(event, None) == {"hookStatus": "FAILED"}
    [line] = reported(capsys)
    assert line["engine"] == "ecs"
    assert line["status"] == "FAILED"


@pytest.mark.parametrize(
    ("event", "got"),
    [
        ({}, "keys []"),
        (
            {"executionId": "x", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "resourceArn": "arn"},
            "keys ['executionId', 'lifecycleStage', 'resourceArn']",
        ),
        ({"detail-type": "ECS Deployment State Change"}, "keys ['detail-type']"),
        ({"LifecycleEventHookExecutionId": "x"}, "keys ['LifecycleEventHookExecutionId']"),
        (["DeploymentId"], "a list"),
    ],
)
def test_unknown_event_shape_is_rejected_without_calls(
    no_codedeploy: Any, capsys: pytest.CaptureFixture[str], event: Any, got: str
) -> None:
    calls = []

    @codedeploy_hook(client=no_codedeploy)
    def check(event: Mapping[str, Any], context: Any) -> bool:
        calls.append(event)
        return True

    with pytest.raises(ValueError, match=r"must carry DeploymentId and LifecycleEventHookExecutionId") as raised:
        check(cast(Mapping[str, Any], event), None)

    assert str(raised.value) == (
        "This function is a deployment lifecycle hook: its event must carry DeploymentId and "
        "LifecycleEventHookExecutionId when CodeDeploy invokes it, or executionDetails when Amazon ECS does "
        f"(got {got})"
    )
    assert calls == []
    assert reported(capsys) == [{"logger": "blue_green_ecs.lifecycle_hook", "action": "unexpected-event", "got": got}]


HOOK_BUNDLES = sorted(main for main, helpers in BUNDLES.items() if helpers == ("lifecycle_hook",))


def test_the_built_in_hooks_are_bundled_with_the_helper() -> None:
    assert HOOK_BUNDLES == ["migration", "preflight", "smoke_test", "step_analysis", "test_traffic_router"]


@pytest.mark.parametrize("main", HOOK_BUNDLES)
def test_each_hooks_inline_bundle_loads_the_helper_and_defines_the_handler(
    monkeypatch: pytest.MonkeyPatch, main: str
) -> None:
    """``export --standalone`` writes a hook's bundle as one index.py: it must import as Lambda imports it."""
    module = types.ModuleType("index")
    monkeypatch.setitem(sys.modules, "index", module)
    monkeypatch.delitem(sys.modules, "lifecycle_hook", raising=False)
    code = inline_code_for(f"{main}.handler")
    assert code is not None
    exec(compile(code, "index.py", "exec", dont_inherit=True), module.__dict__)
    assert sys.modules["lifecycle_hook"].__name__ == "lifecycle_hook"
    # The handler is the helper's wrapper, which answers CodeDeploy or ECS; the migration dispatches on the event
    # itself (CodeDeploy's report after a hand-over, ECS's IN_PROGRESS) with the helper's client and report.
    assert callable(module.handler)
    if main == "migration":
        assert module.handler.__qualname__ == "make_handler.<locals>.handler"
    else:
        assert callable(module.handler.__wrapped__)
