"""The deployment trigger: one custom resource per service, one provider per stack, scoped IAM."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from blue_green_ecs import BlueGreenFargateService, DeploymentHooks, SmokeTest, TrafficShift, hook_code
from blue_green_ecs.deployment.deployment_trigger import RESOURCE_TYPE
from blue_green_ecs.deployment.provider import WAITER_ARN_PROPERTY, Provider, waiter_definition
from blue_green_ecs.engines.live_lookup import RESOURCE_TYPE as LIVE_STATE
from blue_green_ecs.handlers import custom_resource
from sample.app import build

from ..configurations import IMAGE
from ..conftest import Synthesized, TwoServices
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


@pytest.fixture(scope="module")
def two(two_services: TwoServices) -> tuple[Template, BlueGreenFargateService, BlueGreenFargateService, Any]:
    return two_services.template, two_services.first, two_services.second, two_services.stack


def test_custom_resource_carries_the_appspec(sample: Synthesized) -> None:
    web = sample.service
    provider = Provider.of(sample.stack)
    _, resource = only(sample.template, RESOURCE_TYPE)
    properties = resource["Properties"]
    assert properties == {
        "ServiceToken": {"Fn::GetAtt": [logical_id(sample.stack, provider.function), "Arn"]},
        "ServiceTimeout": "3600",
        WAITER_ARN_PROPERTY: {"Ref": logical_id(sample.stack, provider.waiter().state_machine)},
        "ApplicationName": {"Ref": logical_id(sample.stack, web.application)},
        "DeploymentGroupName": {"Ref": logical_id(sample.stack, web.deployment_group)},
        "ClusterName": {"Ref": logical_id(sample.stack, web.cluster)},
        "ServiceName": {"Fn::GetAtt": [logical_id(sample.stack, web.service), "Name"]},
        "TaskDefinitionArn": {"Ref": logical_id(sample.stack, web.task_definition)},
        "ContainerName": "web",
        "ContainerPort": 80,
        "PlatformVersion": "LATEST",
        "Subnets": [{"Ref": "VpcPublicSubnet1Subnet5C2D37C4"}, {"Ref": "VpcPublicSubnet2Subnet691E08A3"}],
        "SecurityGroups": [
            {"Fn::GetAtt": [logical_id(sample.stack, web.service.connections.security_groups[0]), "GroupId"]}
        ],
        "AssignPublicIp": "ENABLED",
        "TimeoutMinutes": 25,
    }


def test_the_appspec_matches_the_service_network_configuration(https: Synthesized) -> None:
    # The service as first created; later the AppSpec carries changes, the service keeps what runs.
    _, service = only(https.template, "AWS::ECS::Service")
    network = as_first_created(https.template, service["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"])
    _, resource = only(https.template, RESOURCE_TYPE)
    properties = resource["Properties"]
    assert properties["Subnets"] == network["Subnets"]
    assert properties["SecurityGroups"] == network["SecurityGroups"]
    assert properties["AssignPublicIp"] == network["AssignPublicIp"] == "DISABLED"
    assert properties["ContainerPort"] == 8080


def test_custom_resource_waits_for_the_deployment_group_role_policy(sample: Synthesized) -> None:
    _, resource = only(sample.template, RESOURCE_TYPE)
    assert sample.service.deployment_group is not None
    role = sample.service.code_deploy.role
    assert logical_id(sample.stack, role) in resource["DependsOn"]


def test_capacity_provider_strategy_goes_into_the_appspec(existing_cluster: Synthesized) -> None:
    _, resource = only(existing_cluster.template, RESOURCE_TYPE)
    assert resource["Properties"]["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]


def _resolve(parameters: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Step Functions' Parameters for the simple paths the waiter uses ("Key.$": "$.Field")."""
    return {
        key.removesuffix(".$"): state[value.removeprefix("$.")] if key.endswith(".$") else value
        for key, value in parameters.items()
    }


class _FakeDeployments:
    def __init__(self, outcomes: list[dict[str, Any]]) -> None:
        self.outcomes = outcomes
        self.polled: list[dict[str, Any]] = []

    def on_event(self, event: Any) -> dict[str, Any]:
        raise AssertionError("the waiter never sends a CloudFormation request")

    def is_complete(self, event: Any) -> dict[str, Any]:
        self.polled.append(dict(event))
        return self.outcomes.pop(0)


def test_the_waiter_speaks_the_handler_protocol() -> None:
    """Run the waiter's states by hand against the real handler: poll until done, and the fail path."""
    definition = waiter_definition()
    states = definition["States"]
    assert definition["StartAt"] == "Wait"
    assert states["Wait"]["Seconds"] == 15
    request = {"RequestId": "r-1", "ResponseURL": "https://example.invalid/put", "PhysicalResourceId": "p", "Data": {}}
    execution: dict[str, Any] = {"Request": request, "StartedAt": "2026-11-27T06:00:00+00:00"}
    responses: list[dict[str, Any]] = []

    def put(url: str, body: bytes, headers: Any) -> int:
        responses.append(json.loads(body))
        return 200

    deployments = _FakeDeployments([{"IsComplete": False}, {"IsComplete": True, "Data": {"DeploymentId": "d-1"}}])
    handler = custom_resource.CustomResourceHandler(
        deployments, put=put, clock=lambda: datetime(2026, 11, 27, 6, 10, tzinfo=UTC)
    )
    state_name, polls = states["Wait"]["Next"], 0
    while state_name != "Done":
        state = states[state_name]
        if state["Type"] == "Task":
            result = handler.handle(_resolve(state["Parameters"], execution))
            execution["Poll"] = {
                k.removesuffix(".$"): result[v.removeprefix("$.")] for k, v in state["ResultSelector"].items()
            }
            polls += 1
            state_name = state["Next"]
        elif state["Type"] == "Choice":
            [choice] = state["Choices"]
            done = execution["Poll"][choice["Variable"].removeprefix("$.Poll.")] is choice["BooleanEquals"]
            state_name = choice["Next"] if done else states[state["Default"]]["Next"]
    assert polls == 2
    assert [r["Status"] for r in responses] == ["SUCCESS"]
    assert responses[0]["Data"] == {"DeploymentId": "d-1"}

    failed = _resolve(
        states["Fail"]["Parameters"], {**execution, "Error": {"Error": "Lambda.Unknown", "Cause": "boom"}}
    )
    assert handler.handle(failed) == {"Done": True}
    assert responses[-1]["Status"] == "FAILED"
    assert "Lambda.Unknown" in responses[-1]["Reason"]
    assert states["Poll"]["Catch"][0]["Next"] == "Fail"


def test_the_provider_is_one_function_and_a_waiter_that_logs_no_execution_data(sample: Synthesized) -> None:
    provider = Provider.of(sample.stack)
    functions = resources_of_type(sample.template, "AWS::Lambda::Function")
    handler = functions[logical_id(sample.stack, provider.function)]["Properties"]
    assert handler["Handler"] == "custom_resource.handler"
    assert custom_resource.WAITER_ARN_PROPERTY == WAITER_ARN_PROPERTY
    machine = resources_of_type(sample.template, "AWS::StepFunctions::StateMachine")[
        logical_id(sample.stack, provider.waiter().state_machine)
    ]["Properties"]
    # Execution data holds CloudFormation's presigned ResponseURL.
    assert machine["LoggingConfiguration"]["IncludeExecutionData"] is False
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["DefinitionSubstitutions"] == {
        "HandlerArn": {"Fn::GetAtt": [logical_id(sample.stack, provider.function), "Arn"]}
    }
    assert json.loads(machine["DefinitionString"]) == waiter_definition()
    # The waiter may invoke exactly the handler; the handler may start exactly the waiter.
    policies = resources_of_type(sample.template, "AWS::IAM::Policy")
    start = policies[logical_id(sample.stack, provider.waiter().start_policy)]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    # The start grant first; the deployment triggers' grants (they name the deployment group and the
    # service, so they cannot be in the function's own policy, see test_the_function_policy_names_nothing_...)
    assert start[0] == {
        "Action": "states:StartExecution",
        "Effect": "Allow",
        "Resource": {"Ref": logical_id(sample.stack, provider.waiter().state_machine)},
    }
    assert {action for statement in start[1:] for action in _actions(statement)} == {
        "codedeploy:BatchGetDeployments",
        "codedeploy:CreateDeployment",
        "codedeploy:GetDeployment",
        "codedeploy:ListDeployments",
        "codedeploy:StopDeployment",
        "codedeploy:GetDeploymentConfig",
        "codedeploy:RegisterApplicationRevision",
        "codedeploy:GetApplicationRevision",
        "ecs:DescribeServices",
        # why a deployment rolled back (handlers/rollback_reason.py)
        "cloudwatch:DescribeAlarms",
        "cloudwatch:GetMetricData",
    }
    _, resource = only(sample.template, RESOURCE_TYPE)
    assert logical_id(sample.stack, provider.waiter().start_policy) in resource["DependsOn"]


def test_one_provider_serves_every_service_in_a_stack(two: Any, sample: Synthesized) -> None:
    template, first, second, _ = two
    template.resource_count_is(RESOURCE_TYPE, 2)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 1)
    assert first.deployment_trigger.provider is second.deployment_trigger.provider
    tokens = {
        r["Properties"]["ServiceToken"]["Fn::GetAtt"][0] for r in resources_of_type(template, RESOURCE_TYPE).values()
    }
    assert len(tokens) == 1


def test_a_second_service_adds_no_function_and_no_state_machine(two_services: TwoServices) -> None:
    resources = two_services.template.to_json()["Resources"]
    # The provider is a child of the stack: its logical ids carry its construct id.
    provider = Counter(r["Type"] for k, r in resources.items() if k.startswith(Provider.CONSTRUCT_ID))
    # One handler function and its waiter (aws-cdk-lib's Provider framework: five functions, four roles),
    # two log groups (the function's; the waiter's under /aws/vendedlogs/), and three policies (handler,
    # the triggers' grants with the start-the-waiter grant, waiter).
    assert provider == {
        "AWS::Lambda::Function": 1,
        "AWS::StepFunctions::StateMachine": 1,
        "AWS::IAM::Role": 2,
        "AWS::IAM::Policy": 3,
        "AWS::Logs::LogGroup": 2,
    }
    # Per service: its custom resource, and no function or state machine of its own.
    per_service = Counter(r["Type"] for k, r in resources.items() if k.startswith(("Web", "Api")))
    assert per_service[RESOURCE_TYPE] == 2
    assert per_service[LIVE_STATE] == 2
    assert per_service["AWS::Lambda::Function"] == 0
    assert per_service["AWS::StepFunctions::StateMachine"] == 0


def _statements(template: Template) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in resources_of_type(template, "AWS::IAM::Policy").values():
        statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _actions(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return list(resources) if isinstance(resources, list) else [resources]


def test_codedeploy_permissions_name_their_resources(two: Any) -> None:
    template, first, second, stack = two
    codedeploy = [s for s in _statements(template) if any(a.startswith("codedeploy:") for a in _actions(s))]
    assert codedeploy
    assert all("*" not in _resources(s) for s in codedeploy)
    deploy = [s for s in codedeploy if "codedeploy:CreateDeployment" in _actions(s)]
    groups = [resource for s in deploy for resource in _resources(s)]
    for service in (first, second):
        assert stack.resolve(service.deployment_group.deployment_group_arn) in groups
    assert len({json.dumps(group) for group in groups}) == 2


def test_trigger_roles_use_no_managed_policies(two: Any) -> None:
    template = two[0]
    for resource_id, role in resources_of_type(template, "AWS::IAM::Role").items():
        if resource_id.startswith(Provider.CONSTRUCT_ID):
            assert "ManagedPolicyArns" not in role["Properties"], resource_id


def test_ecs_permission_is_scoped_to_the_services(two: Any) -> None:
    template, first, second, stack = two
    describe = [s for s in _statements(template) if "ecs:DescribeServices" in _actions(s)]
    named = {json.dumps(resource) for s in describe if "Condition" not in s for resource in _resources(s)}
    assert named == {json.dumps({"Ref": logical_id(stack, service.service)}) for service in (first, second)}
    # The live-state lookups run before the services exist to be named: the cluster bounds them instead.
    [by_cluster] = [s for s in describe if "Condition" in s]
    assert by_cluster["Resource"] == "*"
    assert by_cluster["Condition"] == {"ArnEquals": {"ecs:cluster": stack.resolve(first.cluster.cluster_arn)}}


def test_trigger_may_read_the_rollback_alarms_to_explain_a_rollback() -> None:
    # given a service and an alarm added after construction
    stack = new_stack()
    web = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE))
    late = cloudwatch.Alarm(
        stack, "Late", metric=cloudwatch.Metric(namespace="App", metric_name="M"), threshold=1, evaluation_periods=1
    )
    web.add_rollback_alarm(late)
    # when synthesized
    template = synth(stack)
    policies = resources_of_type(template, "AWS::IAM::Policy")
    [policy] = [p for key, p in policies.items() if "StartWaiter" in key]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    # then DescribeAlarms names every rollback alarm (the late one too) in the waiter's start policy,
    # and GetMetricData, which has no resource-level permissions, is the one "*"
    [describe] = [s for s in statements if s["Action"] == "cloudwatch:DescribeAlarms"]
    assert sorted(map(json.dumps, describe["Resource"])) == sorted(
        json.dumps(stack.resolve(a.alarm_arn)) for a in web.rollback_alarms
    )
    assert len(describe["Resource"]) == 4
    [metrics] = [s for s in statements if s["Action"] == "cloudwatch:GetMetricData"]
    assert metrics["Resource"] == "*"
    others = [p for key, p in policies.items() if "StartWaiter" not in key]
    assert "cloudwatch:" not in json.dumps(others)


def test_deploy_on_update_false_adds_no_trigger() -> None:
    stack = new_stack()
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), deploy_on_update=False
    )
    template = synth(stack)
    assert service.deployment_trigger is None
    template.resource_count_is(RESOURCE_TYPE, 0)
    template.resource_count_is("AWS::StepFunctions::StateMachine", 0)
    # The provider function stays, for the live-state lookup; no waiter, nothing that deploys.
    handlers = {f["Properties"]["Handler"] for f in resources_of_type(template, "AWS::Lambda::Function").values()}
    assert handlers == {"__entrypoint__.handler", "custom_resource.handler"}
    template.resource_count_is(LIVE_STATE, 1)
    codedeploy_actions = {a for s in _statements(template) for a in _actions(s) if a.startswith("codedeploy:")}
    assert codedeploy_actions == set()


@pytest.mark.parametrize(
    ("kwargs", "minutes"),
    [
        ({}, 25),
        ({"traffic_shift": TrafficShift.linear(percent=10, interval=Duration.minutes(3))}, 47),
        ({"traffic_shift": TrafficShift.all_at_once(), "termination_wait": Duration.minutes(0)}, 15),
        ({"deployment_approval_wait_time": Duration.minutes(10)}, 35),
        ({"deployment_timeout": Duration.minutes(40)}, 40),
    ],
    ids=["default-canary", "linear-10-3", "all-at-once", "approval-wait", "explicit"],
)
def test_timeout_is_derived_from_the_shift_and_the_waits(kwargs: dict[str, Any], minutes: int) -> None:
    stack = new_stack()
    service = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), **kwargs)
    assert service.deployment_trigger is not None
    assert service.deployment_trigger.timeout.to_minutes() == minutes


def test_rejects_a_deployment_longer_than_cloudformation_waits() -> None:
    # The termination wait (30 minutes) is longer than the shift (15): it is named.
    with raises_message(
        "Invalid termination_wait=30 minutes: with the traffic shift canary 10% for 15 minutes a deployment needs "
        "about 1 hour (with 15 minutes for starting tasks and draining), and `cdk deploy` can wait for at most 55 "
        "minutes (CloudFormation gives a custom resource one hour). Shorten the shift or the waits, or set "
        "deploy_on_update=False and start deployments from your pipeline."
    ):
        BlueGreenFargateService(
            new_stack(),
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            traffic_shift=TrafficShift.canary(percent=10, interval=Duration.minutes(15)),
            termination_wait=Duration.minutes(30),
        )


def test_a_shift_longer_than_the_termination_wait_is_what_the_message_names() -> None:
    # given: linear 10% every 5 minutes (45 minutes of shifting) and the default 5-minute termination wait
    with raises_message(
        "Invalid traffic_shift='linear 10% every 5 minutes': with the termination wait 5 minutes a deployment "
        "needs about 1 hour 5 minutes (with 15 minutes for starting tasks and draining), and `cdk deploy` can wait "
        "for at most 55 minutes (CloudFormation gives a custom resource one hour). Shorten the shift or the "
        "waits, or set deploy_on_update=False and start deployments from your pipeline."
    ):
        BlueGreenFargateService(
            new_stack(),
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            traffic_shift=TrafficShift.linear(percent=10, interval=Duration.minutes(5)),
        )


def test_long_deployments_are_fine_without_the_trigger() -> None:
    service = BlueGreenFargateService(
        new_stack(),
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        termination_wait=Duration.hours(24),
        deploy_on_update=False,
    )
    assert service.termination_wait.to_hours() == 24


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        (
            Duration.minutes(56),
            "Invalid deployment_timeout=56 minutes: use a whole number of minutes from 1 to 55 (Duration.minutes(n)).",
        ),
        (
            Duration.minutes(10),
            "Invalid deployment_timeout=10 minutes: the traffic shift and waits alone take 10 minutes; allow more "
            "than that (the default adds 15 minutes for starting tasks, health checks and draining).",
        ),
    ],
    ids=["over-an-hour", "shorter-than-the-plan"],
)
def test_rejects_an_impossible_deployment_timeout(timeout: Duration, message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), deployment_timeout=timeout
        )


# --- Hooks -------------------------------------------------------------------------------------


def _function(stack: Any, name: str) -> lambda_.Function:
    return hook_function(stack, name)


@pytest.fixture(scope="module")
def hooked() -> tuple[Template, Any, BlueGreenFargateService, dict[str, lambda_.Function]]:
    stack = new_stack()
    functions = {name: _function(stack, name) for name in ("Install", "Traffic")}
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        # Given out of lifecycle order on purpose: the AppSpec lists them in lifecycle order.
        hooks=DeploymentHooks(after_allow_traffic=functions["Traffic"], before_install=functions["Install"]),
    )
    return synth(stack), stack, service, functions


def test_hooks_go_into_the_appspec_in_lifecycle_order(hooked: Any) -> None:
    template, stack, _, functions = hooked
    _, resource = only(template, RESOURCE_TYPE)
    hooks = resource["Properties"]["Hooks"]
    assert list(hooks) == ["BeforeInstall", "AfterAllowTraffic"]
    assert hooks["BeforeInstall"] == stack.resolve(functions["Install"].function_arn)
    assert hooks["AfterAllowTraffic"] == stack.resolve(functions["Traffic"].function_arn)


def test_codedeploy_may_invoke_the_hooks_and_the_hooks_may_report(hooked: Any) -> None:
    template, stack, service, functions = hooked
    role_policy = next(
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": logical_id(stack, service.code_deploy.role)}]
    )
    invoke = [
        s for s in role_policy["Properties"]["PolicyDocument"]["Statement"] if "lambda:InvokeFunction" in _actions(s)
    ]
    invoked = json.dumps(invoke)
    for function in functions.values():
        assert json.dumps(stack.resolve(function.function_arn)) in invoked
        template.has_resource_properties(
            "AWS::IAM::Policy",
            {
                "Roles": [{"Ref": logical_id(stack, function.role)}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            {
                                "Action": "codedeploy:PutLifecycleEventHookExecutionStatus",
                                "Effect": "Allow",
                                "Resource": stack.resolve(service.deployment_group.deployment_group_arn),
                            }
                        ]
                    )
                },
            },
        )


def test_smoke_test_and_after_allow_test_traffic_hook_are_exclusive() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid smoke_test='SmokeTest(...)': hooks.after_allow_test_traffic is also set and a deployment runs one "
        "function per lifecycle event; call your tests from one function or drop one of the two."
    ):
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            hooks=DeploymentHooks(after_allow_test_traffic=_function(stack, "Tests")),
            smoke_test=SmokeTest(),
        )


# --- Smoke test --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def smoke() -> tuple[Template, Any]:
    stack = build(new_app(smoke_test="true"))
    return synth(stack), stack


def test_smoke_test_is_the_after_allow_test_traffic_hook(smoke: Any) -> None:
    template, stack = smoke
    _, resource = only(template, RESOURCE_TYPE)
    function = stack.web.smoke_test_function
    assert resource["Properties"]["Hooks"] == {"AfterAllowTestTraffic": stack.resolve(function.function_arn)}


def test_smoke_test_function_runs_in_the_vpc_against_the_test_listener(smoke: Any) -> None:
    template, stack = smoke
    function_id = logical_id(stack, stack.web.smoke_test_function)
    properties = resources_of_type(template, "AWS::Lambda::Function")[function_id]["Properties"]
    assert properties["Handler"] == "smoke_test.handler"
    assert properties["Runtime"].startswith("python3.")
    assert properties["Timeout"] == 5 * (5 + 2) + 180
    assert properties["VpcConfig"]["SubnetIds"] == [
        {"Ref": "VpcPublicSubnet1Subnet5C2D37C4"},
        {"Ref": "VpcPublicSubnet2Subnet691E08A3"},
    ]
    environment = properties["Environment"]["Variables"]
    assert environment["TARGET_URL"] == {
        "Fn::Join": [
            "",
            [
                "http://",
                {"Fn::GetAtt": [logical_id(stack, stack.web.load_balancer), "DNSName"]},
                ":8080",
            ],
        ]
    }
    assert {
        k: environment[k] for k in ("REQUEST_PATH", "EXPECTED_STATUS", "REQUESTS", "MAX_FAILURES", "VERIFY_TLS")
    } == {
        "REQUEST_PATH": "/",
        "EXPECTED_STATUS": "200",
        "REQUESTS": "5",
        "MAX_FAILURES": "0",
        "VERIFY_TLS": "false",
    }
    assert environment["LOAD_BALANCER_FULL_NAME"] == {
        "Fn::GetAtt": [logical_id(stack, stack.web.load_balancer), "LoadBalancerFullName"]
    }


def test_smoke_test_may_reach_the_test_listener_and_find_the_load_balancer_nodes(smoke: Any) -> None:
    template, stack = smoke
    smoke_sg = logical_id(stack, stack.web.smoke_test_function.connections.security_groups[0])
    lb_sg = logical_id(stack, stack.web.load_balancer.connections.security_groups[0])
    template.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {
            "GroupId": {"Fn::GetAtt": [lb_sg, "GroupId"]},
            "SourceSecurityGroupId": {"Fn::GetAtt": [smoke_sg, "GroupId"]},
            "FromPort": 8080,
            "ToPort": 8080,
        },
    )
    role = stack.web.smoke_test_function.role
    policy = next(
        p
        for p in resources_of_type(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": logical_id(stack, role)}]
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    eni = next(s for s in statements if "ec2:DescribeNetworkInterfaces" in _actions(s))
    assert eni["Resource"] == "*"
    # Logs only to its own log group; no AWS managed policies.
    logs = next(s for s in statements if "logs:PutLogEvents" in _actions(s))
    assert logs["Resource"] != "*"
    assert (
        "ManagedPolicyArns" not in resources_of_type(template, "AWS::IAM::Role")[logical_id(stack, role)]["Properties"]
    )


def test_sample_with_smoke_test_adds_the_api_endpoints_it_needs(smoke: Any, sample: Synthesized) -> None:
    template, _ = smoke
    template.resource_count_is("AWS::EC2::VPCEndpoint", 2)
    endpoints = list(resources_of_type(template, "AWS::EC2::VPCEndpoint").values())
    # ServiceName is Fn::Join ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".codedeploy"]]
    names = sorted(e["Properties"]["ServiceName"]["Fn::Join"][1][-1].lstrip(".") for e in endpoints)
    assert names == ["codedeploy", "ec2"]
    assert all(e["Properties"]["PrivateDnsEnabled"] for e in endpoints)
    assert all(e["Properties"]["VpcEndpointType"] == "Interface" for e in endpoints)
    sample.template.resource_count_is("AWS::EC2::VPCEndpoint", 0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            SmokeTest(path="health"),
            "Invalid smoke_test.path='health': use a path that starts with '/', at most 1024 characters.",
        ),
        (SmokeTest(requests=0), "Invalid smoke_test.requests=0: use a whole number from 1 to 100."),
        (SmokeTest(requests=3, max_failures=3), "Invalid smoke_test.max_failures=3: use a whole number from 0 to 2."),
        (
            SmokeTest(request_timeout=Duration.seconds(0)),
            "Invalid smoke_test.request_timeout=0 seconds: use a whole number of seconds from 1 to 60 seconds.",
        ),
        (
            SmokeTest(requests=100, request_timeout=Duration.seconds(10)),
            "Invalid smoke_test.requests=100: requests x (request_timeout + interval) must fit in Lambda's 15-minute limit.",
        ),
    ],
    ids=["path", "requests", "max-failures", "request-timeout", "lambda-limit"],
)
def test_rejects_invalid_smoke_test(options: SmokeTest, message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), smoke_test=options)


def test_hook_code_bundles_the_helper_next_to_the_user_code(tmp_path: Any) -> None:
    source = tmp_path / "hooks"
    source.mkdir()
    (source / "check.py").write_text(
        "from lifecycle_hook import codedeploy_hook\n\n@codedeploy_hook\ndef handler(event, context):\n    return True\n"
    )
    app = new_app(outdir=str(tmp_path / "out"))
    stack = Stack(app, "Hooks")
    hook_function(stack, "Check", code=hook_code(source), handler="check.handler")
    assembly = Path(app.synth().directory)
    [bundle] = [path for path in assembly.iterdir() if path.name.startswith("asset.")]
    assert sorted(p.name for p in bundle.iterdir()) == ["check.py", "lifecycle_hook.py"]
    helper = (Path(__file__).parents[2] / "blue_green_ecs" / "handlers" / "lifecycle_hook.py").read_text()
    assert (bundle / "lifecycle_hook.py").read_text() == helper


def test_hook_code_needs_a_directory(tmp_path: Any) -> None:
    missing = str(tmp_path / "nope")
    with raises_message(f"Invalid directory='{missing}': give the directory that holds the hook's handler module."):
        hook_code(missing)


def test_a_composite_rollback_alarm_is_read_with_the_only_scope_cloudwatch_returns_it_to() -> None:
    # Given a service whose rollback alarms include a composite alarm (as the 10-alarm limit suggests)
    stack = new_stack("Composite")
    queue = cloudwatch.Alarm(
        stack,
        "QueueDepth",
        metric=cloudwatch.Metric(namespace="App", metric_name="QueueDepth"),
        threshold=100,
        evaluation_periods=2,
    )
    composite = cloudwatch.CompositeAlarm(
        stack,
        "AnyOf",
        alarm_rule=cloudwatch.AlarmRule.any_of(cloudwatch.AlarmRule.from_alarm(queue, cloudwatch.AlarmState.ALARM)),
    )
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), alarms=[queue, composite]
    )
    template = synth(stack)
    # Then the trigger may call DescribeAlarms with the scope "*" (aws-cdk-lib merges it with the ARN-scoped one)
    resources = [
        resource
        for policy in resources_of_type(template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudwatch:DescribeAlarms"
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
    ]
    assert "*" in resources
    assert {"Fn::GetAtt": [logical_id(stack, composite), "Arn"]} not in resources
    assert service.deployment_trigger is not None


def test_without_a_composite_alarm_the_trigger_reads_alarms_by_arn_only(sample: Synthesized) -> None:
    resources = [
        statement["Resource"]
        for policy in resources_of_type(sample.template, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Action"] == "cloudwatch:DescribeAlarms"
    ]
    assert resources
    assert all(resource != "*" and "*" not in resource for resource in resources)
