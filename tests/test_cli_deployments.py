"""status, approve, rollback and watch against botocore's Stubber (the real API models)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.cli import deployments
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
        {"deploymentGroupInfo": {"alarmConfiguration": {"enabled": True, "alarms": [{"name": "web-compare"}]}}},
        GROUP,
    )
    clients.stubs["cloudwatch"].add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": "web-compare", "StateValue": "OK"}]},
        {"AlarmNames": ["web-compare"]},
    )
    lines, state = deployments.status(clients, CODEDEPLOY)
    assert state == "InProgress"
    assert lines == [
        "deployment d-1: InProgress",
        "  Blue: 90% of production traffic, 2 running, PRIMARY",
        "  Green: 10% of production traffic, 2 running, ACTIVE",
        "  AfterAllowTestTraffic: Succeeded",
        "  alarm web-compare: OK",
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
