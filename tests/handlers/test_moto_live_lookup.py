"""The live-state lookup against moto (tests/moto_worlds.py): listeners, rules and services as ELBv2 and ECS keep them.

What moto decides here, and the Stubber tests (test_live_lookup.py) wrote themselves: how DescribeListeners and
DescribeRules describe a plain and a weighted forward action and a rule's priority (a string, "default" for the
listener's own), that DescribeRules pages with Marker/NextMarker (moto: 50 rules a page), what ListServices and
DescribeServices answer for a cluster of twelve services, and the awsvpc configuration ECS keeps for a service.

moto gaps, kept on the Stubber tests: ListServices and DescribeListeners ignore maxResults/PageSize and never
page (moto's ecs and elbv2 responses.py), and CreateService ignores capacityProviderStrategy; so listener and
service paging and the capacity-provider refusal are not exercised here.

What moto decides for the pinned service (``Custom::BlueGreenEcsPinnedService``): that DescribeServices of a
CODE_DEPLOY service names its PRIMARY task set's target group and task definition after UpdateServicePrimaryTaskSet
(moto's ``update_service_primary_task_set``, as users report AWS doing: kayac/ecspresso #936), and keeps the network
it was created with (moto moves only those two; AWS documents "any parameters": the simulator assumes the network
moves too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from blue_green_ecs.handlers.live_lookup import RESOURCE_TYPE, LiveStateError, LiveStateLookup
from blue_green_ecs.handlers.pinned_service import PINNED_KEYS
from blue_green_ecs.handlers.pinned_service import RESOURCE_TYPE as PINNED_SERVICE_TYPE

from ..moto_worlds import ACCOUNT, REGION, Account, LoadBalancer, Network, forward, moto_account, not_found, weighted
from .conftest import CallChecker

PROD_PORT, TEST_PORT = 443, 8443
# Other services' rules on the shared listener: more than moto's page of 50, so the service's is on page two.
OTHER_RULES = 60
# Services in the cluster besides the scenarios' own: more than DescribeServices takes in one call (10).
OTHER_SERVICES = 9
CONFIGURED: dict[str, Any] = {
    "DesiredCount": "2",
    "ContainerName": "app",
    "ContainerPort": "8080",
    "Subnets": ["subnet-0123456789abcdef0"],
    "SecurityGroups": ["sg-0123456789abcdef0"],
    "AssignPublicIp": "DISABLED",
    "PlatformVersion": "LATEST",
}


@dataclass(frozen=True)
class Pair:
    """One service's load balancer and target groups."""

    load_balancer: LoadBalancer
    blue: str
    green: str

    def other(self, target_group: str) -> str:
        """The pair's other target group."""
        return self.green if target_group == self.blue else self.blue


@dataclass(frozen=True)
class World:
    """The scenarios, each on a load balancer of its own, their services in one cluster."""

    account: Account
    network: Network
    cluster: str
    foreign: str  # another service's target group
    swapped: Pair  # CODE_DEPLOY: production on green after a deployment, the service registered in blue
    canary: Pair  # CODE_DEPLOY: a canary deployment moved 10% to green
    hijacked: Pair  # CODE_DEPLOY: production pointed by hand at another service's target group
    fresh: Pair  # a new stack: no listener yet, no service
    native: Pair  # ECS_NATIVE: the 404 default, production on green by the rule at priority 1
    shared: Pair  # ECS_NATIVE on a shared listener: production on green by the service's rule, after 60 others
    shared_listener: str
    deployed: Pair  # CODE_DEPLOY: a new stack, then a deployment (a PRIMARY task set in green)
    deployed_service: str
    deployed_created: tuple[str, dict[str, str]]  # the pinned service's answer to its Create
    deployed_configured: dict[str, Any]


def _pair(account: Account, network: Network) -> Pair:
    load_balancer = account.load_balancer(network)
    return Pair(load_balancer, account.target_group(network, "blue"), account.target_group(network, "green"))


def _build(account: Account) -> World:
    network = account.network()
    cluster = account.cluster()
    task_definition = account.task_definition()
    foreign = account.target_group(network, "other")

    swapped = _pair(account, network)
    account.listener(swapped.load_balancer, PROD_PORT, forward(swapped.green))
    account.listener(swapped.load_balancer, TEST_PORT, forward(swapped.blue))
    # CodeDeploy swaps listeners, not the service: it stays with its creation values, which the lookup answers.
    account.service(cluster, task_definition, swapped.blue, network, desired=3, public_ip="ENABLED")

    canary = _pair(account, network)
    account.listener(canary.load_balancer, PROD_PORT, weighted((canary.blue, 90), (canary.green, 10)))

    hijacked = _pair(account, network)
    account.listener(hijacked.load_balancer, PROD_PORT, forward(foreign))

    fresh = _pair(account, network)

    native = _pair(account, network)
    listener = account.listener(native.load_balancer, PROD_PORT, not_found())
    account.rule(listener, 1, weighted((native.blue, 0), (native.green, 100)))
    account.service(cluster, task_definition, native.blue, network, controller="ECS", desired=4)

    shared = _pair(account, network)
    shared_listener = account.listener(shared.load_balancer, PROD_PORT, not_found())
    for priority in range(100, 100 + OTHER_RULES):
        account.rule(shared_listener, priority, forward(foreign))
    account.rule(shared_listener, 7, weighted((shared.blue, 0), (shared.green, 100)))
    account.service(cluster, task_definition, shared.blue, network, controller="ECS", desired=5)

    for _ in range(OTHER_SERVICES):
        account.service(cluster, task_definition, foreign, network, controller="ECS", desired=1)

    # A new stack: the lookup and the pinned service answer before the listeners and the service exist, then
    # CloudFormation creates them with those answers, then CodeDeploy deploys (its task set PRIMARY in green,
    # CodeDeploy's listener swap).
    deployed = _pair(account, network)
    configured = {
        **CONFIGURED,
        "ContainerName": "web",
        "ContainerPort": "80",
        "Subnets": list(network.subnets),
        "SecurityGroups": [network.security_group],
    }
    lookup = LiveStateLookup(account.client("elbv2"), account.client("ecs"))
    props = {**properties_of(deployed, cluster), "Configured": configured}
    _, looked_up = lookup.on_event(lookup_event("Create", props))
    created = lookup.on_event(pinned_event("Create", deployed, cluster, looked_up))
    assert created[1]["ServiceTargetGroupArn"] == deployed.blue
    prod = account.listener(deployed.load_balancer, PROD_PORT, forward(created[1]["ServiceTargetGroupArn"]))
    test = account.listener(deployed.load_balancer, TEST_PORT, forward(deployed.green))
    service = account.service(cluster, task_definition, created[1]["ServiceTargetGroupArn"], network)
    account.primary_task_set(cluster, service, account.task_definition(), deployed.green, network)
    account.client("elbv2").modify_listener(ListenerArn=prod, DefaultActions=forward(deployed.green))
    account.client("elbv2").modify_listener(ListenerArn=test, DefaultActions=forward(deployed.blue))
    return World(
        account,
        network,
        cluster,
        foreign,
        swapped,
        canary,
        hijacked,
        fresh,
        native,
        shared,
        shared_listener,
        deployed,
        service,
        created,
        configured,
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        yield _build(account)


def properties(world: World, pair: Pair, engine: str = "CODE_DEPLOY", **extra: str) -> dict[str, Any]:
    """The lookup's properties as the construct writes them."""
    return {**properties_of(pair, world.cluster, engine), **extra}


def properties_of(pair: Pair, cluster: str, engine: str = "CODE_DEPLOY") -> dict[str, Any]:
    return {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:trigger",
        "Engine": engine,
        "LoadBalancerArn": pair.load_balancer.arn,
        "ProdPort": str(PROD_PORT),
        "TestPort": str(TEST_PORT),
        "BlueTargetGroupArn": pair.blue,
        "GreenTargetGroupArn": pair.green,
        "ClusterName": cluster,
        "ServiceName": "",
        "Configured": CONFIGURED,
    }


def pinned_event(
    request_type: str, pair: Pair, cluster: str, looked_up: Mapping[str, str], physical_id: str = ""
) -> dict[str, Any]:
    """The pinned service's CloudFormation event: its candidate is the lookup's answer."""
    props = {
        "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:trigger",
        "ClusterName": cluster,
        "ServiceName": "",
        "BlueTargetGroupArn": pair.blue,
        "GreenTargetGroupArn": pair.green,
        "Candidate": {key: looked_up[key] for key in PINNED_KEYS},
    }
    event = {**lookup_event(request_type, props), "ResourceType": PINNED_SERVICE_TYPE}
    if physical_id:
        event["PhysicalResourceId"] = physical_id
    return event


def lookup_event(request_type: str, props: Mapping[str, Any]) -> dict[str, Any]:
    """A CloudFormation event of the lookup; an Update's old properties are its new ones."""
    event: dict[str, Any] = {
        "RequestType": request_type,
        "RequestId": "5d9f0d7e-1c1f-4a35-9f43-6c3b8e0c2a11",
        "LogicalResourceId": "WebLiveState",
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": dict(props),
    }
    if request_type == "Update":
        event["PhysicalResourceId"] = "blue-green-ecs-live-state/unchanged"
        event["OldResourceProperties"] = dict(props)
    return event


def lookup(world: World) -> LiveStateLookup:
    return LiveStateLookup(world.account.client("elbv2"), world.account.client("ecs"))


def configured_values(prod: str, test: str, service: str, alternate: str, desired: str) -> dict[str, str]:
    """``Data`` when the template's values stand (no live CODE_DEPLOY service to keep its own)."""
    return {
        "ProdTargetGroupArn": prod,
        "TestTargetGroupArn": test,
        "ServiceTargetGroupArn": service,
        "ServiceAlternateTargetGroupArn": alternate,
        "DesiredCount": desired,
        "ContainerName": "app",
        "ContainerPort": "8080",
        "Subnets": "subnet-0123456789abcdef0",
        "SecurityGroups": "sg-0123456789abcdef0",
        "AssignPublicIp": "DISABLED",
        "PlatformVersion": "LATEST",
    }


def test_after_a_codedeploy_swap_production_is_green_and_the_service_keeps_its_own_values(world: World) -> None:
    # given production on green by the listener's plain forward, the CODE_DEPLOY service created in blue
    # (desired 3, public IP ENABLED), among twelve services of the cluster; it has no task set (moto creates none),
    # so DescribeServices has its own values: the lookup's answer for a service no pinned service holds yet
    pair = world.swapped

    # when an Update of the stack looks it up
    physical_id, data = lookup(world).on_event(lookup_event("Update", properties(world, pair)))

    # then production and test as the listeners forward, the service's target groups and values as ECS keeps them
    assert physical_id == "blue-green-ecs-live-state/unchanged"
    assert data == {
        "ProdTargetGroupArn": pair.green,
        "TestTargetGroupArn": pair.blue,
        "ServiceTargetGroupArn": pair.blue,
        "ServiceAlternateTargetGroupArn": pair.green,
        "DesiredCount": "3",
        "ContainerName": "web",
        "ContainerPort": "80",
        "Subnets": ",".join(world.network.subnets),
        "SecurityGroups": world.network.security_group,
        "AssignPublicIp": "ENABLED",
        "PlatformVersion": "LATEST",
    }


def test_a_canary_split_on_the_production_listener_is_refused(world: World) -> None:
    pair = world.canary

    with pytest.raises(LiveStateError) as refused:
        lookup(world).on_event(lookup_event("Update", properties(world, pair)))

    assert str(refused.value) == (
        f"Production traffic of the production listener (port {PROD_PORT}) of load balancer "
        f"{pair.load_balancer.arn} is split between the blue and green target groups ({pair.blue} weight 90, "
        f"{pair.green} weight 10): a deployment is shifting traffic. Wait for the deployment to finish, then update "
        "the stack."
    )


def test_production_on_another_services_target_group_is_refused(world: World) -> None:
    pair = world.hijacked

    with pytest.raises(LiveStateError) as refused:
        lookup(world).on_event(lookup_event("Update", properties(world, pair)))

    assert str(refused.value) == (
        f"Production traffic of the production listener (port {PROD_PORT}) of load balancer "
        f"{pair.load_balancer.arn} goes to {world.foreign}, not to the blue ({pair.blue}) or the green "
        f"({pair.green}) target group of this service. Point it back at the target group that holds the running "
        "tasks (aws elbv2 modify-listener or modify-rule), then update the stack."
    )


def test_a_new_stack_without_listeners_or_service_answers_blue_and_the_configured_values(world: World) -> None:
    pair = world.fresh

    physical_id, data = lookup(world).on_event(lookup_event("Create", properties(world, pair)))

    assert physical_id == f"blue-green-ecs-live-state/{pair.load_balancer.full_name}/{PROD_PORT}/{TEST_PORT}"
    assert data == configured_values(pair.blue, pair.green, pair.blue, pair.green, "2")


def test_ecs_native_reads_production_from_the_rule_weights_behind_the_404_default(world: World) -> None:
    # given the listener's fixed-response default and the rule at priority 1 weighted 0/100 (moto's page one)
    pair = world.native

    _, data = lookup(world).on_event(
        lookup_event("Update", properties(world, pair, "ECS_NATIVE", ProdRulePriority="1"))
    )

    # then production is green; the ECS-controller service's live count, the template's values
    assert data == configured_values(pair.green, pair.blue, pair.blue, pair.green, "4")


def test_a_shared_listener_is_read_page_by_page_to_the_services_own_rule(
    world: World, authorized_aws_calls: CallChecker
) -> None:
    # given 60 other services' rules first: the service's rule (priority 7, all on green) is on moto's second
    # page; without it the lookup would answer blue
    pair = world.shared
    props = properties(world, pair, "ECS_NATIVE", ProdRulePriority="7", ProdListenerArn=world.shared_listener)

    _, data = lookup(world).on_event(lookup_event("Update", props))

    assert data == configured_values(pair.green, pair.blue, pair.blue, pair.green, "5")
    assert authorized_aws_calls.calls.count("elasticloadbalancing:DescribeRules") == 2


def test_a_cluster_that_does_not_exist_fails_with_ecs_error(world: World) -> None:
    # given a new stack's lookup naming a cluster deleted since (moto answers ClusterNotFoundException, as ECS does)
    props = {**properties(world, world.fresh), "ClusterName": "deleted-cluster"}

    with pytest.raises(LiveStateError) as failed:
        lookup(world).on_event(lookup_event("Create", props))

    assert str(failed.value) == (
        "The live-state lookup's call ecs:ListServices failed: ClusterNotFoundException: Cluster not found."
    )


def test_after_a_codedeploy_deployment_the_service_is_written_as_it_was_created(world: World) -> None:
    # given a stack created by the lookup's and the pinned service's answers, then a deployment: production on
    # green, and a PRIMARY task set in green, whose target group moto's DescribeServices names for the service
    pair = world.deployed
    created_id, created = world.deployed_created
    ecs = world.account.client("ecs")
    [described] = ecs.describe_services(cluster=world.cluster, services=[world.deployed_service])["services"]
    assert described["loadBalancers"][0]["targetGroupArn"] == pair.green

    # when a stack update asks the lookup, then the pinned service (its candidate: the lookup's answer)
    props = {**properties(world, pair), "Configured": world.deployed_configured}
    _, looked_up = lookup(world).on_event(lookup_event("Update", props))
    physical_id, pinned = lookup(world).on_event(
        pinned_event("Update", pair, world.cluster, looked_up, physical_id=created_id)
    )

    # then the listeners follow production and the lookup DescribeServices (green); the service is written as
    # CloudFormation created it, in blue: no UpdateService of its load balancers, which ECS refuses
    assert (looked_up["ProdTargetGroupArn"], looked_up["ServiceTargetGroupArn"]) == (pair.green, pair.green)
    assert (physical_id, pinned) == (created_id, created)
    assert pinned == {
        "ServiceTargetGroupArn": pair.blue,
        "ContainerName": "web",
        "ContainerPort": "80",
        "Subnets": ",".join(world.network.subnets),
        "SecurityGroups": world.network.security_group,
        "AssignPublicIp": "DISABLED",
        "PlatformVersion": "LATEST",
    }
