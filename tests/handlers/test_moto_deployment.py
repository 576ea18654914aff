"""The deployment trigger's ECS and CodeDeploy reads against moto (tests/moto_worlds.py).

What moto decides here, and the Stubber tests (test_deployment_handler.py) wrote themselves: what DescribeServices
answers for a CODE_DEPLOY service (its controller, network configuration, load balancer container, task sets),
an ECS-controller service and a missing one; that CreateDeployment takes the AppSpec revision and the
description the trigger writes; that ListDeployments filters by group, status (includeOnlyStatuses) and
createTimeRange, and BatchGetDeployments returns the description that carries the request's marker; and
CreateDeployment's error for a deployment group that does not exist.

moto gaps, kept on the Stubber tests: StopDeployment (a timeout's and ``stop``'s rollback), and every status after
Created (moto's deployments never start, succeed, fail or wait for approval), so ``_track``'s outcomes, the
rollback's status and DeploymentLimitExceededException stay there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from blue_green_ecs.handlers.deployment import STATE_KEY, DeploymentHandler
from blue_green_ecs.handlers.messages import DeploymentError

from ..moto_worlds import ACCOUNT, REGION, Account, Network, moto_account

REQUEST_ID = "5d9f0d7e-1c1f-4a35-9f43-6c3b8e0c2a11"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shop/0a1b2c3d-aaaa-bbbb-cccc-123456789012"
MARKER = f"[cfn-request:{REQUEST_ID}]"


@dataclass(frozen=True)
class Service:
    """A CODE_DEPLOY service and its deployment group."""

    name: str
    application: str
    group: str


@dataclass(frozen=True)
class World:
    account: Account
    network: Network
    cluster: str
    running: str  # the task definition the services were created with
    newer: str  # a later revision of its family
    unchanged: Service  # runs ``running``
    deploys: Service  # runs ``running``: an Update to ``newer`` deploys
    blocked: Service  # runs ``running``; a deployment started by hand is still active
    redeployed: Service  # created with ``running``; after a deployment its PRIMARY task set runs ``newer``
    ecs_controlled: Service  # the ECS deployment controller


def _build(account: Account) -> World:
    network = account.network()
    cluster = account.cluster()
    running, newer = account.task_definition(), account.task_definition()
    target_group = account.target_group(network, "blue")

    def service(controller: str = "CODE_DEPLOY") -> Service:
        name = account.service(cluster, running, target_group, network, controller=controller)
        return Service(name, *account.deployment_group(cluster, name))

    blocked = service()
    account.deployment(blocked.application, blocked.group, "started by hand")
    redeployed = service()
    account.primary_task_set(cluster, redeployed.name, newer, target_group, network)
    return World(
        account,
        network,
        cluster,
        running,
        newer,
        unchanged=service(),
        deploys=service(),
        blocked=blocked,
        redeployed=redeployed,
        ecs_controlled=service("ECS"),
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        yield _build(account)


def event(world: World, service: Service, task_definition: str, request_type: str = "Update") -> dict[str, Any]:
    """The trigger's event as the Provider framework hands it over, the network as the services were created."""
    body: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": REQUEST_ID,
        "StackId": STACK_ID,
        "LogicalResourceId": "WebDeployment",
        "ResourceType": "Custom::BlueGreenDeployment",
        "ResponseURL": "...",
        "ResourceProperties": {
            "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:provider-onEvent",
            "ApplicationName": service.application,
            "DeploymentGroupName": service.group,
            "ClusterName": world.cluster,
            "ServiceName": service.name,
            "TaskDefinitionArn": task_definition,
            "ContainerName": "web",
            "ContainerPort": "80",
            "PlatformVersion": "LATEST",
            "Subnets": list(reversed(world.network.subnets)),  # ECS compares subnets as a set
            "SecurityGroups": [world.network.security_group],
            "AssignPublicIp": "DISABLED",
            "TimeoutMinutes": "30",
        },
    }
    if request_type != "Create":
        body["PhysicalResourceId"] = f"blue-green-ecs/{world.cluster}/{service.name}"
    return body


def handler(world: World) -> DeploymentHandler:
    return DeploymentHandler(world.account.client("codedeploy"), world.account.client("ecs"))


def deployments_of(world: World, service: Service) -> list[str]:
    """The group's deployments, as ListDeployments answers."""
    listed = world.account.client("codedeploy").list_deployments(
        applicationName=service.application, deploymentGroupName=service.group
    )
    return list(listed["deployments"])


def test_a_create_with_the_running_task_definition_starts_nothing(world: World) -> None:
    service = world.unchanged

    result = handler(world).on_event(event(world, service, world.running, "Create"))

    assert (result["Data"], result[STATE_KEY]["Decision"]) == ({"DeploymentId": ""}, "unchanged")
    assert deployments_of(world, service) == []


def test_an_update_deploys_the_appspec_polls_it_and_a_repeated_delivery_follows_it(world: World) -> None:
    service = world.deploys
    trigger = handler(world)

    # when the Update asks for the newer revision
    started = trigger.on_event(event(world, service, world.newer))

    # then one deployment, whose AppSpec deploys it with the service's container and network
    [deployment_id] = deployments_of(world, service)
    assert (started["Data"], started[STATE_KEY]["Decision"]) == ({"DeploymentId": deployment_id}, "deploying")
    info = world.account.client("codedeploy").get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    content = info["revision"]["appSpecContent"]
    assert content["sha256"] == hashlib.sha256(content["content"].encode()).hexdigest()
    assert json.loads(content["content"])["Resources"][0]["TargetService"]["Properties"] == {
        "TaskDefinition": world.newer,
        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80},
        "PlatformVersion": "LATEST",
        "NetworkConfiguration": {
            "AwsvpcConfiguration": {
                "Subnets": list(reversed(world.network.subnets)),
                "SecurityGroups": [world.network.security_group],
                "AssignPublicIp": "DISABLED",
            }
        },
    }
    assert info["description"] == f"CloudFormation shop/WebDeployment: {world.newer.split('/')[-1]} {MARKER}"

    # and a poll finds it still running (moto's deployments stay Created), a second delivery follows it
    assert trigger.is_complete({**event(world, service, world.newer), **started}) == {"IsComplete": False}
    repeated = trigger.on_event(event(world, service, world.newer))
    assert repeated["Data"] == {"DeploymentId": deployment_id}
    assert deployments_of(world, service) == [deployment_id]


def test_while_another_deployment_of_the_group_is_active_nothing_is_started(world: World) -> None:
    service = world.blocked
    before = deployments_of(world, service)

    result = handler(world).on_event(event(world, service, world.newer))

    assert (result["Data"], result[STATE_KEY]["Decision"]) == ({"DeploymentId": ""}, "waiting")
    assert deployments_of(world, service) == before


def test_after_a_deployment_the_primary_task_set_running_the_request_starts_nothing(world: World) -> None:
    # given the service created with the older revision, its PRIMARY task set running the newer one (moto, like
    # ECS, then describes the service with the primary task set's task definition too)
    service = world.redeployed

    result = handler(world).on_event(event(world, service, world.newer))

    assert result[STATE_KEY]["Decision"] == "unchanged"
    assert deployments_of(world, service) == []


def test_a_service_with_the_ecs_deployment_controller_is_refused(world: World) -> None:
    service = world.ecs_controlled

    with pytest.raises(DeploymentError) as refused:
        handler(world).on_event(event(world, service, world.newer))

    assert str(refused.value) == (
        f"ECS service '{service.name}' in cluster '{world.cluster}' uses the ECS deployment controller; blue/green "
        "deployments through CodeDeploy need the CODE_DEPLOY deployment controller."
    )


def test_a_missing_service_is_named_with_ecs_reason(world: World) -> None:
    service = Service("deleted", world.unchanged.application, world.unchanged.group)

    with pytest.raises(DeploymentError) as refused:
        handler(world).on_event(event(world, service, world.newer))

    assert str(refused.value) == (
        f"ECS service 'deleted' in cluster '{world.cluster}' was not found (ecs:DescribeServices reported MISSING). "
        "Check ClusterName and ServiceName."
    )


def test_a_missing_cluster_is_named_with_ecs_error(world: World) -> None:
    request = event(world, world.unchanged, world.newer)
    request["ResourceProperties"]["ClusterName"] = "deleted-cluster"

    with pytest.raises(DeploymentError) as refused:
        handler(world).on_event(request)

    assert (
        str(refused.value) == "ECS cluster 'deleted-cluster' was not found (ecs:DescribeServices: Cluster not found.)"
    )


def test_a_missing_deployment_group_is_named_when_the_deployment_is_created(world: World) -> None:
    # given a request naming a group that does not exist. moto's ListDeployments answers it with an empty list,
    # where AWS already refuses ListDeployments with DeploymentGroupDoesNotExistException (CodeDeploy API Reference,
    # ListDeployments, Errors): the code explains that error alike from either call; moto reaches CreateDeployment.
    service = Service(world.deploys.name, world.deploys.application, "deleted-group")

    with pytest.raises(DeploymentError) as refused:
        handler(world).on_event(event(world, service, world.newer))

    assert str(refused.value) == (
        f"CodeDeploy deployment group 'deleted-group' does not exist in application '{service.application}' "
        "(codedeploy:CreateDeployment: Deployment group name does not exist.) Check DeploymentGroupName and that the "
        "group exists in this account and region."
    )
