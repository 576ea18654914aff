"""The live-state lookup (``Custom::BlueGreenEcsLiveState``) against botocore's Stubber (real API models).

Every scenario is given the live state (listeners, rules, services) as ELBv2 and ECS would answer, and
asserts the exact ``Data`` (every value a string) or the exact refusal CloudFormation shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers.custom_resource import CustomResourceHandler
from blue_green_ecs.handlers.live_lookup import (
    DATA_KEYS,
    RESOURCE_TYPE,
    LiveStateError,
    LiveStateLookup,
    forward_weights,
)
from blue_green_ecs.handlers.messages import DeploymentError
from blue_green_ecs.handlers.pinned_service import PINNED_KEYS
from blue_green_ecs.handlers.pinned_service import RESOURCE_TYPE as PINNED_SERVICE_TYPE

from .fakes import Clock

ACCOUNT = "123456789012"
REGION = "us-east-1"
LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/shop/50dc6c495c0c9188"
NEW_LB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/shop2/60dc6c495c0c9188"
BLUE = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/shop-blue/73e2d6bc24d8a067"
GREEN = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/shop-green/83e2d6bc24d8a067"
OTHER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/other/93e2d6bc24d8a067"
PROD_LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
TEST_LISTENER = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:listener/app/shop/50dc6c495c0c9188/a2f7dc8efc522ab2"
CLUSTER = "shop"
PHYSICAL_ID = "blue-green-ecs-live-state/app/shop/50dc6c495c0c9188/443/8443"
RESPONSE_URL = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/presigned?X-Amz-Signature=abc"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/shop/0a1b2c3d-aaaa-bbbb-cccc-123456789012"
T0 = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)

CONFIGURED: dict[str, Any] = {
    "DesiredCount": "2",
    "ContainerName": "app",
    "ContainerPort": "8080",
    "Subnets": ["subnet-new1", "subnet-new2"],
    "SecurityGroups": ["sg-new"],
    "AssignPublicIp": "DISABLED",
    "PlatformVersion": "LATEST",
}
PROPS: dict[str, Any] = {
    "ServiceToken": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:trigger",
    "Engine": "CODE_DEPLOY",
    "LoadBalancerArn": LB,
    "ProdPort": "443",
    "TestPort": "8443",
    "BlueTargetGroupArn": BLUE,
    "GreenTargetGroupArn": GREEN,
    "ClusterName": CLUSTER,
    "ServiceName": "",
    "Configured": CONFIGURED,
    "Fingerprint": {"ProdListener": {"Certificates": ["arn:aws:acm:cert/1"]}},
}
NATIVE_PROPS: dict[str, Any] = {**PROPS, "Engine": "ECS_NATIVE", "ProdRulePriority": "1", "TestRulePriority": "2"}
# A CODE_DEPLOY service's own values, as created: the lookup answers these, not CONFIGURED.
LIVE_VALUES = {
    "ContainerName": "web",
    "ContainerPort": "80",
    "Subnets": "subnet-old1,subnet-old2",
    "SecurityGroups": "sg-old",
    "AssignPublicIp": "ENABLED",
    # The service reports 1.4.0, what LATEST resolved to; the template's LATEST stays (see below).
    "PlatformVersion": "LATEST",
}
CONFIGURED_VALUES = {
    "ContainerName": "app",
    "ContainerPort": "8080",
    "Subnets": "subnet-new1,subnet-new2",
    "SecurityGroups": "sg-new",
    "AssignPublicIp": "DISABLED",
    "PlatformVersion": "LATEST",
}


def expected(prod: str, service: str, desired: str, values: Mapping[str, str]) -> dict[str, str]:
    other = {BLUE: GREEN, GREEN: BLUE}
    return {
        "ProdTargetGroupArn": prod,
        "TestTargetGroupArn": other[prod],
        "ServiceTargetGroupArn": service,
        "ServiceAlternateTargetGroupArn": other[service],
        "DesiredCount": desired,
        **values,
    }


# ------------------------------------------------------------------------------------------------
# builders and fixtures
# ------------------------------------------------------------------------------------------------


def forward(target_group: str) -> list[dict[str, Any]]:
    """A forward action as ELBv2 describes one CloudFormation created: both forms, weight 1."""
    return [
        {
            "Type": "forward",
            "TargetGroupArn": target_group,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": target_group, "Weight": 1}]},
        }
    ]


def weighted(*weights: tuple[str, int]) -> list[dict[str, Any]]:
    """A weighted forward, as CodeDeploy's canary and ECS's rule weights write it."""
    return [
        {
            "Type": "forward",
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights]},
        }
    ]


def listener(arn: str, port: int, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ListenerArn": arn, "LoadBalancerArn": LB, "Port": port, "Protocol": "HTTPS", "DefaultActions": actions}


def service(name: str, target_group: str, *, desired: int = 5, status: str = "ACTIVE") -> dict[str, Any]:
    return {
        "serviceArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}",
        "serviceName": name,
        "status": status,
        "desiredCount": desired,
        "platformVersion": "1.4.0",
        "loadBalancers": [{"targetGroupArn": target_group, "containerName": "web", "containerPort": 80}],
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-old1", "subnet-old2"],
                "securityGroups": ["sg-old"],
                "assignPublicIp": "ENABLED",
            }
        },
    }


def arn_of(name: str) -> str:
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{CLUSTER}/{name}"


@dataclass
class Env:
    elbv2: Stubber
    ecs: Stubber
    lookup: LiveStateLookup
    sent: list[dict[str, Any]] = field(default_factory=list)

    def put(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append(json.loads(body))
        return 200

    def listeners(self, *found: dict[str, Any], load_balancer: str = LB) -> None:
        self.elbv2.add_response("describe_listeners", {"Listeners": list(found)}, {"LoadBalancerArn": load_balancer})

    def rules(self, *found: dict[str, Any], listener_arn: str = PROD_LISTENER) -> None:
        self.elbv2.add_response("describe_rules", {"Rules": list(found)}, {"ListenerArn": listener_arn})

    def services(self, *found: dict[str, Any]) -> None:
        """ListServices and one DescribeServices (up to 10 services)."""
        arns = [str(item["serviceArn"]) for item in found]
        self.ecs.add_response("list_services", {"serviceArns": arns}, {"cluster": CLUSTER})
        if arns:
            self.ecs.add_response(
                "describe_services", {"services": list(found)}, {"cluster": CLUSTER, "services": arns}
            )


def _client(name: str) -> Any:
    return boto3.client(name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")


@pytest.fixture
def env() -> Iterator[Env]:
    elbv2, ecs = _client("elbv2"), _client("ecs")
    with Stubber(elbv2) as elbv2_stub, Stubber(ecs) as ecs_stub:
        yield Env(elbv2_stub, ecs_stub, LiveStateLookup(elbv2, ecs))
        elbv2_stub.assert_no_pending_responses()
        ecs_stub.assert_no_pending_responses()


def cfn_event(
    request_type: str, props: Mapping[str, Any] = PROPS, old: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": RESPONSE_URL,
        "StackId": STACK_ID,
        "RequestId": "5d9f0d7e-1c1f-4a35-9f43-6c3b8e0c2a11",
        "LogicalResourceId": "WebLiveState",
        "ResourceType": RESOURCE_TYPE,
        "ResourceProperties": dict(props),
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = PHYSICAL_ID
    if request_type == "Update":
        event["OldResourceProperties"] = dict(old if old is not None else props)
    return event


def update(env: Env, props: Mapping[str, Any] = PROPS, old: Mapping[str, Any] | None = None) -> dict[str, str]:
    physical_id, data = env.lookup.on_event(cfn_event("Update", props, old))
    assert physical_id == PHYSICAL_ID
    return data


def refusal(env: Env, props: Mapping[str, Any] = PROPS, old: Mapping[str, Any] | None = None) -> str:
    with pytest.raises(LiveStateError) as raised:
        env.lookup.on_event(cfn_event("Update", props, old))
    return str(raised.value)


# ------------------------------------------------------------------------------------------------
# CODE_DEPLOY
# ------------------------------------------------------------------------------------------------


def test_create_without_listeners_answers_blue_and_the_configured_values(env: Env) -> None:
    # given a new stack: the load balancer has no listener yet and the cluster no service
    env.listeners()
    env.services()

    # when
    physical_id, data = env.lookup.on_event(cfn_event("Create"))

    # then
    assert physical_id == PHYSICAL_ID
    assert data == expected(BLUE, BLUE, "2", CONFIGURED_VALUES)
    assert list(data) == list(DATA_KEYS)


@pytest.mark.parametrize(("swaps", "prod"), [(0, BLUE), (1, GREEN), (2, BLUE)])
def test_update_after_code_deploy_swaps_answers_where_production_is(env: Env, swaps: int, prod: str) -> None:
    # given production where the last of `swaps` deployments left it; the service keeps its creation values
    test = GREEN if prod == BLUE else BLUE
    env.listeners(listener(PROD_LISTENER, 443, forward(prod)), listener(TEST_LISTENER, 8443, forward(test)))
    env.services(service("web", BLUE))

    # when / then: the live task count and the service's own values, never the configured ones
    assert update(env) == expected(prod, BLUE, "5", LIVE_VALUES)


def test_create_with_live_listeners_reads_them(env: Env) -> None:
    """A stack that adopts the lookup after deployments (its first Create) must not send production to blue."""
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.services(service("web", BLUE, desired=3))

    assert env.lookup.on_event(cfn_event("Create")) == (PHYSICAL_ID, expected(GREEN, BLUE, "3", LIVE_VALUES))


@pytest.mark.parametrize(
    ("live", "configured", "answer"),
    [
        ("1.4.0", "LATEST", "LATEST"),  # created with LATEST: a CODE_DEPLOY service reports the resolved one
        ("1.3.0", "1.4.0", "1.3.0"),  # a change UpdateService refuses: the AppSpec deploys it instead
        ("LATEST", "1.4.0", "LATEST"),
        (None, "1.4.0", "1.4.0"),
    ],
)
def test_platform_version_is_the_services_own(env: Env, live: str | None, configured: str, answer: str) -> None:
    found = service("web", BLUE)
    if live is None:
        del found["platformVersion"]
    else:
        found["platformVersion"] = live
    env.listeners()
    env.services(found)

    props = {**PROPS, "Configured": {**CONFIGURED, "PlatformVersion": configured}}
    assert update(env, props)["PlatformVersion"] == answer


def test_update_with_a_port_change_finds_the_listeners_on_the_old_ports(env: Env) -> None:
    # given production on green on port 80, and the update moves it to 443
    old = {**PROPS, "ProdPort": "80", "TestPort": "8080"}
    env.listeners(listener(TEST_LISTENER, 443, forward(OTHER)), listener(PROD_LISTENER, 80, forward(GREEN)))
    env.services(service("web", BLUE))

    assert update(env, PROPS, old) == expected(GREEN, BLUE, "5", LIVE_VALUES)


def test_update_with_a_new_load_balancer_reads_the_old_one(env: Env) -> None:
    old = {**PROPS, "LoadBalancerArn": LB}
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)), load_balancer=LB)
    env.services(service("web", BLUE))

    assert update(env, {**PROPS, "LoadBalancerArn": NEW_LB}, old)["ProdTargetGroupArn"] == GREEN


def test_listener_pages_are_followed(env: Env) -> None:
    env.elbv2.add_response(
        "describe_listeners",
        {"Listeners": [listener(TEST_LISTENER, 8443, forward(BLUE))], "NextMarker": "m1"},
        {"LoadBalancerArn": LB},
    )
    env.elbv2.add_response(
        "describe_listeners",
        {"Listeners": [listener(PROD_LISTENER, 443, forward(GREEN))]},
        {"LoadBalancerArn": LB, "Marker": "m1"},
    )
    env.services()

    assert update(env)["ProdTargetGroupArn"] == GREEN


def test_split_production_weights_are_refused(env: Env) -> None:
    # given a CodeDeploy canary in progress: 90 % blue, 10 % green
    env.listeners(listener(PROD_LISTENER, 443, weighted((BLUE, 90), (GREEN, 10))))

    assert refusal(env) == (
        "Production traffic of the production listener (port 443) of load balancer "
        f"{LB} is split between the blue and green target groups ({BLUE} weight 90, {GREEN} weight 10): a "
        "deployment is shifting traffic. Wait for the deployment to finish, then update the stack."
    )


def test_production_on_a_foreign_target_group_is_refused(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, forward(OTHER)))

    assert refusal(env) == (
        f"Production traffic of the production listener (port 443) of load balancer {LB} goes to {OTHER}, "
        f"not to the blue ({BLUE}) or the green ({GREEN}) target group of this service. Point it back at the "
        "target group that holds the running tasks (aws elbv2 modify-listener or modify-rule), then update the stack."
    )


def test_capacity_provider_strategy_change_on_code_deploy_is_refused(env: Env) -> None:
    old = {**PROPS, "Configured": {**CONFIGURED, "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE"}]}}
    new = {**PROPS, "Configured": {**CONFIGURED, "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT"}]}}
    env.listeners(listener(PROD_LISTENER, 443, forward(BLUE)))

    assert refusal(env, new, old) == (
        'Configured.CapacityProviderStrategy (capacity_provider_strategies) changes from [{"CapacityProvider":'
        '"FARGATE"}] to [{"CapacityProvider":"FARGATE_SPOT"}] on a service with the CODE_DEPLOY deployment '
        "controller, whose capacity provider strategy ECS refuses to update. Give the service a new service_name "
        "(CloudFormation creates a replacement service) or use the ECS-native engine."
    )


def test_capacity_provider_strategy_change_with_a_replacement_service_is_allowed(env: Env) -> None:
    old = {**PROPS, "Configured": {**CONFIGURED, "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE"}]}}
    new = {**PROPS, "ServiceName": "web-v2", "Configured": {**CONFIGURED, "CapacityProviderStrategy": []}}
    env.listeners(listener(PROD_LISTENER, 443, forward(BLUE)))
    env.services(service("web", BLUE))

    assert update(env, new, old)["ServiceTargetGroupArn"] == BLUE


def test_live_service_is_found_among_several_across_pages(env: Env) -> None:
    # given 13 services over two ListServices pages; ours is the 12th, a DRAINING one also names green
    names = [f"other-{index}" for index in range(11)] + ["web", "old-web"]
    described = {name: service(name, OTHER) for name in names}
    described["web"] = service("web", GREEN, desired=7)
    described["old-web"] = service("old-web", BLUE, status="DRAINING")
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.ecs.add_response(
        "list_services", {"serviceArns": [arn_of(n) for n in names[:8]], "nextToken": "t1"}, {"cluster": CLUSTER}
    )
    env.ecs.add_response(
        "list_services", {"serviceArns": [arn_of(n) for n in names[8:]]}, {"cluster": CLUSTER, "nextToken": "t1"}
    )
    # DescribeServices takes at most 10: batches of 10 across the pages, then the rest
    for batch in (names[:10], names[10:]):
        env.ecs.add_response(
            "describe_services",
            {"services": [described[n] for n in batch]},
            {"cluster": CLUSTER, "services": [arn_of(n) for n in batch]},
        )

    assert update(env) == expected(GREEN, GREEN, "7", LIVE_VALUES)


def test_describe_services_batches_hold_ten(env: Env) -> None:
    names = [f"svc-{index:02}" for index in range(12)]
    env.listeners()
    env.ecs.add_response("list_services", {"serviceArns": [arn_of(n) for n in names]}, {"cluster": CLUSTER})
    for batch in (names[:10], names[10:]):
        env.ecs.add_response(
            "describe_services",
            {"services": [service(n, OTHER) for n in batch]},
            {"cluster": CLUSTER, "services": [arn_of(n) for n in batch]},
        )

    assert update(env) == expected(BLUE, BLUE, "2", CONFIGURED_VALUES)


def test_without_a_live_service_the_service_registers_where_production_is(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.services(service("unrelated", OTHER))

    assert update(env) == expected(GREEN, GREEN, "2", CONFIGURED_VALUES)


def test_a_replacement_service_registers_where_production_is(env: Env) -> None:
    # given production on green and the service renamed: CloudFormation creates a new service
    old = {**PROPS, "ServiceName": "web"}
    new = {**PROPS, "ServiceName": "web-v2", "Configured": {**CONFIGURED, "DesiredCount": "3"}}
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.services(service("web", BLUE, desired=4))

    # then the new service starts where production goes, with the configured values and the live load
    assert update(env, new, old) == expected(GREEN, GREEN, "4", CONFIGURED_VALUES)


def test_a_configured_name_the_live_service_lacks_is_a_replacement(env: Env) -> None:
    """The Create of a stack adopting the lookup while also renaming the service."""
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.services(service("web", BLUE, desired=4))

    _, data = env.lookup.on_event(cfn_event("Create", {**PROPS, "ServiceName": "web-v2"}))

    assert data == expected(GREEN, GREEN, "4", CONFIGURED_VALUES)


def test_a_replacement_starts_with_at_least_the_configured_count(env: Env) -> None:
    old = {**PROPS, "ClusterName": CLUSTER}
    new = {**PROPS, "ClusterName": "shop-2"}
    env.listeners(listener(PROD_LISTENER, 443, forward(BLUE)))
    env.services(service("web", BLUE, desired=0))

    assert update(env, new, old)["DesiredCount"] == "2"


# ------------------------------------------------------------------------------------------------
# ECS_NATIVE
# ------------------------------------------------------------------------------------------------


def rule(priority: str, actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "RuleArn": f"{PROD_LISTENER.replace(':listener/', ':listener-rule/')}/{priority}",
        "Priority": priority,
        "Actions": actions,
        "IsDefault": priority == "default",
    }


@pytest.mark.parametrize(("weights", "prod"), [((100, 0), BLUE), ((0, 100), GREEN)])
def test_ecs_native_reads_the_production_rule_weights(env: Env, weights: tuple[int, int], prod: str) -> None:
    # given the listener's 404 default, and the rule ECS weighted; the rules come in two pages
    env.listeners(
        listener(PROD_LISTENER, 443, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
    )
    env.elbv2.add_response(
        "describe_rules",
        {"Rules": [rule("default", [{"Type": "fixed-response"}])], "NextMarker": "r1"},
        {"ListenerArn": PROD_LISTENER},
    )
    env.elbv2.add_response(
        "describe_rules",
        {"Rules": [rule("1", weighted((BLUE, weights[0]), (GREEN, weights[1])))]},
        {"ListenerArn": PROD_LISTENER, "Marker": "r1"},
    )
    # ECS moved the service's own target group after its last deployment
    env.services(service("web", prod, desired=6))

    # then the rule keeps production's weights, and the service its target groups; values as configured
    assert update(env, NATIVE_PROPS) == expected(prod, prod, "6", CONFIGURED_VALUES)


def test_ecs_native_without_the_rule_answers_blue(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, [{"Type": "fixed-response"}]))
    env.rules(rule("default", [{"Type": "fixed-response"}]))
    env.services()

    assert update(env, NATIVE_PROPS) == expected(BLUE, BLUE, "2", CONFIGURED_VALUES)


def test_ecs_native_split_weights_are_refused(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, [{"Type": "fixed-response"}]))
    env.rules(rule("1", weighted((BLUE, 50), (GREEN, 50))))

    assert refusal(env, NATIVE_PROPS).startswith(
        "Production traffic of the production rule (priority 1) of the production listener (port 443) of load "
        f"balancer {LB} is split between the blue and green target groups ({BLUE} weight 50, {GREEN} weight 50)"
    )


# ------------------------------------------------------------------------------------------------
# ECS_NATIVE on a shared load balancer (ProdListenerArn)
# ------------------------------------------------------------------------------------------------

# The construct's properties on a BlueGreenLoadBalancer: the shared production listener by ARN, the service's rules
# at its routing priority (ProdPort/TestPort are sent, and not used).
SHARED_PROPS: dict[str, Any] = {
    **NATIVE_PROPS,
    "ProdListenerArn": PROD_LISTENER,
    "ProdRulePriority": "10",
    "TestRulePriority": "10",
}
SHARED_LISTENER = f"the shared production listener {PROD_LISTENER}"


def other_services_rule(priority: str) -> dict[str, Any]:
    """Another service's rule on the shared listener, forwarding to its own target group."""
    return rule(priority, weighted((OTHER, 100)))


def test_shared_listener_production_is_read_from_the_rule_at_the_services_priority(env: Env) -> None:
    # given the shared listener's rules: another service's first, this service's at 10 on green, the 404 default;
    # no DescribeListeners (the Stubber refuses a call it was not given): the listener is named, not found by port
    env.rules(other_services_rule("5"), rule("10", weighted((BLUE, 0), (GREEN, 100))), rule("default", [{"Type": "x"}]))
    env.services(service("api", GREEN, desired=3))

    # then production is where this service's rule forwards, not where the first rule does
    assert update(env, SHARED_PROPS) == expected(GREEN, GREEN, "3", CONFIGURED_VALUES)


def test_shared_listener_priority_change_reads_the_rule_at_the_old_priority(env: Env) -> None:
    # given production on green by the rule at 10; the update moves the service's rules to 7 (still free)
    env.rules(other_services_rule("5"), rule("10", weighted((BLUE, 0), (GREEN, 100))))
    env.services(service("api", GREEN))
    moved = {**SHARED_PROPS, "ProdRulePriority": "7", "TestRulePriority": "7"}

    # then the rule is found at its old priority: production stays on green (at 7 there is no rule yet: blue)
    assert update(env, moved, SHARED_PROPS) == expected(GREEN, GREEN, "5", CONFIGURED_VALUES)


def test_shared_listener_change_reads_the_rules_on_the_old_listener(env: Env) -> None:
    # given the service moving to another shared listener: its rules are still on the old one
    env.rules(rule("10", weighted((BLUE, 0), (GREEN, 100))))
    env.services(service("api", GREEN))
    moved = {**SHARED_PROPS, "ProdListenerArn": TEST_LISTENER}

    assert update(env, moved, SHARED_PROPS) == expected(GREEN, GREEN, "5", CONFIGURED_VALUES)


def test_shared_listener_split_weights_are_refused(env: Env) -> None:
    env.rules(other_services_rule("5"), rule("10", weighted((BLUE, 90), (GREEN, 10))))

    assert refusal(env, SHARED_PROPS) == (
        f"Production traffic of the production rule (priority 10) of {SHARED_LISTENER} is split between the blue "
        f"and green target groups ({BLUE} weight 90, {GREEN} weight 10): a deployment is shifting traffic. Wait "
        "for the deployment to finish, then update the stack."
    )


def test_shared_listener_rule_forwarding_to_a_foreign_target_group_is_refused(env: Env) -> None:
    # given the service's rule (10) pointed by hand at another service's target group
    env.rules(other_services_rule("5"), rule("10", weighted((OTHER, 100), (BLUE, 0))))

    assert refusal(env, SHARED_PROPS) == (
        f"Production traffic of the production rule (priority 10) of {SHARED_LISTENER} goes to {OTHER}, not to "
        f"the blue ({BLUE}) or the green ({GREEN}) target group of this service. Point it back at the target group "
        "that holds the running tasks (aws elbv2 modify-listener or modify-rule), then update the stack."
    )


# ------------------------------------------------------------------------------------------------
# engine switches
# ------------------------------------------------------------------------------------------------


def test_engine_switch_with_production_on_blue_is_refused_too(env: Env) -> None:
    # given CODE_DEPLOY after an even number of deployments, switched to ECS_NATIVE: the production
    # listener would answer 404 until the new rule exists (tests/test_day_two.py shows the window)
    env.listeners(listener(PROD_LISTENER, 443, forward(BLUE)))

    assert refusal(env, NATIVE_PROPS, PROPS) == (
        "Engine changes from CODE_DEPLOY to ECS_NATIVE (production traffic goes to the blue target group): "
        "switching engines in place would interrupt production traffic. Migrate with the side-by-side "
        "procedure of docs/engines.md ('Migrating a service between engines')."
    )


def test_engine_switch_with_production_on_green_is_refused(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))

    assert refusal(env, NATIVE_PROPS, PROPS) == (
        "Engine changes from CODE_DEPLOY to ECS_NATIVE (production traffic goes to the green target group): "
        "switching engines in place would interrupt production traffic. Migrate with the side-by-side "
        "procedure of docs/engines.md ('Migrating a service between engines')."
    )


def test_engine_switch_from_ecs_native_is_refused(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, [{"Type": "fixed-response"}]))
    env.rules(rule("1", weighted((BLUE, 0), (GREEN, 100))))

    assert "Engine changes from ECS_NATIVE to CODE_DEPLOY" in refusal(env, PROPS, NATIVE_PROPS)


# ------------------------------------------------------------------------------------------------
# actions
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actions", "weights"),
    [
        ([{"Type": "forward", "TargetGroupArn": BLUE}], {BLUE: 1}),
        ([{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": GREEN}]}}], {GREEN: 1}),
        (
            [
                {"Type": "forward", "Order": 2, "TargetGroupArn": GREEN},
                {"Type": "authenticate-oidc", "Order": 1},
            ],
            {GREEN: 1},
        ),
        ([{"Type": "redirect"}], {}),
    ],
)
def test_forward_weights_read_both_forms(actions: list[dict[str, Any]], weights: dict[str, int]) -> None:
    assert forward_weights(actions) == weights


# ------------------------------------------------------------------------------------------------
# through the provider: answers to CloudFormation
# ------------------------------------------------------------------------------------------------


def provider(env: Env) -> CustomResourceHandler:
    return CustomResourceHandler(put=env.put, sleep=lambda _: None, live_state=env.lookup)


def test_provider_answers_create_with_data_in_one_invocation(env: Env) -> None:
    env.listeners()
    env.services()

    assert provider(env).handle(cfn_event("Create")) == {"Status": "SUCCESS"}

    [body] = env.sent
    assert (body["Status"], body["PhysicalResourceId"], body["Reason"]) == ("SUCCESS", PHYSICAL_ID, "")
    assert body["Data"] == expected(BLUE, BLUE, "2", CONFIGURED_VALUES)


def test_provider_keeps_the_physical_id_when_the_ports_change(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    env.services()

    provider(env).handle(cfn_event("Update", {**PROPS, "ProdPort": "4443"}, PROPS))

    assert [body["PhysicalResourceId"] for body in env.sent] == [PHYSICAL_ID]


def test_provider_answers_delete_without_aws_calls(env: Env) -> None:
    # the Stubbers hold no responses: any call would raise
    assert provider(env).handle(cfn_event("Delete")) == {"Status": "SUCCESS"}

    assert [(b["Status"], b["PhysicalResourceId"], b["Data"]) for b in env.sent] == [("SUCCESS", PHYSICAL_ID, {})]


def test_provider_answers_a_refusal_as_failed(env: Env) -> None:
    env.listeners(listener(PROD_LISTENER, 443, forward(OTHER)))

    provider(env).handle(cfn_event("Update"))

    [body] = env.sent
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", PHYSICAL_ID)
    assert body["Reason"].startswith("Production traffic of the production listener (port 443)")


def test_provider_answers_access_denied_with_the_code(env: Env) -> None:
    message = (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/trigger/fn is not authorized to perform: "
        "elasticloadbalancing:DescribeListeners"
    )
    env.elbv2.add_client_error(
        "describe_listeners", "AccessDenied", message, http_status_code=403, expected_params={"LoadBalancerArn": LB}
    )

    provider(env).handle(cfn_event("Update"))

    assert [(b["Status"], b["Reason"]) for b in env.sent] == [
        (
            "FAILED",
            "The live-state lookup's call elasticloadbalancing:DescribeListeners failed: AccessDenied: "
            f"{message}. Grant elasticloadbalancing:DescribeListeners to the deployment trigger's role (the "
            "construct grants it).",
        )
    ]


def test_provider_answers_throttling_after_botocores_retries_as_failed(env: Env) -> None:
    env.listeners()
    env.ecs.add_client_error(
        "list_services",
        "ThrottlingException",
        "Rate exceeded",
        http_status_code=400,
        expected_params={"cluster": CLUSTER},
    )

    provider(env).handle(cfn_event("Update"))

    # the Stubber answers once; in Lambda botocore's standard mode has retried 5 times before this
    assert [(b["Status"], b["Reason"]) for b in env.sent] == [
        (
            "FAILED",
            "The live-state lookup could not read the live state: ecs:ListServices still failing after 1 "
            "attempt(s): ThrottlingException: Rate exceeded. Nothing was changed; update the stack again.",
        )
    ]


def test_provider_answers_an_invalid_property_as_failed(env: Env) -> None:
    provider(env).handle(cfn_event("Create", {**PROPS, "ProdPort": "https"}))

    assert [(b["Status"], b["Reason"]) for b in env.sent] == [
        ("FAILED", "The live-state lookup's property 'ProdPort' must be a port number, got 'https'.")
    ]


def test_a_replaced_target_group_pair_is_refused(env: Env) -> None:
    # given production on green, and an update whose target groups are new ones (container_port changed:
    # a target group's port is create-only); the running tasks stay registered in the old pair
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)))
    new = {**PROPS, "BlueTargetGroupArn": BLUE + "-new", "GreenTargetGroupArn": GREEN + "-new"}

    assert refusal(env, new, PROPS) == (
        f"The target groups are being replaced, and the running tasks stay registered in the old ones (production: "
        f"{GREEN}): not possible in place. Migrate with the side-by-side procedure of docs/engines.md ('Migrating a "
        "service between engines')."
    )


# ------------------------------------------------------------------------------------------------
# AccessDenied: a Create waits for IAM to show the role's new policies, an Update does not
# ------------------------------------------------------------------------------------------------

DENIED_MESSAGE = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/trigger/fn is not authorized to perform: "
    "elasticloadbalancing:DescribeListeners because no identity-based policy allows the "
    "elasticloadbalancing:DescribeListeners action"
)


def deny_listeners(env: Env, times: int) -> None:
    for _ in range(times):
        env.elbv2.add_client_error(
            "describe_listeners",
            "AccessDenied",
            DENIED_MESSAGE,
            http_status_code=403,
            expected_params={"LoadBalancerArn": LB},
        )


def patient_provider(env: Env, sleeps: list[float]) -> CustomResourceHandler:
    """The provider with the env's clients, on a clock that each of the lookup's sleeps moves."""
    clock = Clock(T0)

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.now += timedelta(seconds=seconds)

    lookup = LiveStateLookup(env.elbv2.client, env.ecs.client, clock=clock, sleep=sleep)
    return CustomResourceHandler(put=env.put, clock=clock, sleep=sleep, live_state=lookup)


def test_create_waits_out_access_denied_while_iam_shows_the_new_policy(env: Env) -> None:
    # given the first Create, denied twice (CloudFormation has just created the role's policy), then answered
    deny_listeners(env, 2)
    env.listeners()
    env.services()
    sleeps: list[float] = []

    # when
    patient_provider(env, sleeps).handle(cfn_event("Create"))

    # then it answers SUCCESS with the template's values, after waits of 2 and 4 s
    assert sleeps == [2.0, 4.0]
    [body] = env.sent
    assert (body["Status"], body["Data"]) == ("SUCCESS", expected(BLUE, BLUE, "2", CONFIGURED_VALUES))


def test_create_still_denied_after_the_grace_fails_with_the_permission(env: Env) -> None:
    # given a Create denied for longer than two minutes
    deny_listeners(env, 8)
    sleeps: list[float] = []

    # when
    patient_provider(env, sleeps).handle(cfn_event("Create"))

    # then the lookup fails, naming the permission and how long it waited
    assert sum(sleeps) == 120
    assert [(b["Status"], b["Reason"]) for b in env.sent] == [
        (
            "FAILED",
            "The live-state lookup's call elasticloadbalancing:DescribeListeners failed: AccessDenied: "
            f"{DENIED_MESSAGE}. Grant elasticloadbalancing:DescribeListeners to the deployment trigger's role (the "
            "construct grants it). Still denied 2 minutes after the request arrived, longer than a Create waits for "
            "IAM to show the role's new policies.",
        )
    ]


def test_update_fails_at_once_on_access_denied(env: Env) -> None:
    # given an Update, denied
    deny_listeners(env, 1)
    sleeps: list[float] = []

    # when
    patient_provider(env, sleeps).handle(cfn_event("Update"))

    # then it fails with the permission, without waiting
    assert sleeps == []
    [body] = env.sent
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith("The live-state lookup's call elasticloadbalancing:DescribeListeners failed")
    assert "Still denied" not in body["Reason"]


# ------------------------------------------------------------------------------------------------
# the pinned service (Custom::BlueGreenEcsPinnedService): what CloudFormation created a CODE_DEPLOY service with
# ------------------------------------------------------------------------------------------------

# The lookup's answer for a new service on a new stack, the pinned service's Candidate (each value a Fn::GetAtt).
CREATED = expected(BLUE, BLUE, "2", CONFIGURED_VALUES)
PINNED = {key: CREATED[key] for key in PINNED_KEYS}
PINNED_PROPS: dict[str, Any] = {
    "ServiceToken": PROPS["ServiceToken"],
    "ClusterName": CLUSTER,
    "ServiceName": "",
    "BlueTargetGroupArn": BLUE,
    "GreenTargetGroupArn": GREEN,
    "Candidate": PINNED,
}
# What the pinned service answered to its Create: its service's part (a hash of cluster, name and blue target
# group), then the values, the target group by its role in the pair.
PINNED_ID = (
    "blue-green-ecs-pinned-service/f81fa209b79de952#"
    '{"ServiceTargetGroupArn":"blue","ContainerName":"app","ContainerPort":"8080",'
    '"Subnets":"subnet-new1,subnet-new2","SecurityGroups":"sg-new","AssignPublicIp":"DISABLED",'
    '"PlatformVersion":"LATEST"}'
)
# DescribeServices after one deployment that also carried a new container name and subnets: the PRIMARY task
# set's values, which the lookup answers for a service it has no pinned values of.
AFTER_A_DEPLOYMENT = {
    **PINNED,
    "ServiceTargetGroupArn": GREEN,
    "ContainerName": "app2",
    "Subnets": "subnet-other1,subnet-other2",
}


def pinned_event(
    request_type: str, props: Mapping[str, Any] = PINNED_PROPS, old: Mapping[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    event = {**cfn_event(request_type, PROPS, PROPS), "ResourceType": PINNED_SERVICE_TYPE, **extra}
    event["LogicalResourceId"] = "WebLiveStatePinnedService"
    event["ResourceProperties"] = dict(props)
    if request_type == "Create":
        event.pop("PhysicalResourceId", None)
    else:
        event["PhysicalResourceId"] = extra.get("PhysicalResourceId", PINNED_ID)
    if request_type == "Update":
        event["OldResourceProperties"] = dict(old if old is not None else props)
    return event


def test_the_pinned_service_answers_its_create_with_the_lookups_answer_and_holds_it(env: Env) -> None:
    # given the first create: the lookup answered blue and the configured values (the Stubbers hold no response:
    # the pinned service makes no AWS call)

    # when
    physical_id, data = env.lookup.on_event(pinned_event("Create"))

    # then the service is created with them, and the physical id holds them
    assert (physical_id, data) == (PINNED_ID, PINNED)


@pytest.mark.parametrize("candidate", [AFTER_A_DEPLOYMENT, PINNED, {**PINNED, "PlatformVersion": "1.4.0"}])
def test_the_same_service_is_written_as_it_was_created_whatever_describe_services_says(
    env: Env, candidate: Mapping[str, str]
) -> None:
    # given the service after deployments: the lookup's answer is what DescribeServices says (the PRIMARY task set's)
    props = {**PINNED_PROPS, "Candidate": candidate}

    # when an update asks again
    physical_id, data = env.lookup.on_event(pinned_event("Update", props, PINNED_PROPS))

    # then the service is written as CloudFormation created it (ECS refuses UpdateService of any of it)
    assert (physical_id, data) == (PINNED_ID, PINNED)


def test_after_a_deployment_the_lookup_follows_describe_services_and_the_service_keeps_its_creation_values(
    env: Env,
) -> None:
    # given the first create (no listener, no service), then one deployment: production on green, and
    # DescribeServices naming the PRIMARY task set's green target group, container and subnets
    env.listeners()
    env.services()
    _, created = env.lookup.on_event(cfn_event("Create"))
    created_id, _ = env.lookup.on_event(pinned_event("Create", {**PINNED_PROPS, "Candidate": created}))
    live = service("web", GREEN, desired=2)
    live["loadBalancers"][0].update(containerName="app2", containerPort=8080)
    live["networkConfiguration"]["awsvpcConfiguration"]["subnets"] = ["subnet-other1", "subnet-other2"]
    env.listeners(listener(PROD_LISTENER, 443, forward(GREEN)), listener(TEST_LISTENER, 8443, forward(BLUE)))
    env.services(live)

    # when a stack update asks the lookup, then the pinned service
    _, looked_up = env.lookup.on_event(cfn_event("Update"))
    candidate = {key: looked_up[key] for key in PINNED_KEYS}
    pinned_id, pinned = env.lookup.on_event(
        pinned_event("Update", {**PINNED_PROPS, "Candidate": candidate}, PhysicalResourceId=created_id)
    )

    # then the listeners follow production, while the service is written as it was created (before: with
    # DescribeServices' green target group, which ECS refuses to write to a CODE_DEPLOY service)
    assert (looked_up["ProdTargetGroupArn"], candidate["ServiceTargetGroupArn"]) == (GREEN, GREEN)
    assert (pinned_id, pinned) == (PINNED_ID, PINNED)


def test_a_replacement_service_is_created_with_the_lookups_answer_and_holds_it(env: Env) -> None:
    # given production on green and a new service name: the lookup answers green and the configured values
    replacement = {**PINNED_PROPS, "ServiceName": "web-v2", "Candidate": {**PINNED, "ServiceTargetGroupArn": GREEN}}

    # when
    physical_id, data = env.lookup.on_event(pinned_event("Update", replacement, PINNED_PROPS))

    # then a new physical id (CloudFormation deletes the old one in its cleanup, or this one if the update rolls
    # back, putting the old one back with its values)
    assert data == {**PINNED, "ServiceTargetGroupArn": GREEN}
    assert physical_id == PINNED_ID.replace("f81fa209b79de952", "9303f7d04d3dcf15").replace('"blue"', '"green"')


def test_a_rollback_to_the_service_it_holds_answers_what_it_holds(env: Env) -> None:
    # given a failed update that changed the candidate (not the service): CloudFormation sends the old
    # properties back, and the lookup's answer, asked again, is a replacement's (it compares the properties)
    rolled_back = {**PINNED_PROPS, "Candidate": {**PINNED, "ServiceTargetGroupArn": GREEN}}

    assert env.lookup.on_event(pinned_event("Update", rolled_back, PINNED_PROPS)) == (PINNED_ID, PINNED)


@pytest.mark.parametrize(
    "physical_id",
    [
        "blue-green-ecs-pinned-service/f81fa209b79de952",
        "blue-green-ecs-pinned-service/f81fa209b79de952#{not json",
        PINNED_ID.replace('"blue"', '"purple"'),
        PINNED_ID.replace(',"PlatformVersion":"LATEST"', ""),
    ],
)
def test_a_physical_id_holding_no_values_answers_the_candidate(env: Env, physical_id: str) -> None:
    props = {**PINNED_PROPS, "Candidate": AFTER_A_DEPLOYMENT}

    _, data = env.lookup.on_event(pinned_event("Update", props, PhysicalResourceId=physical_id))

    assert data == AFTER_A_DEPLOYMENT


def test_the_largest_configuration_ecs_takes_fits_the_physical_id(env: Env) -> None:
    # 16 subnets and 5 security groups (awsvpcConfiguration's limits), a container name of 255 characters
    largest = {
        **PINNED,
        "ContainerName": "c" * 255,
        "ContainerPort": "65535",
        "Subnets": ",".join(f"subnet-{index:017x}" for index in range(16)),
        "SecurityGroups": ",".join(f"sg-{index:017x}" for index in range(5)),
        "AssignPublicIp": "DISABLED",
        "PlatformVersion": "1.4.0",
        "ServiceTargetGroupArn": GREEN,
    }

    physical_id, data = env.lookup.on_event(pinned_event("Create", {**PINNED_PROPS, "Candidate": largest}))

    assert data == largest
    assert len(physical_id.encode()) <= 1024


def test_values_longer_than_a_physical_id_holds_are_refused(env: Env) -> None:
    too_long = {**PINNED, "Subnets": ",".join(f"subnet-{index:017x}" for index in range(40))}

    with pytest.raises(DeploymentError) as refused:
        env.lookup.on_event(pinned_event("Create", {**PINNED_PROPS, "Candidate": too_long}))

    assert str(refused.value).startswith(
        "The service's load balancer and network settings are longer than a physical id holds (1 KB): "
        "blue-green-ecs-pinned-service/f81fa209b79de952#"
    )
    assert str(refused.value).endswith(
        "Give the service fewer subnets or security groups, or a shorter container_name."
    )


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        (
            {**PINNED_PROPS, "Candidate": {"ContainerName": "app"}},
            f"The pinned service's property 'Candidate' must hold {list(PINNED_KEYS)}, got {{'ContainerName': 'app'}}.",
        ),
        (
            {**PINNED_PROPS, "Candidate": {**PINNED, "ServiceTargetGroupArn": OTHER}},
            f"The pinned service's candidate target group {OTHER} is neither of its pair {[BLUE, GREEN]}.",
        ),
        ({**PINNED_PROPS, "ClusterName": ""}, "The pinned service is missing the property 'ClusterName' (got '')."),
    ],
)
def test_invalid_pinned_service_properties_fail_with_the_property(
    env: Env, props: Mapping[str, Any], reason: str
) -> None:
    provider(env).handle(pinned_event("Create", props))

    assert [(b["Status"], b["Reason"]) for b in env.sent] == [("FAILED", reason)]


def test_the_provider_answers_the_pinned_service_in_one_invocation_without_aws_calls(env: Env) -> None:
    # the Stubbers hold no responses: any call would raise
    provider(env).handle(pinned_event("Update"))
    provider(env).handle(pinned_event("Delete"))

    assert [(b["Status"], b["PhysicalResourceId"], b["Data"]) for b in env.sent] == [
        ("SUCCESS", PINNED_ID, PINNED),
        ("SUCCESS", PINNED_ID, {}),
    ]
