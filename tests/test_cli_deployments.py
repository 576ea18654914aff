"""status, approve, rollback and watch against botocore's Stubber (the real API models)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.cli import deployments, next_step
from blue_green_ecs.cli.deployments import NOT_SUCCEEDED, NOTHING_TO_DO, Target, resolve, watch

SERVICE_ARN = "arn:aws:ecs:us-east-1:111111111111:service/shop-cluster/shop-web"
ECS_DEPLOYMENT = "arn:aws:ecs:us-east-1:111111111111:service-deployment/shop-cluster/shop-web/dep1"
CODEDEPLOY = Target("codedeploy", cluster="shop-cluster", service="shop-web", application="shop-app", group="web-dg")
ECS = Target("ecs", cluster="shop-cluster", service="shop-web")
GROUP = {"applicationName": "shop-app", "deploymentGroupName": "web-dg"}


class Clients(dict[str, Any]):
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
    # given an ECS-native deployment in progress, then gone from the active list, ended in ROLLBACK_SUCCESSFUL
    stub = clients.stubs["ecs"]
    active = {"cluster": "shop-cluster", "service": "shop-web", "status": deployments.ECS_ACTIVE}
    stub.add_response(
        "list_service_deployments", {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT}]}, active
    )
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"status": "IN_PROGRESS", "lifecycleStage": "BAKE_TIME"}]},
        {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
    )
    stub.add_response("list_service_deployments", {"serviceDeployments": []}, active)
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT}]},
        {"cluster": "shop-cluster", "service": "shop-web"},
    )
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"status": "ROLLBACK_SUCCESSFUL"}]},
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
        "  waiting for approval: blue-green-ecs approve (or rollback); deployment d-1",
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
    # given the same bake seen twice, 10 s apart, then the deployment gone and SUCCESSFUL
    bake = {
        "status": "IN_PROGRESS",
        "lifecycleStage": "BAKE_TIME",
        "updatedAt": T,
        "deploymentConfiguration": ECS_CANARY,
    }
    _ecs_status(clients, bake)
    _ecs_status(clients, bake)
    stub = clients.stubs["ecs"]
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": []},
        {"cluster": "shop-cluster", "service": "shop-web", "status": deployments.ECS_ACTIVE},
    )
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT}]},
        {"cluster": "shop-cluster", "service": "shop-web"},
    )
    stub.add_response(
        "describe_service_deployments",
        {"serviceDeployments": [{"status": "SUCCESSFUL"}]},
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
