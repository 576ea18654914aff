"""status, approve, rollback and watch against botocore's Stubber (the real API models).

Whom the rollback tests trust: the answers' shapes to botocore's models; which statuses exist to the same models and
which are in flight to the ECS Developer Guide; how a CodeDeploy rollback links the two deployments to the
CodeDeploy API Reference (RollbackInfo); the ALARM_ACTIVE message and the rollback messages to CodeDeploy's output
recorded in public repositories (AWS documents neither). ECS's rollback and status reasons are the tests' own words.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest

from blue_green_ecs.cli import deployments, next_step
from blue_green_ecs.cli.deployments import NOT_SUCCEEDED, NOTHING_TO_DO, Target, resolve, watch
from blue_green_ecs.handlers.rollback_reason import alarm_names

from ..simulator import clients as simulated
from ..simulator.aws import Aws
from ..simulator.cloudformation import Stack
from ..simulator.resources import Handlers
from .conftest import Clients

SERVICE_ARN = "arn:aws:ecs:us-east-1:111111111111:service/shop-cluster/shop-web"
ECS_DEPLOYMENT = "arn:aws:ecs:us-east-1:111111111111:service-deployment/shop-cluster/shop-web/dep1"
CODEDEPLOY = Target("codedeploy", cluster="shop-cluster", service="shop-web", application="shop-app", group="web-dg")
ECS = Target("ecs", cluster="shop-cluster", service="shop-web")
GROUP = {"applicationName": "shop-app", "deploymentGroupName": "web-dg"}


def _resource(logical: str, kind: str, physical: str) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "PhysicalResourceId": physical,
        "Timestamp": "2025-01-01T00:00:00Z",
        "ResourceStatus": "CREATE_COMPLETE",
    }


def _active(clients: Clients, deployment: str | None, status: str = "InProgress") -> None:
    stub = clients.stubs["codedeploy"]
    stub.add_response(
        "list_deployments",
        {"deployments": [deployment] if deployment else []},
        {**GROUP, "includeOnlyStatuses": deployments.ACTIVE},
    )
    if deployment:
        stub.add_response(
            "get_deployment",
            {"deploymentInfo": {"deploymentId": deployment, "status": status}},
            {"deploymentId": deployment},
        )


def test_resolves_a_codedeploy_service_from_its_stack_and_construct_path(clients: Clients) -> None:
    # given the stack's resources, a second service whose path starts the same way among them
    clients.stubs["cloudformation"].add_response(
        "describe_stack_resources",
        {
            "StackResources": [
                _resource("WebServiceD04B5F3E", "AWS::ECS::Service", SERVICE_ARN),
                _resource("WebApiServiceA1B2C3D4", "AWS::ECS::Service", "arn:aws:ecs:::service/shop-cluster/api"),
                _resource("WebDeploymentGroup3DEF91A9", "AWS::CodeDeploy::DeploymentGroup", "web-dg"),
                _resource("BlueGreenEcsApplication08F4321F", "AWS::CodeDeploy::Application", "shop-app"),
            ]
        },
        {"StackName": "Shop"},
    )
    # when resolved by the path as `cdk` prints it / then the service, its group and the application
    assert resolve(clients, stack="Shop", path="Shop/Web") == CODEDEPLOY


def test_an_unknown_path_says_so(clients: Clients) -> None:
    clients.stubs["cloudformation"].add_response(
        "describe_stack_resources", {"StackResources": []}, {"StackName": "Shop"}
    )
    with pytest.raises(deployments.CliError) as error:
        resolve(clients, stack="Shop", path="Api")
    assert str(error.value) == "No blue/green service at construct path 'Api' in stack 'Shop'."


def test_approve_continues_a_deployment_waiting_for_approval(clients: Clients) -> None:
    _active(clients, "d-1", "Ready")
    clients.stubs["codedeploy"].add_response(
        "continue_deployment", {}, {"deploymentId": "d-1", "deploymentWaitType": "READY_WAIT"}
    )
    assert deployments.approve(clients, CODEDEPLOY) == "approved deployment d-1: traffic shifting continues"


def test_approve_refuses_a_deployment_not_waiting(clients: Clients) -> None:
    _active(clients, "d-1", "InProgress")
    with pytest.raises(deployments.CliError) as error:
        deployments.approve(clients, CODEDEPLOY)
    assert str(error.value) == (
        "Nothing to approve: deployment d-1 is InProgress; approve continues a deployment in status Ready."
    )
    assert error.value.exit_code == NOTHING_TO_DO


def test_rollback_stops_the_codedeploy_deployment_with_rollback(clients: Clients) -> None:
    _active(clients, "d-1")
    clients.stubs["codedeploy"].add_response(
        "stop_deployment", {"status": "Pending"}, {"deploymentId": "d-1", "autoRollbackEnabled": True}
    )
    assert deployments.rollback(clients, CODEDEPLOY) == "stopped deployment d-1 with rollback to the previous task set"


def test_rollback_of_an_ecs_native_deployment_uses_the_service_deployments_api(clients: Clients) -> None:
    stub = clients.stubs["ecs"]
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT}]},
        {"cluster": "shop-cluster", "service": "shop-web", "status": deployments.ECS_ACTIVE},
    )
    stub.add_response(
        "stop_service_deployment",
        {"serviceDeploymentArn": ECS_DEPLOYMENT},
        {"serviceDeploymentArn": ECS_DEPLOYMENT, "stopType": "ROLLBACK"},
    )
    assert deployments.rollback(clients, ECS) == "rolling back deployment dep1"


def test_status_shows_traffic_split_hooks_and_alarms(clients: Clients) -> None:
    _active(clients, "d-1", "InProgress")
    cd = clients.stubs["codedeploy"]
    cd.add_response("list_deployment_targets", {"targetIds": ["shop-cluster:shop-web"]}, {"deploymentId": "d-1"})
    cd.add_response(
        "batch_get_deployment_targets",
        {
            "deploymentTargets": [
                {
                    "deploymentTargetType": "ECSTarget",
                    "ecsTarget": {
                        "taskSetsInfo": [
                            {"taskSetLabel": "Blue", "trafficWeight": 90.0, "runningCount": 2, "status": "PRIMARY"},
                            {"taskSetLabel": "Green", "trafficWeight": 10.0, "runningCount": 2, "status": "ACTIVE"},
                        ],
                        "lifecycleEvents": [{"lifecycleEventName": "AfterAllowTestTraffic", "status": "Succeeded"}],
                    },
                }
            ]
        },
        {"deploymentId": "d-1", "targetIds": ["shop-cluster:shop-web"]},
    )
    cd.add_response(
        "get_deployment_group",
        {
            "deploymentGroupInfo": {
                "alarmConfiguration": {"enabled": True, "alarms": [{"name": "web-compare"}, {"name": "web-any"}]}
            }
        },
        GROUP,
    )
    # A composite rollback alarm is only answered when AlarmTypes asks for it (found reading the code for moto).
    clients.stubs["cloudwatch"].add_response(
        "describe_alarms",
        {
            "MetricAlarms": [{"AlarmName": "web-compare", "StateValue": "OK"}],
            "CompositeAlarms": [{"AlarmName": "web-any", "StateValue": "OK"}],
        },
        {"AlarmNames": ["web-compare", "web-any"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )
    lines, state = deployments.status(clients, CODEDEPLOY)
    assert state == "InProgress"
    assert lines == [
        "deployment d-1: InProgress",
        "  Blue: 90% of production traffic, 2 running, PRIMARY",
        "  Green: 10% of production traffic, 2 running, ACTIVE",
        "  AfterAllowTestTraffic: Succeeded",
        "  alarm web-compare: OK",
        "  alarm web-any: OK",
    ]


def test_watch_prints_plain_lines_and_exits_3_when_the_deployment_rolled_back(clients: Clients) -> None:
    # given an ECS-native deployment in progress, then ended in ROLLBACK_SUCCESSFUL
    stub = clients.stubs["ecs"]
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, "status": "IN_PROGRESS"}]},
        {"cluster": "shop-cluster", "service": "shop-web", "status": deployments.ECS_ACTIVE},
    )
    for state in ({"status": "IN_PROGRESS", "lifecycleStage": "BAKE_TIME"}, {"status": "ROLLBACK_SUCCESSFUL"}):
        stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **state}]},
            {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
        )
    out = io.StringIO()
    # when watched (not a terminal) / then plain lines and exit code 3
    assert watch(clients, ECS, out=out, sleep=lambda _: None) == NOT_SUCCEEDED
    assert out.getvalue() == "deployment dep1: IN_PROGRESS\n  stage: BAKE_TIME\ndeployment dep1: ROLLBACK_SUCCESSFUL\n"


# The time to the next step. Every test fixes the clock: T is when the timed phase began.
T = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
CANARY_CONFIG = {"type": "TimeBasedCanary", "timeBasedCanary": {"canaryPercentage": 10, "canaryInterval": 5}}
LINEAR_CONFIG = {"type": "TimeBasedLinear", "timeBasedLinear": {"linearPercentage": 10, "linearInterval": 1}}


def _at(delta: timedelta) -> Callable[[], datetime]:
    return lambda: T + delta


def _codedeploy_status(
    clients: Clients,
    info: dict[str, Any],
    *,
    green: float,
    events: list[dict[str, Any]],
    routing: dict[str, Any] | None = None,
) -> None:
    """The calls of ``status`` for one CodeDeploy deployment (``info``), a group without alarms."""
    cd = clients.stubs["codedeploy"]
    cd.add_response("list_deployments", {"deployments": ["d-1"]}, {**GROUP, "includeOnlyStatuses": deployments.ACTIVE})
    cd.add_response("get_deployment", {"deploymentInfo": {"deploymentId": "d-1", **info}}, {"deploymentId": "d-1"})
    cd.add_response("list_deployment_targets", {"targetIds": ["shop-cluster:shop-web"]}, {"deploymentId": "d-1"})
    task_sets = [
        {"taskSetLabel": "Blue", "trafficWeight": 100.0 - green, "runningCount": 2, "status": "PRIMARY"},
        {"taskSetLabel": "Green", "trafficWeight": green, "runningCount": 2, "status": "ACTIVE"},
    ]
    cd.add_response(
        "batch_get_deployment_targets",
        {
            "deploymentTargets": [
                {
                    "deploymentTargetType": "ECSTarget",
                    "ecsTarget": {"taskSetsInfo": task_sets, "lifecycleEvents": events},
                }
            ]
        },
        {"deploymentId": "d-1", "targetIds": ["shop-cluster:shop-web"]},
    )
    if routing is not None:
        cd.add_response(
            "get_deployment_config",
            {
                "deploymentConfigInfo": {
                    "deploymentConfigName": info["deploymentConfigName"],
                    "trafficRoutingConfig": routing,
                }
            },
            {"deploymentConfigName": info["deploymentConfigName"]},
        )
    cd.add_response("get_deployment_group", {"deploymentGroupInfo": {}}, GROUP)


def _done(name: str, ended: datetime) -> dict[str, Any]:
    return {
        "lifecycleEventName": name,
        "status": "Succeeded",
        "startTime": ended - timedelta(seconds=20),
        "endTime": ended,
    }


def test_status_shows_the_time_to_the_canary_step(clients: Clients) -> None:
    # given a canary 10% / 5 minutes whose AllowTraffic began at T, 10% on green
    _codedeploy_status(
        clients,
        {"status": "InProgress", "deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes"},
        green=10.0,
        events=[
            _done("AfterAllowTestTraffic", T),
            {"lifecycleEventName": "AllowTraffic", "status": "InProgress", "startTime": T},
        ],
        routing=CANARY_CONFIG,
    )
    # when asked 1m48s later / then the rest moves 5 minutes after T
    lines, _ = deployments.status(clients, CODEDEPLOY, now=_at(timedelta(minutes=1, seconds=48)))
    assert lines[-1] == "  next step: 10% -> 100% in 3m12s (canary)"


def test_status_shows_the_time_to_the_next_linear_step(clients: Clients) -> None:
    # given linear 10% a minute, AllowTraffic since T, two steps taken (20% on green)
    _codedeploy_status(
        clients,
        {"status": "InProgress", "deploymentConfigName": "Linear10Every1"},
        green=20.0,
        events=[{"lifecycleEventName": "AllowTraffic", "status": "InProgress", "startTime": T}],
        routing=LINEAR_CONFIG,
    )
    # when asked 1m30s after T / then the third step is due 2 minutes after T
    lines, _ = deployments.status(clients, CODEDEPLOY, now=_at(timedelta(minutes=1, seconds=30)))
    assert lines[-1] == "  next step: 20% -> 30% in 30s (linear)"


def test_status_shows_no_step_when_all_traffic_moves_at_once(clients: Clients) -> None:
    _codedeploy_status(
        clients,
        {"status": "InProgress", "deploymentConfigName": "CodeDeployDefault.ECSAllAtOnce"},
        green=0.0,
        events=[{"lifecycleEventName": "AllowTraffic", "status": "InProgress", "startTime": T}],
        routing={"type": "AllAtOnce"},
    )
    lines, _ = deployments.status(clients, CODEDEPLOY, now=_at(timedelta(seconds=5)))
    assert lines[-1] == "  AllowTraffic: InProgress"


def test_status_shows_when_blue_terminates_during_the_termination_wait(clients: Clients) -> None:
    # given all traffic on green since AfterAllowTraffic ended at T, a 5-minute termination wait
    wait = {"terminateBlueInstancesOnDeploymentSuccess": {"action": "TERMINATE", "terminationWaitTimeInMinutes": 5}}
    _codedeploy_status(
        clients,
        {"status": "Baking", "blueGreenDeploymentConfiguration": wait, "instanceTerminationWaitTimeStarted": True},
        green=100.0,
        events=[_done("AllowTraffic", T - timedelta(seconds=30)), _done("AfterAllowTraffic", T)],
    )
    lines, state = deployments.status(clients, CODEDEPLOY, now=_at(timedelta(seconds=55)))
    assert state == "Baking"
    assert lines[-1] == "  blue terminates in 4m05s (a rollback until then switches back)"


def test_status_shows_when_the_approval_wait_times_out(clients: Clients) -> None:
    # given a deployment Ready since its test traffic hook ended at T, 30 minutes to approve or it stops
    ready = {"deploymentReadyOption": {"actionOnTimeout": "STOP_DEPLOYMENT", "waitTimeInMinutes": 30}}
    _codedeploy_status(
        clients,
        {"status": "Ready", "blueGreenDeploymentConfiguration": ready},
        green=0.0,
        events=[_done("AllowTestTraffic", T - timedelta(seconds=30)), _done("AfterAllowTestTraffic", T)],
    )
    lines, _ = deployments.status(clients, CODEDEPLOY, now=_at(timedelta(minutes=10)))
    assert lines[-2:] == [
        "  approval times out in 20m00s (then the deployment stops)",
        "  waiting for approval: blue-green-ecs approve (or reject); deployment d-1",
    ]


def _ecs_status(clients: Clients, deployment: dict[str, Any]) -> None:
    stub = clients.stubs["ecs"]
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT}]},
        {"cluster": "shop-cluster", "service": "shop-web", "status": deployments.ECS_ACTIVE},
    )
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **deployment}]},
        {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
    )


ECS_CANARY = {
    "strategy": "CANARY",
    "bakeTimeInMinutes": 5,
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
}


def test_ecs_native_status_shows_the_split_and_the_time_to_the_canary_step(clients: Clients) -> None:
    # given an ECS canary at 10%, last updated at T (when the step was taken, at the latest)
    _ecs_status(
        clients,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
            "updatedAt": T,
            "deploymentConfiguration": ECS_CANARY,
            "targetServiceRevision": {"requestedProductionTrafficWeight": 10.0},
        },
    )
    lines, _ = deployments.status(clients, ECS, now=_at(timedelta(minutes=1, seconds=48)))
    assert lines == [
        "deployment dep1: IN_PROGRESS",
        "  stage: PRODUCTION_TRAFFIC_SHIFT",
        "  new revision: 10% of production traffic",
        "  next step: 10% -> 100% in at most 3m12s (canary)",
    ]


def test_ecs_native_status_shows_the_next_linear_step(clients: Clients) -> None:
    _ecs_status(
        clients,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
            "updatedAt": T,
            "deploymentConfiguration": {
                "strategy": "LINEAR",
                "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2},
            },
            "targetServiceRevision": {"requestedProductionTrafficWeight": 50.0},
        },
    )
    lines, _ = deployments.status(clients, ECS, now=_at(timedelta(seconds=15)))
    assert lines[-1] == "  next step: 50% -> 75% in at most 1m45s (linear)"


def test_ecs_native_status_shows_when_blue_terminates_after_the_bake(clients: Clients) -> None:
    _ecs_status(
        clients,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "BAKE_TIME",
            "updatedAt": T,
            "deploymentConfiguration": ECS_CANARY,
            "targetServiceRevision": {"requestedProductionTrafficWeight": 100.0},
            "alarms": {"status": "MONITORING", "alarmNames": ["web-5xx"], "triggeredAlarmNames": []},
        },
    )
    lines, _ = deployments.status(clients, ECS, now=_at(timedelta(seconds=55)))
    assert lines[2:] == [
        "  new revision: 100% of production traffic",
        "  blue terminates in at most 4m05s (a rollback until then switches back)",
        "  alarms: MONITORING (triggered: none)",
    ]


def test_ecs_native_status_shows_when_a_hook_awaiting_action_times_out(clients: Clients) -> None:
    _ecs_status(
        clients,
        {
            "status": "IN_PROGRESS",
            "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
            "updatedAt": T,
            "deploymentConfiguration": ECS_CANARY,
            "lifecycleHookDetails": [
                {
                    "hookId": "h-1",
                    "targetType": "AWS_LAMBDA",
                    "targetArn": "arn:aws:lambda:us-east-1:111111111111:function:smoke-test",
                    "status": "IN_PROGRESS",
                    "expiresAt": T + timedelta(minutes=15),
                    "timeoutAction": "ROLLBACK",
                }
            ],
        },
    )
    lines, _ = deployments.status(clients, ECS, now=_at(timedelta(minutes=3)))
    assert lines[-1] == "  hook smoke-test running: times out in 12m00s (then rollback)"


def test_watch_does_not_reprint_a_countdown_alone(clients: Clients) -> None:
    # given the same bake seen twice, 10 s apart, then the deployment SUCCESSFUL
    bake = {
        "status": "IN_PROGRESS",
        "lifecycleStage": "BAKE_TIME",
        "updatedAt": T,
        "deploymentConfiguration": ECS_CANARY,
    }
    _ecs_status(clients, bake)
    stub = clients.stubs["ecs"]
    for state in (bake, {"status": "SUCCESSFUL"}):
        stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **state}]},
            {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
        )
    times = iter([T, T + timedelta(seconds=10), T + timedelta(seconds=20)])
    out = io.StringIO()
    # when watched / then the bake is printed once, with the time left when first seen
    assert watch(clients, ECS, out=out, sleep=lambda _: None, now=lambda: next(times)) == 0
    assert out.getvalue() == (
        "deployment dep1: IN_PROGRESS\n"
        "  stage: BAKE_TIME\n"
        "  blue terminates in at most 5m00s (a rollback until then switches back)\n"
        "deployment dep1: SUCCESSFUL\n"
    )


@pytest.mark.parametrize(
    ("seconds", "shown"), [(-3, "0s"), (0.2, "1s"), (59, "59s"), (60, "1m00s"), (245, "4m05s"), (3725, "1h02m")]
)
def test_durations_read_as_a_countdown(seconds: float, shown: str) -> None:
    assert next_step.duration(seconds) == shown


@pytest.mark.parametrize(
    ("kind", "weight", "expected"),
    [
        ("canary", 0.0, (10.0, 0)),
        ("canary", 10.0, (100.0, 1)),
        ("linear", 0.0, (10.0, 0)),
        ("linear", 10.0, (20.0, 1)),
        ("linear", 90.0, (100.0, 9)),
        ("linear", 100.0, None),
        ("all at once", 0.0, None),
    ],
)
def test_the_next_weight_follows_the_steps_taken(kind: str, weight: float, expected: tuple[float, int] | None) -> None:
    assert next_step.next_weight(kind, 10.0, weight) == expected


# ---- rollbacks (issue #25, items 2 and 3) -------------------------------------------------------------------------
# Which ServiceDeployment statuses are in flight: the ECS Developer Guide, "View service history using Amazon ECS
# service deployments" (stages Pending: PENDING; Ongoing: IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED,
# ROLLBACK_IN_PROGRESS; Completed: SUCCESSFUL, STOPPED, ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED).
ECS_IN_FLIGHT = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
ECS_LISTED_IN_FLIGHT = {"cluster": "shop-cluster", "service": "shop-web", "status": ECS_IN_FLIGHT}
REVISION = "arn:aws:ecs:us-east-1:111111111111:service-revision/shop-cluster/shop-web/1485800978477494678"
# CodeDeploy documents the code ALARM_ACTIVE, not its message: this is the message as CodeDeploy wrote it for two
# alarms in a deployment's recorded GetDeployment answer (a public repository's evidence file; see docs/cli.md).
TWO_ALARMS = (
    "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
    "affected deployments have been stopped. Activated alarms: <web-5xx> <web-compare>"
)


def _model_enum(service: str, shape: str) -> list[str]:
    return list(botocore.session.get_session().get_service_model(service).shape_for(shape).enum)


def test_every_ecs_service_deployment_status_is_in_flight_or_final_with_its_exit_code() -> None:
    # given ECS's statuses (botocore's model of the API) / then each is in flight or ends watch with a code
    assert deployments.ECS_ACTIVE == ECS_IN_FLIGHT
    assert deployments.ECS_EXIT == {"SUCCESSFUL": 0, "STOPPED": 3, "ROLLBACK_SUCCESSFUL": 3, "ROLLBACK_FAILED": 4}
    assert sorted([*deployments.ECS_ACTIVE, *deployments.ECS_EXIT]) == sorted(
        _model_enum("ecs", "ServiceDeploymentStatus")
    )


def test_every_codedeploy_deployment_status_is_in_flight_or_final() -> None:
    final = ["Succeeded", "Failed", "Stopped"]
    assert sorted([*deployments.ACTIVE, *final]) == sorted(_model_enum("codedeploy", "DeploymentStatus"))


def _ecs_listed(clients: Clients, status: str) -> None:
    clients.stubs["ecs"].add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, "status": status}]},
        ECS_LISTED_IN_FLIGHT,
    )


def _ecs_described(clients: Clients, deployment: dict[str, Any]) -> None:
    clients.stubs["ecs"].add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **deployment}]},
        {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
    )


# The reason's wording is the test's own: ECS documents the field ("For example, the circuit breaker initiated the
# rollback operation"), not its text.
ROLLING_BACK = {
    "status": "ROLLBACK_IN_PROGRESS",
    "lifecycleStage": "PRODUCTION_TRAFFIC_SHIFT",
    "updatedAt": T,
    "deploymentConfiguration": ECS_CANARY,
    "targetServiceRevision": {"requestedProductionTrafficWeight": 10.0},
    "rollback": {"reason": "alarm web-5xx is in ALARM", "startedAt": T, "serviceRevisionArn": REVISION},
    "alarms": {"status": "TRIGGERED", "alarmNames": ["web-5xx"], "triggeredAlarmNames": ["web-5xx"]},
}


def test_ecs_native_status_shows_a_rollback_in_progress(clients: Clients) -> None:
    # given a service deployment rolling back (ECS lists it among those in flight)
    _ecs_listed(clients, "ROLLBACK_IN_PROGRESS")
    _ecs_described(clients, ROLLING_BACK)
    # when asked / then the rollback, its reason and the revision it restores, and no next traffic step
    lines, state = deployments.status(clients, ECS, now=_at(timedelta(seconds=30)))
    assert state == "ROLLBACK_IN_PROGRESS"
    assert lines == [
        "deployment dep1: ROLLBACK_IN_PROGRESS",
        "  stage: PRODUCTION_TRAFFIC_SHIFT",
        "  rolling back to service revision 1485800978477494678: alarm web-5xx is in ALARM",
        "  alarms: TRIGGERED (triggered: web-5xx)",
    ]


@pytest.mark.parametrize(
    ("state", "said"),
    [
        ("ROLLBACK_REQUESTED", "is already rolling back (ROLLBACK_REQUESTED)"),
        ("ROLLBACK_IN_PROGRESS", "is already rolling back (ROLLBACK_IN_PROGRESS)"),
        # "STOP_REQUESTED - The service deployment continues to stop." (ECS Developer Guide, Stopping Amazon ECS
        # service deployments)
        ("STOP_REQUESTED", "is already being stopped (STOP_REQUESTED): ECS would only go on stopping it"),
    ],
)
def test_ecs_native_rollback_during_a_rollback_or_a_stop_says_so(clients: Clients, state: str, said: str) -> None:
    _ecs_listed(clients, state)
    with pytest.raises(deployments.CliError) as error:
        deployments.rollback(clients, ECS)
    assert (str(error.value), error.value.exit_code) == (f"Nothing to roll back: deployment dep1 {said}.", 2)


@pytest.mark.parametrize(
    ("final", "code"), [("SUCCESSFUL", 0), ("STOPPED", 3), ("ROLLBACK_SUCCESSFUL", 3), ("ROLLBACK_FAILED", 4)]
)
def test_ecs_native_watch_ends_on_every_final_status_with_its_exit_code(
    clients: Clients, final: str, code: int
) -> None:
    # given a deployment in progress, then rolling back, then in a final status
    _ecs_listed(clients, "IN_PROGRESS")
    _ecs_described(clients, {"status": "IN_PROGRESS", "lifecycleStage": "SCALE_UP"})
    _ecs_described(clients, {"status": "ROLLBACK_IN_PROGRESS", "lifecycleStage": "SCALE_UP"})
    _ecs_described(clients, {"status": final, "lifecycleStage": "SCALE_UP"})
    out = io.StringIO()
    # when watched / then it follows that deployment to its end
    assert watch(clients, ECS, out=out, sleep=lambda _: None) == code
    assert out.getvalue().splitlines()[-2:] == [f"deployment dep1: {final}", "  stage: SCALE_UP"]


def test_ecs_native_watch_reports_a_failed_rollback_with_its_reason(clients: Clients) -> None:
    _ecs_listed(clients, "ROLLBACK_IN_PROGRESS")
    _ecs_described(clients, ROLLING_BACK)
    failed = {
        **ROLLING_BACK,
        "status": "ROLLBACK_FAILED",
        "statusReason": "tasks of the service revision failed to start",  # the test's own wording
        "lifecycleStage": "CLEAN_UP",
    }
    _ecs_described(clients, failed)
    out = io.StringIO()
    assert watch(clients, ECS, out=out, sleep=lambda _: None, now=_at(timedelta(seconds=30))) == 4
    assert out.getvalue().split("\n")[4:] == [
        "deployment dep1: ROLLBACK_FAILED",
        "  stage: CLEAN_UP",
        "  reason: tasks of the service revision failed to start",
        "  rollback to service revision 1485800978477494678 failed: alarm web-5xx is in ALARM",
        "  alarms: TRIGGERED (triggered: web-5xx)",
        "",
    ]


def _codedeploy_targets(clients: Clients, deployment: str) -> None:
    """``status``'s calls after GetDeployment, for a deployment without targets yet and a group without alarms."""
    cd = clients.stubs["codedeploy"]
    cd.add_response("list_deployment_targets", {"targetIds": []}, {"deploymentId": deployment})
    cd.add_response("get_deployment_group", {"deploymentGroupInfo": {}}, GROUP)


def _got(clients: Clients, info: dict[str, Any]) -> None:
    clients.stubs["codedeploy"].add_response(
        "get_deployment", {"deploymentInfo": info}, {"deploymentId": info["deploymentId"]}
    )


# GetDeployment's answers around a rollback by alarm: the stopped deployment names its rollback deployment and the
# rollback its trigger (CodeDeploy API Reference, RollbackInfo; the messages as CodeDeploy wrote them, see above).
STOPPED_D1 = {
    "deploymentId": "d-1",
    "status": "Stopped",
    "errorInformation": {"code": "ALARM_ACTIVE", "message": TWO_ALARMS},
    "rollbackInfo": {
        "rollbackDeploymentId": "d-2",
        "rollbackMessage": "Deployment d-1 terminated. Automatic rollback is triggered with a DeploymentId d-2.",
    },
}


def _rollback_d2(status: str) -> dict[str, Any]:
    return {
        "deploymentId": "d-2",
        "status": status,
        "rollbackInfo": {
            "rollbackTriggeringDeploymentId": "d-1",
            "rollbackMessage": "Deployment d-2 is triggered to roll back deployment d-1.",
        },
    }


def test_codedeploy_watch_follows_the_rollback_and_reports_the_watched_deployment_rolled_back(
    clients: Clients,
) -> None:
    # given d-1 in progress, then stopped by two alarms while its rollback d-2 runs, then d-2 succeeded
    _active(clients, "d-1")
    _codedeploy_targets(clients, "d-1")
    _got(clients, STOPPED_D1)
    _got(clients, _rollback_d2("InProgress"))
    _codedeploy_targets(clients, "d-2")
    _got(clients, STOPPED_D1)
    _got(clients, _rollback_d2("Succeeded"))
    out = io.StringIO()
    # when watched / then d-1's outcome: rolled back (exit 3), why, and the rollback's id and outcome
    assert watch(clients, CODEDEPLOY, out=out, sleep=lambda _: None) == 3
    assert out.getvalue() == (
        "deployment d-1: InProgress\n"
        "deployment d-1: Stopped\n"
        "  reason: ALARM_ACTIVE (activated alarms: web-5xx, web-compare)\n"
        "  rollback: deployment d-2 InProgress\n"
        "deployment d-1: Stopped\n"
        "  reason: ALARM_ACTIVE (activated alarms: web-5xx, web-compare)\n"
        "  rollback: deployment d-2 Succeeded\n"
    )


def _listed(clients: Clients, deployment: str) -> None:
    clients.stubs["codedeploy"].add_response(
        "list_deployments", {"deployments": [deployment]}, {**GROUP, "includeOnlyStatuses": deployments.ACTIVE}
    )


def test_codedeploy_watch_started_during_a_rollback_reports_the_deployment_it_rolls_back(clients: Clients) -> None:
    # given the group's active deployment is d-2, the rollback of d-1, which then fails
    _listed(clients, "d-2")
    _got(clients, _rollback_d2("InProgress"))
    _got(clients, STOPPED_D1)
    _codedeploy_targets(clients, "d-2")
    _got(clients, STOPPED_D1)
    failed = {**_rollback_d2("Failed"), "errorInformation": {"code": "ECS_UPDATE_ERROR", "message": "no capacity"}}
    _got(clients, failed)
    out = io.StringIO()
    # when watched / then d-1's outcome, the rollback's failure and exit code 4
    assert watch(clients, CODEDEPLOY, out=out, sleep=lambda _: None) == 4
    assert out.getvalue() == (
        "deployment d-1: Stopped\n"
        "  reason: ALARM_ACTIVE (activated alarms: web-5xx, web-compare)\n"
        "  rollback: deployment d-2 InProgress\n"
        "deployment d-1: Stopped\n"
        "  reason: ALARM_ACTIVE (activated alarms: web-5xx, web-compare)\n"
        "  rollback: deployment d-2 Failed\n"
        "    reason: ECS_UPDATE_ERROR: no capacity\n"
    )


def test_codedeploy_status_and_rollback_during_a_rollback_name_the_deployment_rolled_back(clients: Clients) -> None:
    # given the group's active deployment is d-2, the rollback of d-1
    _listed(clients, "d-2")
    _got(clients, _rollback_d2("InProgress"))
    _codedeploy_targets(clients, "d-2")
    _listed(clients, "d-2")
    _got(clients, _rollback_d2("InProgress"))
    # when asked / then status says what it rolls back and rollback refuses to stop the rollback
    lines, _ = deployments.status(clients, CODEDEPLOY)
    assert lines == ["deployment d-2: InProgress (rollback of deployment d-1)"]
    with pytest.raises(deployments.CliError) as error:
        deployments.rollback(clients, CODEDEPLOY)
    assert (str(error.value), error.value.exit_code) == (
        "Nothing to roll back: deployment d-2 is already rolling back deployment d-1.",
        2,
    )


def _simulated_group_stack() -> Stack:
    """The lifecycle simulator with a CODE_DEPLOY service in blue and its deployment group: canary 10% for 5
    minutes, two rollback alarms (no synthesis: a hand-written template of the resources CodeDeploy uses)."""
    stack = Stack(Handlers(aws := Aws(), simulated.ecs(aws)), lambda *_: ("SUCCESS", "", "custom-1", {}))
    service = {
        "Cluster": {"Ref": "Cluster"},
        "DeploymentController": {"Type": "CODE_DEPLOY"},
        "DesiredCount": 2,
        "TaskDefinition": "web",
        "LoadBalancers": [{"ContainerName": "web", "ContainerPort": 80, "TargetGroupArn": {"Ref": "Blue"}}],
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["subnet-a"], "SecurityGroups": ["sg-a"]}},
    }
    pair = {
        "TargetGroups": [{"Name": {"Fn::GetAtt": [x, "TargetGroupName"]}} for x in ("Blue", "Green")],
        "ProdTrafficRoute": {"ListenerArns": [{"Ref": "Prod"}]},
    }
    group = {
        "ApplicationName": {"Ref": "Application"},
        "DeploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes",
        "ECSServices": [{"ClusterName": {"Ref": "Cluster"}, "ServiceName": {"Fn::GetAtt": ["Service", "Name"]}}],
        "LoadBalancerInfo": {"TargetGroupPairInfoList": [pair]},
        "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": "web-5xx"}, {"Name": "web-compare"}]},
    }
    listener = {
        "LoadBalancerArn": {"Ref": "Lb"},
        "Port": 80,
        "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "Blue"}}],
    }
    resources = {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "Lb": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"},
        "Blue": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
        "Green": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {"Port": 80}},
        "Prod": {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": listener},
        "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Family": "web"}},
        "Service": {"Type": "AWS::ECS::Service", "DependsOn": ["Prod", "TaskDefinition"], "Properties": service},
        "Application": {"Type": "AWS::CodeDeploy::Application", "Properties": {"ComputePlatform": "ECS"}},
        "Group": {"Type": "AWS::CodeDeploy::DeploymentGroup", "Properties": group},
    }
    assert stack.deploy({"Resources": resources}) == "CREATE_COMPLETE", stack.reason
    return stack


def test_the_simulator_names_two_alarms_as_codedeploy_does_and_watch_reads_both(clients: Clients) -> None:
    # given the simulator's CodeDeploy in the canary step of a deployment
    stack = _simulated_group_stack()
    aws = stack.handlers.aws
    [(application, group)] = aws.groups
    codedeploy = simulated.codedeploy_client(aws)
    appspec = {"Resources": [{"TargetService": {"Properties": {"TaskDefinition": "web:2", "LoadBalancerInfo": {
        "ContainerName": "web", "ContainerPort": 80}}}}]}  # fmt: skip
    revision = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(appspec)}}
    deployment = codedeploy.create_deployment(applicationName=application, deploymentGroupName=group, revision=revision)
    aws.advance(60)
    in_progress = codedeploy.get_deployment(deploymentId=deployment["deploymentId"])["deploymentInfo"]
    # when both alarms go off
    aws.alarming |= {"web-5xx", "web-compare"}
    aws.advance(15)
    stopped = codedeploy.get_deployment(deploymentId=deployment["deploymentId"])["deploymentInfo"]
    rollback = stopped["rollbackInfo"]["rollbackDeploymentId"]
    restored = codedeploy.get_deployment(deploymentId=rollback)["deploymentInfo"]
    # then its message names them as CodeDeploy does, each in its own brackets, and the alarm names are read back
    message = stopped["errorInformation"]["message"]
    assert message.endswith("Activated alarms: <web-5xx> <web-compare>")
    assert alarm_names(message) == ["web-5xx", "web-compare"]
    # and watch, given the simulator's answers, reports the rollback with both alarms
    target = Target("codedeploy", application=application, group=group)
    stub = clients.stubs["codedeploy"]
    names = {"applicationName": application, "deploymentGroupName": group}
    stub.add_response(
        "list_deployments",
        {"deployments": [in_progress["deploymentId"]]},
        {**names, "includeOnlyStatuses": deployments.ACTIVE},
    )
    for info in (in_progress, stopped, restored):
        stub.add_response("get_deployment", {"deploymentInfo": info}, {"deploymentId": info["deploymentId"]})
        if info is in_progress:
            stub.add_response("list_deployment_targets", {"targetIds": []}, {"deploymentId": info["deploymentId"]})
            stub.add_response("get_deployment_group", {"deploymentGroupInfo": {}}, names)
    out = io.StringIO()
    assert watch(clients, target, out=out, sleep=lambda _: None) == NOT_SUCCEEDED
    assert out.getvalue().split("\n")[-4:] == [
        f"deployment {stopped['deploymentId']}: Stopped",
        "  reason: ALARM_ACTIVE (activated alarms: web-5xx, web-compare)",
        f"  rollback: deployment {rollback} Succeeded",
        "",
    ]
