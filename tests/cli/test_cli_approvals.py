"""approve and reject on both engines, and the approval in status and watch, against botocore's Stubber.

Whom these tests trust: the calls' and answers' shapes to botocore's models (Stubber validates every parameter
and answer against them, so a ContinueServiceDeployment without hookId or with an action ECS does not take fails
here); that a deployment waiting at a PAUSE hook is IN_PROGRESS with the hook AWAITING_ACTION, and that
ContinueServiceDeployment answers it, to the ECS Developer Guide ("Continuing Amazon ECS service deployments");
that CodeDeploy's approval is status Ready, and StopDeployment its one way back, to the CodeDeploy API Reference.
The hook ids, stages and times are the tests' own. moto implements none of ContinueServiceDeployment,
ListServiceDeployments, DescribeServiceDeployments, ContinueDeployment and StopDeployment (moto 5.2.5's ecs and
codedeploy responses.py), so only the CodeDeploy refusals run against moto too (test_cli_moto.py).
"""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from blue_green_ecs.cli import deployments, next_step
from blue_green_ecs.cli.deployments import ECS_ACTIVE, NOTHING_TO_DO, CliError, Target

from .conftest import Clients

ECS_DEPLOYMENT = "arn:aws:ecs:us-east-1:111111111111:service-deployment/shop-cluster/shop-web/dep1"
CODEDEPLOY = Target("codedeploy", cluster="shop-cluster", service="shop-web", application="shop-app", group="web-dg")
ECS = Target("ecs", cluster="shop-cluster", service="shop-web")
GROUP = {"applicationName": "shop-app", "deploymentGroupName": "web-dg"}
T = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
PAUSE = {
    "hookId": "ecs-pause-1",
    "targetType": "PAUSE",
    "status": "AWAITING_ACTION",
    "expiresAt": T + timedelta(minutes=30),
    "timeoutAction": "ROLLBACK",
}
SMOKE_TEST = {
    "hookId": "ecs-hook-2",
    "targetType": "AWS_LAMBDA",
    "targetArn": "arn:aws:lambda:us-east-1:111111111111:function:smoke-test",
    "status": "SUCCEEDED",
}
WAITING = {"status": "IN_PROGRESS", "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT", "updatedAt": T}


def _in_flight(clients: Clients, deployment: dict[str, Any] | None) -> None:
    """ECS's service deployment in flight (``None``: none), as ListServiceDeployments and Describe... answer."""
    stub = clients.stubs["ecs"]
    listed = [{"serviceDeploymentArn": ECS_DEPLOYMENT, "status": deployment["status"]}] if deployment else []
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": listed},
        {"cluster": "shop-cluster", "service": "shop-web", "status": ECS_ACTIVE},
    )
    if deployment is not None:
        _described(clients, deployment)


def _described(clients: Clients, deployment: dict[str, Any]) -> None:
    clients.stubs["ecs"].add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **deployment}]},
        {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
    )


def _continued(clients: Clients, action: str) -> None:
    clients.stubs["ecs"].add_response(
        "continue_service_deployment",
        {"serviceDeploymentArn": ECS_DEPLOYMENT},
        {"serviceDeploymentArn": ECS_DEPLOYMENT, "hookId": "ecs-pause-1", "action": action},
    )


def _codedeploy(clients: Clients, status: str | None, **info: Any) -> None:
    stub = clients.stubs["codedeploy"]
    stub.add_response(
        "list_deployments",
        {"deployments": ["d-1"] if status else []},
        {**GROUP, "includeOnlyStatuses": deployments.ACTIVE},
    )
    if status:
        stub.add_response(
            "get_deployment",
            {"deploymentInfo": {"deploymentId": "d-1", "status": status, **info}},
            {"deploymentId": "d-1"},
        )


# ECS-native: ContinueServiceDeployment on the PAUSE hook awaiting action.


def test_ecs_native_approve_continues_the_pause_hook_awaiting_action(clients: Clients) -> None:
    # given: the deployment paused after its test traffic, its smoke test passed, the approval awaiting action
    _in_flight(clients, {**WAITING, "lifecycleHookDetails": [SMOKE_TEST, PAUSE]})
    _continued(clients, "CONTINUE")
    # when / then: the pause hook is continued (Stubber checks the ARN, the hook id and the action)
    assert deployments.approve(clients, ECS) == (
        "approved deployment dep1 (hook ecs-pause-1): it continues to its next lifecycle stage"
    )


def test_ecs_native_reject_rolls_back_at_the_pause_hook(clients: Clients) -> None:
    _in_flight(clients, {**WAITING, "lifecycleHookDetails": [PAUSE]})
    _continued(clients, "ROLLBACK")
    assert deployments.reject(clients, ECS) == (
        "rejected deployment dep1 (hook ecs-pause-1): ECS rolls it back to the previous revision"
    )


@pytest.mark.parametrize(
    ("deployment", "state"),
    [
        (None, "no deployment in progress"),
        (
            {
                "status": "IN_PROGRESS",
                "lifecycleStage": "BAKE_TIME",
                "lifecycleHookDetails": [{**PAUSE, "status": "SUCCEEDED"}],
            },
            "deployment dep1 is IN_PROGRESS (stage BAKE_TIME), its pause hook ecs-pause-1 SUCCEEDED",
        ),
        (
            {
                "status": "IN_PROGRESS",
                "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
                "lifecycleHookDetails": [SMOKE_TEST],
            },
            "deployment dep1 is IN_PROGRESS (stage PRODUCTION_TRAFFIC_SHIFT), with no pause hook awaiting action",
        ),
        (
            {"status": "PENDING"},
            "deployment dep1 is PENDING, with no pause hook awaiting action",
        ),
    ],
    ids=["none-in-flight", "approval-answered", "no-pause-hook", "pending"],
)
def test_ecs_native_approve_with_nothing_awaiting_says_what_state_it_is_in(
    clients: Clients, deployment: dict[str, Any] | None, state: str
) -> None:
    # given: nothing awaits an answer / when approved: exit code 2, the state, and no ContinueServiceDeployment
    _in_flight(clients, deployment)
    with pytest.raises(CliError) as refused:
        deployments.approve(clients, ECS)
    assert (str(refused.value), refused.value.exit_code) == (
        f"Nothing to approve: {state}; approve continues a deployment IN_PROGRESS whose pause hook is AWAITING_ACTION.",
        NOTHING_TO_DO,
    )


@pytest.mark.parametrize(
    ("deployment", "refusal"),
    [
        (
            {"status": "IN_PROGRESS", "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT"},
            "Nothing to reject: deployment dep1 is IN_PROGRESS (stage PRODUCTION_TRAFFIC_SHIFT), with no pause hook "
            "awaiting action; reject rolls back a deployment IN_PROGRESS whose pause hook is AWAITING_ACTION; to stop "
            "it, use blue-green-ecs rollback.",
        ),
        (
            # ECS continues only a deployment IN_PROGRESS (Developer Guide), whatever its hook's status says
            {
                "status": "ROLLBACK_IN_PROGRESS",
                "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
                "lifecycleHookDetails": [PAUSE],
            },
            "Nothing to reject: deployment dep1 is ROLLBACK_IN_PROGRESS (stage POST_TEST_TRAFFIC_SHIFT), its pause hook "
            "ecs-pause-1 awaiting action; reject rolls back a deployment IN_PROGRESS whose pause hook is "
            "AWAITING_ACTION.",
        ),
    ],
    ids=["not-waiting", "rolling-back"],
)
def test_ecs_native_reject_with_nothing_awaiting_points_at_rollback_unless_it_rolls_back(
    clients: Clients, deployment: dict[str, Any], refusal: str
) -> None:
    _in_flight(clients, deployment)
    with pytest.raises(CliError) as refused:
        deployments.reject(clients, ECS)
    assert (str(refused.value), refused.value.exit_code) == (refusal, NOTHING_TO_DO)


# CodeDeploy: a deployment in status Ready.


def test_codedeploy_reject_stops_the_deployment_waiting_for_approval_with_rollback(clients: Clients) -> None:
    _codedeploy(clients, "Ready")
    clients.stubs["codedeploy"].add_response(
        "stop_deployment", {"status": "Pending"}, {"deploymentId": "d-1", "autoRollbackEnabled": True}
    )
    assert (
        deployments.reject(clients, CODEDEPLOY)
        == "rejected deployment d-1: stopped with rollback to the previous task set"
    )


@pytest.mark.parametrize(
    ("status", "info", "state", "hint"),
    [
        (None, {}, "no deployment in progress", ""),
        ("InProgress", {}, "deployment d-1 is InProgress", "; to stop it, use blue-green-ecs rollback"),
        (
            "InProgress",
            {"rollbackInfo": {"rollbackTriggeringDeploymentId": "d-0"}},
            "deployment d-1 is InProgress (rollback of deployment d-0)",
            "",
        ),
    ],
    ids=["none-in-flight", "shifting", "a-rollback"],
)
def test_codedeploy_reject_of_a_deployment_not_waiting_is_refused(
    clients: Clients, status: str | None, info: dict[str, Any], state: str, hint: str
) -> None:
    _codedeploy(clients, status, **info)
    with pytest.raises(CliError) as refused:
        deployments.reject(clients, CODEDEPLOY)
    assert (str(refused.value), refused.value.exit_code) == (
        f"Nothing to reject: {state}; reject stops a deployment in status Ready{hint}.",
        NOTHING_TO_DO,
    )


def _args(command: str) -> argparse.Namespace:
    return argparse.Namespace(
        command=command, stack="", path="", cluster="shop-cluster", service="shop-web", assembly=None, no_assembly=True
    )


def test_the_reject_command_prints_what_it_did_and_exits_0(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _in_flight(clients, {**WAITING, "lifecycleHookDetails": [PAUSE]})
    _continued(clients, "ROLLBACK")
    assert deployments.run(_args("reject"), clients) == 0
    assert capsys.readouterr().out == (
        "rejected deployment dep1 (hook ecs-pause-1): ECS rolls it back to the previous revision\n"
    )


def test_the_approve_command_with_nothing_awaiting_exits_2_with_the_state(
    clients: Clients, capsys: pytest.CaptureFixture[str]
) -> None:
    _in_flight(clients, None)
    assert deployments.run(_args("approve"), clients) == NOTHING_TO_DO
    assert capsys.readouterr().err == (
        "blue-green-ecs: Nothing to approve: no deployment in progress; approve continues a deployment IN_PROGRESS "
        "whose pause hook is AWAITING_ACTION.\n"
    )


# status and watch: the approval's line.


def test_ecs_native_status_shows_the_approval_the_commands_and_the_time_left(clients: Clients) -> None:
    # given: the approval awaiting action until T + 30 min, seen at T + 12 min
    _in_flight(clients, {**WAITING, "lifecycleHookDetails": [SMOKE_TEST, PAUSE]})
    lines, _ = deployments.status(clients, ECS, now=lambda: T + timedelta(minutes=12))
    # then: one line for it (not the generic hook line), with its deadline and what ECS does then
    assert lines == [
        "deployment dep1: IN_PROGRESS",
        "  stage: POST_TEST_TRAFFIC_SHIFT",
        "  waiting for approval: blue-green-ecs approve (or reject) within 18m00s, until 2025-01-01 12:30:00 UTC "
        "(then rollback)",
    ]


def test_the_approval_line_reads_the_deadline_in_utc_and_its_timeout_action() -> None:
    # botocore parses timestamps into the local zone; the line shows UTC whatever the zone
    hook = {**PAUSE, "expiresAt": T.astimezone(timezone(timedelta(hours=2))), "timeoutAction": "CONTINUE"}
    assert next_step.approval_line(hook, T + timedelta(seconds=1)) == (
        "  waiting for approval: blue-green-ecs approve (or reject) within 0s, until 2025-01-01 12:00:00 UTC (then continue)"
    )
    assert next_step.approval_line({"hookId": "h", "targetType": "PAUSE"}, T) == (
        "  waiting for approval: blue-green-ecs approve (or reject)"
    )


def test_ecs_native_watch_prints_the_approval_once_then_follows_the_deployment_to_its_end(clients: Clients) -> None:
    # given: the same approval seen twice, a minute apart, then (approved) the deployment SUCCESSFUL
    waiting = {**WAITING, "lifecycleHookDetails": [PAUSE]}
    _in_flight(clients, waiting)
    _described(clients, waiting)
    _described(clients, {"status": "SUCCESSFUL", "lifecycleHookDetails": [{**PAUSE, "status": "SUCCEEDED"}]})
    times = iter([T, T + timedelta(minutes=1), T + timedelta(minutes=2)])
    out = io.StringIO()
    # when / then: the countdown alone is no change; the approval is printed with the time left when first seen
    assert deployments.watch(clients, ECS, out=out, sleep=lambda _: None, now=lambda: next(times)) == 0
    assert out.getvalue() == (
        "deployment dep1: IN_PROGRESS\n"
        "  stage: POST_TEST_TRAFFIC_SHIFT\n"
        "  waiting for approval: blue-green-ecs approve (or reject) within 30m00s, until 2025-01-01 12:30:00 UTC "
        "(then rollback)\n"
        "deployment dep1: SUCCESSFUL\n"
    )
