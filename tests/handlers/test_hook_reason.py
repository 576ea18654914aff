"""Why a hook failed a CodeDeploy deployment, read from the library's hooks' logs (handlers/hook_reason.py).

The log lines are the ones the hooks write (``lifecycle_hook.log`` / ``migration.log`` of a report), made here by
calling those functions, not copied; botocore's Stubber checks FilterLogEvents' request and response shapes, and the
fixture of tests/handlers/conftest.py authorizes each call against the trigger role's synthesized policies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers import lifecycle_hook, migration
from blue_green_ecs.handlers.deployment import DeploymentHandler
from blue_green_ecs.handlers.hook_reason import MAX_CHARS, explain, failed_reports
from blue_green_ecs.handlers.messages import DeploymentError

from .test_deployment_handler import PROPS, STARTED, event, info, poll_event

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GROUPS = ("/blue-green-ecs/web/migration", "/blue-green-ecs/web/preflight")


def logged(capsys: pytest.CaptureFixture[str], write: Any, *args: Any, **fields: Any) -> str:
    """The line a hook's ``log`` function writes, as CloudWatch Logs stores it (the function's stdout)."""
    capsys.readouterr()
    write(*args, **fields)
    return capsys.readouterr().out.strip()


@pytest.fixture
def logs() -> Iterator[Stubber]:
    client = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_filter(logs: Stubber, group: str, messages: list[str], token: str | None = None, **extra: Any) -> None:
    response: dict[str, Any] = {"events": [{"message": m, "timestamp": 1} for m in messages]}
    if token:
        response["nextToken"] = token
    params = {"logGroupName": group, "filterPattern": '"d-FAILED1"', "startTime": int(CREATED.timestamp() * 1000)}
    logs.add_response("filter_log_events", response, {**params, **extra})


def test_the_failed_report_of_the_deployment_is_its_reason(logs: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    # given the migration's failed report, an earlier passed look, and another deployment's failure in its log
    failed = logged(
        capsys, migration.log, "reported", engine="codedeploy", deployment_id="d-FAILED1", status="Failed",
        reason="Migration task arn:aws:ecs:us-east-1:123456789012:task/shop/1: container web exited 1. Logs: https://x",
    )  # fmt: skip
    started = logged(capsys, migration.log, "started", task_arn="t", started_by="blue-green-ecs-migration-d-FAILED1")
    other = logged(
        capsys, lifecycle_hook.log, "reported", deployment_id="d-FAILED10", status="Failed", reason="not this one"
    )
    expect_filter(logs, GROUPS[0], [started, other, "START RequestId: 1 Version: $LATEST", failed])
    expect_filter(logs, GROUPS[1], [])
    # when
    text = explain(logs.client, GROUPS, {"deploymentId": "d-FAILED1", "createTime": CREATED})
    # then
    assert text == (
        "The hook's reason: Migration task arn:aws:ecs:us-east-1:123456789012:task/shop/1: container web exited 1. "
        "Logs: https://x"
    )


def test_pages_are_followed_and_a_passed_hook_is_no_reason(logs: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    passed = logged(capsys, lifecycle_hook.log, "reported", deployment_id="d-FAILED1", status="Succeeded", reason="ok")
    failed = logged(
        capsys, lifecycle_hook.log, "reported", deployment_id="d-FAILED1", status="Failed", reason="alarm in ALARM"
    )
    expect_filter(logs, GROUPS[1], [passed], token="page-2")
    expect_filter(logs, GROUPS[1], [failed], nextToken="page-2")

    assert failed_reports(logs.client, GROUPS[1], "d-FAILED1", CREATED) == ["alarm in ALARM"]


def test_nothing_to_add_without_log_groups_or_failures(logs: Stubber) -> None:
    assert explain(logs.client, (), {"deploymentId": "d-FAILED1", "createTime": CREATED}) == ""
    expect_filter(logs, GROUPS[0], ["not json", json.dumps(["a", "list"])])
    assert explain(logs.client, GROUPS[:1], {"deploymentId": "d-FAILED1", "createTime": CREATED}) == ""


def test_a_long_reason_is_cut(logs: Stubber, capsys: pytest.CaptureFixture[str]) -> None:
    failed = logged(
        capsys, lifecycle_hook.log, "reported", deployment_id="d-FAILED1", status="Failed", reason="x" * 3000
    )
    expect_filter(logs, GROUPS[0], [failed])
    text = explain(logs.client, GROUPS[:1], {"deploymentId": "d-FAILED1", "createTime": CREATED})
    assert len(text) == MAX_CHARS
    assert text.endswith("...")


def test_the_trigger_reports_the_hooks_reason_with_codedeploys(
    logs: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a trigger whose service has a built-in hook, and a deployment CodeDeploy failed at that hook
    codedeploy = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    failed = logged(
        capsys, migration.log, "reported", engine="codedeploy", deployment_id="d-FAILED1", status="Failed",
        reason="Migration task t: container web exited 2",
    )  # fmt: skip
    error = ("HOOK_EXECUTION_FAILURE", "The BeforeInstall lifecycle event hook failed")
    with Stubber(codedeploy) as stub:
        stub.add_response(
            "get_deployment",
            {"deploymentInfo": info("d-FAILED1", "Failed", created=CREATED, error=error)},
            {"deploymentId": "d-FAILED1"},
        )
        expect_filter(logs, GROUPS[0], [failed])
        handler = DeploymentHandler(codedeploy, object(), logs=logs.client, cloudwatch=object())
        props = {**PROPS, "HookLogGroups": list(GROUPS[:1])}
        started = {**STARTED, "Data": {"DeploymentId": "d-FAILED1"}}
        # when
        with pytest.raises(DeploymentError) as raised:
            handler.is_complete(poll_event(started, event(props=props)))
    # then CodeDeploy's words come first, then the hook's
    assert str(raised.value).startswith("CodeDeploy deployment d-FAILED1 failed (HOOK_EXECUTION_FAILURE)")
    assert str(raised.value).endswith("The hook's reason: Migration task t: container web exited 2")


def test_the_property_must_be_a_list_of_names() -> None:
    from blue_green_ecs.handlers.request import DeploymentRequest

    assert DeploymentRequest.from_properties({**PROPS, "HookLogGroups": ["/a", "/b"]}).hook_log_groups == ("/a", "/b")
    assert DeploymentRequest.from_properties(PROPS).hook_log_groups == ()
    with pytest.raises(ValueError, match="'HookLogGroups' must be a list of non-empty strings"):
        DeploymentRequest.from_properties({**PROPS, "HookLogGroups": "/a"})


def test_a_line_not_yet_delivered_is_waited_for_one_poll_then_the_failure_is_reported(
    logs: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a deployment that ended 5 s ago at a hook whose line CloudWatch Logs does not have yet
    codedeploy = boto3.client("codedeploy", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ended = CREATED + timedelta(minutes=3)
    now = [ended + timedelta(seconds=5)]
    failed = logged(
        capsys, migration.log, "reported", engine="codedeploy", deployment_id="d-FAILED1", status="Failed",
        reason="Migration task t: container web exited 2",
    )  # fmt: skip
    error = ("HOOK_EXECUTION_FAILURE", "The BeforeInstall lifecycle event hook failed")
    described = {**info("d-FAILED1", "Failed", created=CREATED, error=error), "completeTime": ended}
    handler = DeploymentHandler(codedeploy, object(), logs=logs.client, cloudwatch=object(), clock=lambda: now[0])
    props = {**PROPS, "HookLogGroups": list(GROUPS[:1])}
    request = poll_event({**STARTED, "Data": {"DeploymentId": "d-FAILED1"}}, event(props=props))
    with Stubber(codedeploy) as stub:
        for _ in range(3):
            stub.add_response("get_deployment", {"deploymentInfo": described}, {"deploymentId": "d-FAILED1"})
        expect_filter(logs, GROUPS[0], [])
        # when the trigger polls: no line yet, so it polls again instead of failing without the reason
        assert handler.is_complete(request) == {"IsComplete": False}
        # then the next poll, 15 s later, finds the line
        now[0] += timedelta(seconds=15)
        expect_filter(logs, GROUPS[0], [failed])
        with pytest.raises(DeploymentError, match=r"The hook's reason: Migration task t: container web exited 2$"):
            handler.is_complete(request)
        # and past the grace the failure is reported without it
        now[0] += timedelta(seconds=30)
        expect_filter(logs, GROUPS[0], [])
        with pytest.raises(DeploymentError) as raised:
            handler.is_complete(request)
    assert "The hook's reason" not in str(raised.value)
