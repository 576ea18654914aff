"""``test_traffic_header``: the header rule, its router hook, their ordering and permissions, and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Token
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Annotations, Match

from blue_green_ecs import (
    BlueGreenFargateService,
    BlueGreenLoadBalancer,
    DeploymentEngine,
    DeploymentHooks,
    Routing,
    TestTrafficHeader,
)

from .. import configurations
from ..conftest import Synthesized
from ..support import logical_id, new_stack, only, resources_of_type, synth

IMAGE = ecs.ContainerImage.from_registry(configurations.IMAGE)
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"


@pytest.fixture(scope="module")
def ecs_native() -> Synthesized:
    stack, service = configurations.ecs_test_traffic()
    return Synthesized(stack, service, synth(stack))


def _depends_on(resource: dict[str, Any]) -> list[str]:
    depends = resource.get("DependsOn", [])
    return [depends] if isinstance(depends, str) else list(depends)


def test_code_deploy_rule_forwards_where_the_lookup_says_the_next_deployment_starts(
    existing_cluster: Synthesized,
) -> None:
    stack, service, template = existing_cluster.stack, existing_cluster.service, existing_cluster.template
    rule = service.test_traffic_rule
    assert rule is not None
    resource = resources_of_type(template, RULE)[logical_id(stack, rule)]
    lookup, _ = only(template, "Custom::BlueGreenEcsLiveState")
    # the header condition at priority 1 on the production listener, forwarding to the lookup's answer
    assert resource["Properties"]["ListenerArn"] == {"Ref": logical_id(stack, service.prod_listener)}
    assert resource["Properties"]["Priority"] == 1
    [condition] = resource["Properties"]["Conditions"]
    assert condition["HttpHeaderConfig"]["HttpHeaderName"] == "x-blue-green"
    assert "resolve:secretsmanager:test-traffic" in json.dumps(condition)
    assert resource["Properties"]["Actions"] == [
        {"Type": "forward", "TargetGroupArn": {"Fn::GetAtt": [lookup, "TestTargetGroupArn"]}}
    ]
    # neither target group may go while the rule might name it
    blue, green = (logical_id(stack, x) for x in (service.blue_target_group, service.green_target_group))
    assert {blue, green} <= set(_depends_on(resource))


def test_the_lookup_reruns_with_every_revision_and_keeps_the_secret_out(existing_cluster: Synthesized) -> None:
    stack, service, template = existing_cluster.stack, existing_cluster.service, existing_cluster.template
    _, lookup = only(template, "Custom::BlueGreenEcsLiveState")
    assert lookup["Properties"]["TaskDefinition"] == {"Ref": logical_id(stack, service.task_definition)}
    fingerprint = json.dumps(lookup["Properties"]["Fingerprint"])
    assert "TestTrafficRule" in fingerprint
    assert "secretsmanager" not in fingerprint
    assert "<secret>" in fingerprint


def test_code_deploy_router_runs_at_after_install_and_the_trigger_waits_for_rule_and_permission(
    existing_cluster: Synthesized,
) -> None:
    stack, service, template = existing_cluster.stack, existing_cluster.service, existing_cluster.template
    router = service.test_traffic_router
    assert router is not None
    assert service.deployment_trigger is not None
    assert service.hooks["AfterInstall"] is router.function
    trigger = template.to_json()["Resources"][logical_id(stack, service.deployment_trigger.resource)]
    assert {logical_id(stack, service.test_traffic_rule), logical_id(stack, router.modify_policy)} <= set(
        _depends_on(trigger)
    )
    appspec = json.dumps(trigger["Properties"])
    assert logical_id(stack, router.function) in appspec
    # the function finds its own load balancer's listener by port (a Ref would wait for the lookup)
    function = template.to_json()["Resources"][logical_id(stack, router.function)]
    variables = function["Properties"]["Environment"]["Variables"]
    assert variables["PROD_LISTENER_ARN"] == ""
    assert variables["PROD_PORT"] == "80"
    assert variables["PROD_RULE_PRIORITY"] == ""
    assert variables["TEST_TRAFFIC_RULE_PRIORITY"] == "1"
    assert function["Properties"]["Handler"] == "test_traffic_router.handler"
    # its calls give up within about 75 s each (lifecycle_hook.HOOK_CLIENT_CONFIG), so it always reports in time
    assert function["Properties"]["Timeout"] == 300


def test_router_may_modify_exactly_its_rule(existing_cluster: Synthesized) -> None:
    stack, service, template = existing_cluster.stack, existing_cluster.service, existing_cluster.template
    router = service.test_traffic_router
    assert router is not None
    policy = template.to_json()["Resources"][logical_id(stack, router.modify_policy)]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": "elasticloadbalancing:ModifyRule",
            "Effect": "Allow",
            "Resource": {"Ref": logical_id(stack, service.test_traffic_rule)},
        }
    ]
    # and CodeDeploy may invoke it, which may report to this deployment group only
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "codedeploy:PutLifecycleEventHookExecutionStatus",
                                "Resource": Match.any_value(),
                            }
                        )
                    ]
                )
            },
            "Roles": [{"Ref": logical_id(stack, router.function.role)}],
        },
    )


def test_ecs_native_rule_sits_ahead_of_the_production_rule_which_moved_to_10(ecs_native: Synthesized) -> None:
    stack, service, template = ecs_native.stack, ecs_native.service, ecs_native.template
    rules = resources_of_type(template, RULE)
    header = rules[logical_id(stack, service.test_traffic_rule)]
    assert header["Properties"]["Priority"] == 1
    assert rules[logical_id(stack, service.prod_listener_rule)]["Properties"]["Priority"] == 10
    assert rules[logical_id(stack, service.test_listener_rule)]["Properties"]["Priority"] == 1
    assert header["Properties"]["Conditions"][0]["HttpHeaderConfig"]["HttpHeaderName"] == "x-canary"
    # created after the production rule leaves priority 1; the service update (the deployment) waits for it
    assert logical_id(stack, service.prod_listener_rule) in _depends_on(header)
    resources = template.to_json()["Resources"]
    router = service.test_traffic_router
    assert router is not None
    assert {logical_id(stack, service.test_traffic_rule), logical_id(stack, router.modify_policy)} <= set(
        _depends_on(resources[logical_id(stack, service.service)])
    )
    # the router runs at POST_SCALE_UP, where ECS has registered green and moved no traffic
    hooks = resources[logical_id(stack, service.service)]["Properties"]["DeploymentConfiguration"]["LifecycleHooks"]
    [hook] = hooks
    assert hook["LifecycleStages"] == ["POST_SCALE_UP"]
    assert hook["HookTargetArn"] == {"Fn::GetAtt": [logical_id(stack, router.function), "Arn"]}
    variables = resources[logical_id(stack, router.function)]["Properties"]["Environment"]["Variables"]
    assert variables["PROD_RULE_PRIORITY"] == "10"


def test_a_short_literal_value_is_a_warning_a_long_one_is_not(ecs_native: Synthesized) -> None:
    assert not Annotations.from_stack(ecs_native.stack).find_warning("*", Match.string_like_regexp("guesses it"))
    stack = new_stack("Short")
    BlueGreenFargateService(stack, "Web", image=IMAGE, test_traffic_header=TestTrafficHeader(value="green"))
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("guesses it"))
    assert len(warnings) == 1


def test_without_the_header_there_is_no_rule_router_or_revision_property(sample: Synthesized) -> None:
    assert sample.service.test_traffic_rule is None
    assert sample.service.test_traffic_router is None
    _, lookup = only(sample.template, "Custom::BlueGreenEcsLiveState")
    assert "TaskDefinition" not in lookup["Properties"]


def _shared(priority: int | None, *, routing: Routing | None = None, second: int | None = None) -> None:
    stack = new_stack("Shared")
    cluster = configurations.cluster_with_insights(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=cluster.vpc)
    BlueGreenFargateService(
        stack,
        "Api",
        image=IMAGE,
        cluster=cluster,
        engine=DeploymentEngine.ECS_NATIVE,
        shared_load_balancer=edge,
        routing=routing or Routing(priority=20, host_headers=["api.example.com"]),
        test_traffic_header=TestTrafficHeader(value="a-long-random-shared-secret-0123", priority=priority),
    )
    if second is not None:
        BlueGreenFargateService(
            stack,
            "Web",
            image=IMAGE,
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=second, path_patterns=["/web/*"]),
        )


def test_on_a_shared_load_balancer_the_rule_carries_the_routing_conditions() -> None:
    stack = new_stack("SharedOk")
    cluster = configurations.cluster_with_insights(stack)
    edge = BlueGreenLoadBalancer(stack, "Edge", vpc=cluster.vpc)
    service = BlueGreenFargateService(
        stack,
        "Api",
        image=IMAGE,
        cluster=cluster,
        engine=DeploymentEngine.ECS_NATIVE,
        shared_load_balancer=edge,
        routing=Routing(priority=20, host_headers=["api.example.com"]),
        test_traffic_header=TestTrafficHeader(value="a-long-random-shared-secret-0123", priority=19),
    )
    template = synth(stack)
    header = resources_of_type(template, RULE)[logical_id(stack, service.test_traffic_rule)]
    assert header["Properties"]["Priority"] == 19
    assert [c["Field"] for c in header["Properties"]["Conditions"]] == ["host-header", "http-header"]
    router = service.test_traffic_router
    assert router is not None
    variables = template.to_json()["Resources"][logical_id(stack, router.function)]["Properties"]["Environment"]
    assert variables["Variables"]["PROD_LISTENER_ARN"] == {"Ref": logical_id(stack, edge.prod_listener)}
    assert variables["Variables"]["PROD_RULE_PRIORITY"] == "20"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"priority": None}, "test_traffic_header.priority.*lower than routing.priority \\(20\\)"),
        ({"priority": 20}, "test_traffic_header.priority.*must be lower than routing.priority"),
        ({"priority": 5, "second": 5}, "5"),
        (
            {
                "priority": 5,
                "routing": Routing(
                    priority=20,
                    host_headers=["a.example.com", "b.example.com", "c.example.com"],
                    path_patterns=["/a", "/b"],
                ),
            },
            "test_traffic_header.*6 in all; ELB allows 5",
        ),
    ],
    ids=["no-priority", "not-ahead", "taken", "too-many-values"],
)
def test_bad_shared_priorities_and_conditions_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _shared(**kwargs)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (TestTrafficHeader(value="a-long-random-shared-secret-0123", name="x blue"), "test_traffic_header.name"),
        (TestTrafficHeader(value="x" * 129), "test_traffic_header.value.*1-128 characters"),
        (TestTrafficHeader(value="a-long-random-shared-secret-0123", priority=0), "test_traffic_header.priority"),
    ],
    ids=["name", "value", "priority"],
)
def test_bad_header_values_are_refused(header: TestTrafficHeader, message: str) -> None:
    stack = new_stack("Bad")
    with pytest.raises(ValueError, match=message):
        BlueGreenFargateService(stack, "Web", image=IMAGE, test_traffic_header=header)


def test_a_token_value_is_not_checked_or_warned_about() -> None:
    stack = new_stack("Token")
    value = Token.as_string({"Ref": "AWS::StackName"})
    BlueGreenFargateService(stack, "Web", image=IMAGE, test_traffic_header=TestTrafficHeader(value=value))
    assert not Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("guesses it"))


def test_a_users_after_install_hook_is_refused_with_the_header() -> None:
    stack = new_stack("Hooks")
    function = lambda_.Function(
        stack,
        "Check",
        runtime=lambda_.Runtime.PYTHON_3_12,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )
    with pytest.raises(ValueError, match=r"hooks.after_install.*built-in AfterInstall hook"):
        BlueGreenFargateService(
            stack,
            "Web",
            image=IMAGE,
            hooks=DeploymentHooks(after_install=function),
            test_traffic_header=TestTrafficHeader(value="a-long-random-shared-secret-0123"),
        )
