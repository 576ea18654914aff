"""The ECS-native engine: ECS performs blue/green, canary and linear deployments itself."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, DeploymentHooks, TrafficShift
from blue_green_ecs.engines.pipeline import appspec_document
from sample.app import build

from ..configurations import IMAGE
from ..conftest import Synthesized
from ..support import (
    as_first_created,
    hook_function,
    logical_id,
    new_app,
    new_stack,
    only,
    raises_message,
    resources_of_type,
    synth,
)

NATIVE = DeploymentEngine.ECS_NATIVE


@pytest.fixture(scope="module")
def native(sample_ecs: Synthesized) -> tuple[Stack, BlueGreenFargateService, Template]:
    return sample_ecs.stack, sample_ecs.service, sample_ecs.template


def _service(template: Template) -> dict[str, Any]:
    _, service = only(template, "AWS::ECS::Service")
    properties: dict[str, Any] = service["Properties"]
    return properties


def test_service_uses_the_ecs_controller_with_a_canary_strategy(native: Any) -> None:
    _, _, template = native
    configuration = _service(template)["DeploymentConfiguration"]
    assert _service(template)["DeploymentController"] == {"Type": "ECS"}
    assert configuration["Strategy"] == "CANARY"
    assert configuration["CanaryConfiguration"] == {"CanaryPercent": 10, "CanaryBakeTimeInMinutes": 5}
    assert configuration["BakeTimeInMinutes"] == 5


def test_rollback_alarms_become_deployment_alarms_with_rollback(native: Any) -> None:
    stack, web, template = native
    alarms = _service(template)["DeploymentConfiguration"]["Alarms"]
    assert alarms == {
        "AlarmNames": [{"Ref": logical_id(stack, alarm)} for alarm in web.rollback_alarms],
        "Enable": True,
        "Rollback": True,
    }


def test_green_is_the_alternate_target_with_both_listener_rules(native: Any) -> None:
    stack, web, template = native
    [load_balancer] = _service(template)["LoadBalancers"]
    assert load_balancer == {
        "ContainerName": "web",
        "ContainerPort": 80,
        # As ECS left them after its last deployment (ECS swaps primary and alternate); blue and green at first.
        "TargetGroupArn": {
            "Fn::GetAtt": [logical_id(stack, web.ecs_native.live_state.resource), "ServiceTargetGroupArn"]
        },
        "AdvancedConfiguration": {
            "AlternateTargetGroupArn": {
                "Fn::GetAtt": [logical_id(stack, web.ecs_native.live_state.resource), "ServiceAlternateTargetGroupArn"]
            },
            "ProductionListenerRule": {"Ref": logical_id(stack, web.prod_listener_rule)},
            "TestListenerRule": {"Ref": logical_id(stack, web.test_listener_rule)},
            "RoleArn": {"Fn::GetAtt": [logical_id(stack, web.infrastructure_role), "Arn"]},
        },
    }


def test_listener_rules_start_with_all_traffic_on_blue(native: Any) -> None:
    stack, web, template = native
    rules = resources_of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    for rule, listener in ((web.prod_listener_rule, web.prod_listener), (web.test_listener_rule, web.test_listener)):
        properties = as_first_created(template, rules[logical_id(stack, rule)]["Properties"])
        assert properties["ListenerArn"] == {"Ref": logical_id(stack, listener)}
        assert properties["Actions"] == [
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": {"Ref": logical_id(stack, web.blue_target_group)}, "Weight": 100},
                        {"TargetGroupArn": {"Ref": logical_id(stack, web.green_target_group)}, "Weight": 0},
                    ]
                },
            }
        ]
    listeners = resources_of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    for listener in listeners.values():
        [action] = listener["Properties"]["DefaultActions"]
        assert action["Type"] == "fixed-response"


def test_infrastructure_role_is_assumed_by_ecs(native: Any) -> None:
    stack, web, template = native
    role = resources_of_type(template, "AWS::IAM::Role")[logical_id(stack, web.infrastructure_role)]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert "AmazonECSInfrastructureRolePolicyForLoadBalancers" in str(role["ManagedPolicyArns"])


def test_no_codedeploy_and_no_trigger(native: Any) -> None:
    _, web, template = native
    for resource_type in (
        "AWS::CodeDeploy::Application",
        "AWS::CodeDeploy::DeploymentGroup",
        "Custom::BlueGreenEcsDeployment",
        "AWS::StepFunctions::StateMachine",
    ):
        template.resource_count_is(resource_type, 0)
    # The CodeDeploy engine's parts do not exist here, and say so by name.
    for name in ("application", "deployment_group", "deployment_config", "deployment_trigger", "appspec_properties"):
        with pytest.raises(
            AttributeError,
            match=re.escape("BlueGreenSample/Web uses engine=DeploymentEngine.ECS_NATIVE: it has no CodeDeploy parts."),
        ):
            getattr(web, name)
    # Besides aws-cdk-lib's default-security-group restriction, only the provider of the live-state lookup.
    handlers = {f["Properties"]["Handler"] for f in resources_of_type(template, "AWS::Lambda::Function").values()}
    assert handlers == {"__entrypoint__.handler", "custom_resource.handler"}


def test_ecs_native_attributes_are_attribute_errors_under_codedeploy(sample: Any) -> None:
    for name in ("prod_listener_rule", "test_listener_rule", "infrastructure_role", "ecs_native"):
        with pytest.raises(
            AttributeError,
            match=re.escape(
                "BlueGreenSample/Web uses engine=DeploymentEngine.CODE_DEPLOY: it has no ECS-native parts."
            ),
        ):
            getattr(sample.service, name)
    assert sample.service.engine is DeploymentEngine.CODE_DEPLOY


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        (TrafficShift.all_at_once(), {"Strategy": "BLUE_GREEN"}),
        (
            TrafficShift.canary(percent=2.5, interval=Duration.minutes(10)),
            {"Strategy": "CANARY", "CanaryConfiguration": {"CanaryPercent": 2.5, "CanaryBakeTimeInMinutes": 10}},
        ),
        (
            TrafficShift.linear(percent=20, interval=Duration.minutes(3)),
            {"Strategy": "LINEAR", "LinearConfiguration": {"StepPercent": 20, "StepBakeTimeInMinutes": 3}},
        ),
    ],
    ids=["all-at-once", "canary", "linear"],
)
def test_traffic_shift_maps_to_the_ecs_strategy(shift: TrafficShift, expected: dict[str, Any]) -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        engine=NATIVE,
        traffic_shift=shift,
        termination_wait=Duration.minutes(0),
    )
    configuration = _service(synth(stack))["DeploymentConfiguration"]
    assert {key: configuration[key] for key in expected} == expected
    assert configuration["BakeTimeInMinutes"] == 0


def _function(stack: Stack, name: str) -> lambda_.Function:
    return hook_function(stack, name, returns="{'hookStatus': 'SUCCEEDED'}")


def test_hooks_run_at_the_matching_ecs_lifecycle_stages() -> None:
    stack = new_stack()
    setup, checks = _function(stack, "Setup"), _function(stack, "Checks")
    web = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        engine=NATIVE,
        hooks=DeploymentHooks(before_install=setup, before_allow_traffic=checks, after_allow_traffic=checks),
    )
    template = synth(stack)
    hooks = _service(template)["DeploymentConfiguration"]["LifecycleHooks"]
    assert [(h["HookTargetArn"], h["LifecycleStages"]) for h in hooks] == [
        ({"Fn::GetAtt": [logical_id(stack, setup), "Arn"]}, ["PRE_SCALE_UP"]),
        (
            {"Fn::GetAtt": [logical_id(stack, checks), "Arn"]},
            # Before production traffic moves (issue #13): the stage aws-cdk-lib's enum lacks, written as is.
            ["PRE_PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"],
        ),
    ]
    role_ids = {h["RoleArn"]["Fn::GetAtt"][0] for h in hooks}
    assert len(role_ids) == 1
    [role_id] = role_ids
    policy = next(
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    )
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    # Exactly the two functions: no "<arn>:*".
    assert sorted(r["Fn::GetAtt"][0] for r in statement["Resource"]) == sorted(
        [logical_id(stack, setup), logical_id(stack, checks)]
    )
    assert web.hooks.keys() == {"BeforeInstall", "BeforeAllowTraffic", "AfterAllowTraffic"}
    # The first deployment may invoke a hook at once: the service waits for the role's policy too.
    [policy_id] = [
        k
        for k, p in resources_of_type(template, "AWS::IAM::Policy").items()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    assert policy_id in only(template, "AWS::ECS::Service")[1]["DependsOn"]


def test_smoke_test_is_the_post_test_traffic_shift_hook() -> None:
    stack = build(new_app(engine="ecs", smoke_test="true"))
    template = synth(stack)
    [hook] = _service(template)["DeploymentConfiguration"]["LifecycleHooks"]
    assert hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
    assert hook["HookTargetArn"] == {"Fn::GetAtt": [logical_id(stack, stack.web.smoke_test_function), "Arn"]}


def test_approval_wait_is_a_pause_hook_after_the_test_traffic_that_rolls_back() -> None:
    # CodeDeploy waits once, after the test traffic; ECS's POST_TEST_TRAFFIC_SHIFT runs once, where
    # PRE_PRODUCTION_TRAFFIC_SHIFT would pause before every canary step.
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        engine=NATIVE,
        deployment_approval_wait_time=Duration.hours(2),
    )
    assert _service(synth(stack))["DeploymentConfiguration"]["LifecycleHooks"] == [
        {
            "TargetType": "PAUSE",
            "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
            "TimeoutConfiguration": {"TimeoutInMinutes": 120, "Action": "ROLLBACK"},
        }
    ]


def test_approval_pause_hook_follows_the_lambda_hooks_and_needs_no_role() -> None:
    stack = new_stack()
    checks = _function(stack, "Checks")
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        engine=NATIVE,
        hooks=DeploymentHooks(after_allow_test_traffic=checks, after_allow_traffic=checks),
        deployment_approval_wait_time=Duration.minutes(30),
    )
    template = synth(stack)
    lambda_hook, pause = _service(template)["DeploymentConfiguration"]["LifecycleHooks"]
    assert lambda_hook["HookTargetArn"] == {"Fn::GetAtt": [logical_id(stack, checks), "Arn"]}
    assert lambda_hook["LifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]
    # Both at the same stage: "Both hooks must complete before the deployment proceeds" (ECS Developer Guide).
    assert pause == {
        "TargetType": "PAUSE",
        "LifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
        "TimeoutConfiguration": {"TimeoutInMinutes": 30, "Action": "ROLLBACK"},
    }
    # The role is the Lambda hook's: a PAUSE hook invokes nothing.
    assert "RoleArn" in lambda_hook


def test_add_rollback_alarm_joins_the_deployment_alarms() -> None:
    stack = new_stack()
    web = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), engine=NATIVE)
    from aws_cdk import aws_cloudwatch as cloudwatch

    alarm = cloudwatch.Alarm(
        stack,
        "Errors",
        metric=cloudwatch.Metric(namespace="App", metric_name="Errors"),
        threshold=1,
        evaluation_periods=1,
    )
    web.add_rollback_alarm(alarm)
    names = _service(synth(stack))["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    # the three built-in alarms (the green-against-blue comparison among them), then the user's
    assert names == [{"Ref": logical_id(stack, a)} for a in [*web.built_in_alarms.alarms, alarm]]
    assert len(names) == 4


def test_pipeline_files_are_for_codedeploy_only(native: Any) -> None:
    _, web, _ = native
    with raises_message(
        "Invalid service='BlueGreenSample/Web': pipeline files are for engine=DeploymentEngine.CODE_DEPLOY; "
        "ECS-native services deploy from CloudFormation updates."
    ):
        appspec_document(web)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"traffic_shift": TrafficShift.linear(percent=2.5, interval=Duration.minutes(5))},
            "Invalid traffic_shift.percent=2.5: ECS takes linear steps from 3 to 99.9 percent, in steps of 0.1.",
        ),
        (
            {"traffic_shift": TrafficShift.canary(percent=10, interval=Duration.minutes(1441))},
            "Invalid traffic_shift.interval=1441 minutes: ECS bake times are whole minutes from 0 to 1440.",
        ),
        (
            {"termination_wait": Duration.minutes(1441)},
            "Invalid termination_wait=1441 minutes: ECS bake times are whole minutes from 0 to 1440.",
        ),
        (
            {
                "traffic_shift": TrafficShift.linear(percent=5, interval=Duration.minutes(120)),
                "termination_wait": Duration.minutes(60),
            },
            "Invalid traffic_shift='linear 5% every 2 hours': a deployment takes 1 day 15 hours with "
            "termination_wait=60 minutes, beyond CloudFormation's 33-hour ceiling for one stack update; shorten the "
            "steps or the bake time.",
        ),
        (
            {"deploy_on_update": False},
            "Invalid deploy_on_update=False: applies to engine=DeploymentEngine.CODE_DEPLOY only; ECS-native "
            "deployments run on every update and CloudFormation waits for them.",
        ),
        (
            {"deployment_timeout": Duration.minutes(30)},
            "Invalid deployment_timeout=30 minutes: applies to engine=DeploymentEngine.CODE_DEPLOY only; ECS-native "
            "deployments run on every update and CloudFormation waits for them.",
        ),
        (
            {"deployment_approval_wait_time": Duration.minutes(20161)},
            "Invalid deployment_approval_wait_time=20161 minutes: use a whole number of minutes from 1 to 20160 "
            "(Duration.minutes(n)).",
        ),
        (
            # 5 minutes of canary, 5 of bake and 32h51m of approval: 33h01m, a minute too many.
            {"deployment_approval_wait_time": Duration.minutes(33 * 60 - 10 + 1)},
            "Invalid traffic_shift='canary 10% for 5 minutes': a deployment takes 1 day 9 hours 1 minute with "
            "termination_wait=5 minutes and deployment_approval_wait_time=1971 minutes, beyond CloudFormation's "
            "33-hour ceiling for one stack update; shorten the steps, the bake time or the approval wait.",
        ),
        (
            {"deployment_group_name": "web"},
            "Invalid deployment_group_name='web': applies to engine=DeploymentEngine.CODE_DEPLOY only; ECS-native "
            "deployments run on every update and CloudFormation waits for them.",
        ),
    ],
    ids=[
        "linear-below-3",
        "step-bake",
        "bake",
        "33-hours",
        "deploy-on-update",
        "timeout",
        "approval-beyond-ecs",
        "approval-beyond-33-hours",
        "group-name",
    ],
)
def test_rejects_what_ecs_would_refuse(kwargs: dict[str, Any], message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), engine=NATIVE, **kwargs
        )


def test_sample_engine_context_is_validated() -> None:
    with raises_message("Invalid context engine='lambda': use one of codedeploy, ecs."):
        build(new_app(engine="lambda"))
