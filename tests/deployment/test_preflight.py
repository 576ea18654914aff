"""The pre-flight check: its function, role and registration as the first hook of either engine.

The CodeDeploy case reads the shared ``existing_cluster`` configuration; the ECS-native case is synthesized
once for this module (both through cdk-nag and cfn-lint, and exported for checkov by tests/export_templates).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, DeploymentHooks, PreflightCheck
from blue_green_ecs.deployment.preflight import FUNCTION_TIMEOUT

from .. import configurations
from ..conftest import Synthesized
from ..support import hook_function, logical_id, new_stack, raises_message, resources_of_type, synth


@pytest.fixture(scope="module")
def ecs_native() -> Synthesized:
    stack, service = configurations.ecs_native_preflight()
    return Synthesized(stack, service, synth(stack))


def _function(synthesized: Synthesized) -> dict[str, Any]:
    function = synthesized.service.preflight_function
    assert function is not None
    resource: dict[str, Any] = synthesized.template.to_json()["Resources"][logical_id(synthesized.stack, function)]
    return resource


def _statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    function = synthesized.service.preflight_function
    assert function is not None
    assert function.role is not None
    policy = function.role.node.find_child("DefaultPolicy")
    resource = synthesized.template.to_json()["Resources"][logical_id(synthesized.stack, policy)]
    statements: list[dict[str, Any]] = resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _ref(stack: Stack, construct: Any) -> dict[str, str]:
    return {"Ref": logical_id(stack, construct)}


def test_codedeploy_runs_it_as_the_before_install_hook(existing_cluster: Synthesized) -> None:
    service = existing_cluster.service
    router = service.test_traffic_router  # this configuration has the test traffic router too, at AfterInstall
    assert router is not None
    assert service.hooks == {"BeforeInstall": service.preflight_function, "AfterInstall": router.function}
    [trigger] = resources_of_type(existing_cluster.template, "Custom::BlueGreenEcsDeployment").values()
    assert trigger["Properties"]["Hooks"] == {
        "BeforeInstall": {"Fn::GetAtt": [logical_id(existing_cluster.stack, service.preflight_function), "Arn"]},
        "AfterInstall": {"Fn::GetAtt": [logical_id(existing_cluster.stack, router.function), "Arn"]},
    }


def test_codedeploy_may_invoke_it_and_it_may_report_to_its_deployment_group(existing_cluster: Synthesized) -> None:
    stack, service = existing_cluster.stack, existing_cluster.service
    function_arn = {"Fn::GetAtt": [logical_id(stack, service.preflight_function), "Arn"]}
    existing_cluster.template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        {
                            "Action": "lambda:InvokeFunction",
                            "Effect": "Allow",
                            "Resource": Match.array_with([function_arn]),
                        }
                    ]
                )
            },
            "Roles": [_ref(stack, service.code_deploy.role)],
        },
    )
    report = _statements(existing_cluster)[-1]
    assert report["Action"] == "codedeploy:PutLifecycleEventHookExecutionStatus"
    assert logical_id(stack, service.deployment_group) in str(report["Resource"])


def test_under_codedeploy_the_function_names_the_service_its_subnets_and_every_rollback_alarm(
    existing_cluster: Synthesized,
) -> None:
    stack, service = existing_cluster.stack, existing_cluster.service
    properties = _function(existing_cluster)["Properties"]
    variables = properties["Environment"]["Variables"]
    # The alarm added with add_rollback_alarm after construction is the last one.
    names = [_ref(stack, alarm) for alarm in service.rollback_alarms]
    assert variables == {
        "CLUSTER_ARN": {"Fn::GetAtt": [logical_id(stack, service.cluster), "Arn"]},
        "SERVICE_ARN": _ref(stack, service.service),
        "ALARM_NAMES": {"Fn::Join": ["", ['["', names[0], '","', names[1], '","', names[2], '","', names[3], '"]']]},
        "SUBNET_IDS": {
            "Fn::Join": [
                "",
                [_ref(stack, service.vpc.private_subnets[0]), ",", _ref(stack, service.vpc.private_subnets[1])],
            ]
        },
        "IP_ADDRESS_HEADROOM": "2",
    }
    assert service.rollback_alarms[-1].node.id == "QueueAge"
    assert (properties["Handler"], properties["Timeout"]) == ("preflight.handler", FUNCTION_TIMEOUT.to_seconds())
    assert "VpcConfig" not in properties


def test_its_role_reads_alarms_subnets_and_the_clusters_services_only(existing_cluster: Synthesized) -> None:
    stack, service = existing_cluster.stack, existing_cluster.service
    function = service.preflight_function
    assert function is not None
    log_group = function.node.scope.node.find_child("Logs")  # type: ignore[union-attr]
    assert _statements(existing_cluster)[:-1] == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logical_id(stack, log_group), "Arn"]},
        },
        {"Action": ["cloudwatch:DescribeAlarms", "ec2:DescribeSubnets"], "Effect": "Allow", "Resource": "*"},
        {
            "Action": "ecs:DescribeServices",
            "Condition": {"ArnEquals": {"ecs:cluster": {"Fn::GetAtt": [logical_id(stack, service.cluster), "Arn"]}}},
            "Effect": "Allow",
            "Resource": "*",
        },
    ]


def test_ecs_runs_it_at_pre_scale_up(ecs_native: Synthesized) -> None:
    stack, service = ecs_native.stack, ecs_native.service
    assert service.hooks == {"BeforeInstall": service.preflight_function}
    hook_role = service.ecs_native.hook_role
    assert hook_role is not None
    ecs_native.template.has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": Match.object_like(
                {
                    "LifecycleHooks": [
                        {
                            "HookTargetArn": {"Fn::GetAtt": [logical_id(stack, service.preflight_function), "Arn"]},
                            "LifecycleStages": ["PRE_SCALE_UP"],
                            "RoleArn": {"Fn::GetAtt": [logical_id(stack, hook_role), "Arn"]},
                        }
                    ]
                }
            )
        },
    )


def test_under_ecs_it_reads_the_service_and_its_alarms_from_the_event(ecs_native: Synthesized) -> None:
    # The service names the function: the function naming the service or its alarms would be a cycle.
    stack, service = ecs_native.stack, ecs_native.service
    variables = _function(ecs_native)["Properties"]["Environment"]["Variables"]
    assert variables == {
        "CLUSTER_ARN": {"Fn::GetAtt": [logical_id(stack, service.cluster), "Arn"]},
        "ALARM_NAMES_FROM_SERVICE": "true",
    }
    # ... and the service's own alarm list, which the function reads, holds the alarm added later.
    [resource] = resources_of_type(ecs_native.template, "AWS::ECS::Service").values()
    alarms = resource["Properties"]["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    assert alarms == [_ref(stack, alarm) for alarm in service.rollback_alarms]
    assert len(alarms) == 4
    assert [s["Action"] for s in _statements(ecs_native)[1:]] == ["cloudwatch:DescribeAlarms", "ecs:DescribeServices"]


def test_off_by_default(minimal: Synthesized) -> None:
    assert minimal.service.preflight_function is None
    assert "BeforeInstall" not in minimal.service.hooks


def test_refuses_a_before_install_hook_too() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid preflight_check='PreflightCheck(...)': hooks.before_install is also set and a deployment runs one "
        "function per lifecycle event (CodeDeploy's AppSpec names one per event); move your function to "
        "hooks.after_install, or drop one of the two."
    ):
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(configurations.IMAGE),
            hooks=DeploymentHooks(before_install=hook_function(stack, "Mine")),
            preflight_check=PreflightCheck(),
        )


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (
            PreflightCheck(check_alarms=False, check_ip_addresses=False),
            "Invalid preflight_check='PreflightCheck(check_alarms=False, check_ip_addresses=False)': it would check "
            "nothing; turn one check on, give change_calendars, or drop preflight_check.",
        ),
        (
            PreflightCheck(ip_address_headroom=-1),
            "Invalid preflight_check.ip_address_headroom=-1: use a whole number from 0 to 65536.",
        ),
    ],
)
def test_rejects_options_that_check_nothing_or_a_negative_headroom(check: PreflightCheck, message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(configurations.IMAGE), preflight_check=check
        )


def test_a_bool_names_the_options_type() -> None:
    with pytest.raises(
        TypeError, match=r"^Invalid preflight_check=True: use PreflightCheck\(\) to turn it on, or None\.$"
    ):
        BlueGreenFargateService(
            new_stack(),
            "Web",
            image=ecs.ContainerImage.from_registry(configurations.IMAGE),
            preflight_check=True,  # type: ignore[arg-type]
        )


# ---- change calendars (freeze windows) --------------------------------------------------------------------------


def _calendar_service(engine: DeploymentEngine, check: PreflightCheck) -> Synthesized:
    stack = new_stack()
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(configurations.IMAGE), engine=engine, preflight_check=check
    )
    return Synthesized(stack, service, synth(stack))


def test_the_role_reads_exactly_the_change_calendars_a_name_in_its_account_an_arn_as_given() -> None:
    # given: a calendar of this account by name and one shared from another account by ARN, no other check
    calendars = [configurations.CHANGE_CALENDAR, configurations.SHARED_CHANGE_CALENDAR]
    synthesized = _calendar_service(
        DeploymentEngine.CODE_DEPLOY,
        PreflightCheck(check_alarms=False, check_ip_addresses=False, change_calendars=calendars),
    )

    # then: GetCalendarState on the two documents, nothing read on "*"
    own = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":ssm:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":document/{configurations.CHANGE_CALENDAR}",
            ],
        ]
    }
    statements = _statements(synthesized)
    assert statements[1] == {
        "Action": "ssm:GetCalendarState",
        "Effect": "Allow",
        "Resource": [configurations.SHARED_CHANGE_CALENDAR, own],
    }
    assert [s["Action"] for s in statements[2:]] == ["codedeploy:PutLifecycleEventHookExecutionStatus"]
    # and the function is told the calendars, with a minute and a quarter more per calendar: 5 + ceil(2.5) minutes
    properties = _function(synthesized)["Properties"]
    assert properties["Environment"]["Variables"]["CHANGE_CALENDARS"] == json.dumps(calendars, separators=(",", ":"))
    assert properties["Timeout"] == 8 * 60


def test_under_ecs_a_calendar_only_check_reads_no_service() -> None:
    synthesized = _calendar_service(
        DeploymentEngine.ECS_NATIVE,
        PreflightCheck(check_alarms=False, check_ip_addresses=False, change_calendars=["release-freeze"]),
    )

    assert [s["Action"] for s in _statements(synthesized)[1:]] == ["ssm:GetCalendarState"]
    assert _function(synthesized)["Properties"]["Timeout"] == 7 * 60


@pytest.mark.parametrize(
    ("calendars", "message"),
    [
        (
            ["freeze window"],
            "Invalid preflight_check.change_calendars='freeze window': give a change calendar's name (3-128 letters, "
            "digits, '_', '-' or '.') or its document ARN (arn:aws:ssm:<region>:<account>:document/<name>).",
        ),
        (
            ["arn:aws:ssm:eu-west-1:111122223333:parameter/freeze"],
            "Invalid preflight_check.change_calendars='arn:aws:ssm:eu-west-1:111122223333:parameter/freeze': give a "
            "change calendar's name (3-128 letters, digits, '_', '-' or '.') or its document ARN "
            "(arn:aws:ssm:<region>:<account>:document/<name>).",
        ),
        (
            [f"cal-{n}" for n in range(6)],
            "Invalid preflight_check.change_calendars=['cal-0', 'cal-1', 'cal-2', 'cal-3', 'cal-4', 'cal-5']: give at "
            "most 5 change calendars (the check asks each one in turn, within the function's timeout); combine "
            "freeze windows as events of fewer calendars.",
        ),
        (
            ["freeze", "freeze"],
            "Invalid preflight_check.change_calendars=['freeze', 'freeze']: name each calendar once.",
        ),
    ],
)
def test_rejects_change_calendars_ssm_would_not_know(calendars: list[str], message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(),
            "Web",
            image=ecs.ContainerImage.from_registry(configurations.IMAGE),
            preflight_check=PreflightCheck(change_calendars=calendars),
        )


def test_a_single_calendar_name_must_be_a_list() -> None:
    with pytest.raises(
        TypeError,
        match=r"^Invalid preflight_check.change_calendars='freeze': give a list of strings, e.g. "
        r"preflight_check.change_calendars=\['freeze'\].$",
    ):
        PreflightCheck(change_calendars="freeze").validate()
