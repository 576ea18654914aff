"""Reading a service's deployment from template fragments: the shapes no synthesized configuration of the suite has
(CodeDeploy's predefined linear and all-at-once names, ECS's all-at-once, a configuration named by text, a token
alarm period). tests/cli/test_cli_plan.py reads synthesized templates against the constructs' attributes."""

from __future__ import annotations

from typing import Any

import pytest

from blue_green_ecs.deployment.template_inputs import read_service


def _codedeploy(config_name: Any, **extra: Any) -> dict[str, Any]:
    group = {
        "Type": "AWS::CodeDeploy::DeploymentGroup",
        "Properties": {
            "DeploymentConfigName": config_name,
            "BlueGreenDeploymentConfiguration": {
                "TerminateBlueInstancesOnDeploymentSuccess": {"TerminationWaitTimeInMinutes": 0},
            },
            "AlarmConfiguration": {"Alarms": [{"Name": {"Ref": "Slow"}}, {"Name": {"Ref": "Fast"}}]},
        },
    }
    return {
        "Service": {"Type": "AWS::ECS::Service", "Properties": {"DesiredCount": 3}},
        "Group": group,
        "Slow": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 300, "EvaluationPeriods": 3}},
        "Fast": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": 60, "EvaluationPeriods": 5}},
        **extra,
    }


@pytest.mark.parametrize(
    ("config_name", "expected"),
    [
        (
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
            {"shift": "linear", "percent": 10.0, "interval_minutes": 3},
        ),
        ("CodeDeployDefault.ECSCanary10Percent15Minutes", {"shift": "canary", "percent": 10.0, "interval_minutes": 15}),
        ("CodeDeployDefault.ECSAllAtOnce", {"shift": "all-at-once"}),
    ],
)
def test_codedeploys_predefined_names(config_name: str, expected: dict[str, Any]) -> None:
    read = read_service(_codedeploy(config_name), "Service", {"Service", "Group"})
    assert {key: read.values[key] for key in expected} == expected
    # the slowest alarm (300 s x 3) is the worst case, not the one with more periods; no trigger: a pipeline deploys
    assert (read.values["alarm_period_seconds"], read.values["alarm_evaluation_periods"]) == (300, 3)
    assert (read.values["tasks"], read.values["deploy_on_update"], read.values["approval_wait_minutes"]) == (
        3,
        False,
        0,
    )


def test_a_configuration_named_by_text_or_a_custom_all_at_once() -> None:
    named = read_service(_codedeploy("MyTeamsConfig"), "Service", {"Service", "Group"})
    assert "shift" not in named.values
    assert (
        named.unread["shift"] == "Group.DeploymentConfigName is 'MyTeamsConfig', no configuration this template defines"
    )
    custom = _codedeploy(
        {"Ref": "Config"},
        Config={
            "Type": "AWS::CodeDeploy::DeploymentConfig",
            "Properties": {"TrafficRoutingConfig": {"Type": "AllAtOnce"}},
        },
    )
    assert read_service(custom, "Service", {"Service", "Group"}).values["shift"] == "all-at-once"


def test_ecs_blue_green_is_all_at_once_and_a_token_period_is_unread() -> None:
    resources = {
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {
                "DesiredCount": {"Ref": "Count"},
                "DeploymentConfiguration": {
                    "Strategy": "BLUE_GREEN",
                    "BakeTimeInMinutes": 0,
                    "Alarms": {"AlarmNames": [{"Ref": "Alarm"}]},
                },
            },
        },
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Period": {"Ref": "P"}, "EvaluationPeriods": 2}},
    }
    read = read_service(resources, "Service", {"Service"})
    assert {key: read.values[key] for key in ("engine", "shift", "termination_wait_minutes")} == {
        "engine": "ecs",
        "shift": "all-at-once",
        "termination_wait_minutes": 0,
    }
    assert (
        read.unread["tasks"] == 'Service.DesiredCount is {"Ref": "Count"} (known only when CloudFormation deploys it)'
    )
    assert read.unread["alarm_period_seconds"] == "Alarm.Period or EvaluationPeriods is not a number"
