"""TrafficShift: predefined CodeDeploy configs where one matches exactly, custom ones otherwise."""

from __future__ import annotations

import pytest
from aws_cdk import Duration, Token
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService, TrafficShift

from ..configurations import IMAGE
from ..conftest import Synthesized
from ..support import new_stack, only, raises_message, synth


@pytest.mark.parametrize(
    ("shift", "config_name"),
    [
        (
            TrafficShift.canary(percent=10, interval=Duration.minutes(5)),
            "CodeDeployDefault.ECSCanary10Percent5Minutes",
        ),
        (
            TrafficShift.canary(percent=10, interval=Duration.minutes(15)),
            "CodeDeployDefault.ECSCanary10Percent15Minutes",
        ),
        (
            TrafficShift.linear(percent=10, interval=Duration.minutes(1)),
            "CodeDeployDefault.ECSLinear10PercentEvery1Minutes",
        ),
        (
            TrafficShift.linear(percent=10, interval=Duration.minutes(3)),
            "CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        ),
        (TrafficShift.all_at_once(), "CodeDeployDefault.ECSAllAtOnce"),
    ],
    ids=["canary-10-5", "canary-10-15", "linear-10-1", "linear-10-3", "all-at-once"],
)
def test_exact_match_maps_to_predefined_config(shift: TrafficShift, config_name: str) -> None:
    config = shift.bind(new_stack(), "DeploymentConfig")
    assert config.deployment_config_name == config_name


def test_default_is_canary_10_percent_for_5_minutes(sample: Synthesized) -> None:
    assert sample.service.deployment_config is not None
    assert sample.service.deployment_config.deployment_config_name == "CodeDeployDefault.ECSCanary10Percent5Minutes"
    sample.template.resource_count_is("AWS::CodeDeploy::DeploymentConfig", 0)


def test_custom_linear_creates_a_deployment_config(https: Synthesized) -> None:
    config_id, config = only(https.template, "AWS::CodeDeploy::DeploymentConfig")
    assert config["Properties"] == {
        "ComputePlatform": "ECS",
        "TrafficRoutingConfig": {
            "Type": "TimeBasedLinear",
            "TimeBasedLinear": {"LinearInterval": 2, "LinearPercentage": 20},
        },
    }
    https.template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup", {"DeploymentConfigName": {"Ref": config_id}}
    )


def test_custom_canary_creates_a_deployment_config() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        traffic_shift=TrafficShift.canary(percent=25, interval=Duration.minutes(10)),
    )
    _, config = only(synth(stack), "AWS::CodeDeploy::DeploymentConfig")
    assert config["Properties"]["TrafficRoutingConfig"] == {
        "Type": "TimeBasedCanary",
        "TimeBasedCanary": {"CanaryInterval": 10, "CanaryPercentage": 25},
    }


@pytest.mark.parametrize(
    ("shift", "minutes"),
    [
        (TrafficShift.canary(percent=10, interval=Duration.minutes(5)), 5),
        (TrafficShift.linear(percent=10, interval=Duration.minutes(3)), 27),
        (TrafficShift.linear(percent=30, interval=Duration.minutes(2)), 6),
        (TrafficShift.all_at_once(), 0),
    ],
)
def test_shift_duration(shift: TrafficShift, minutes: int) -> None:
    duration = shift.shift_duration
    assert duration is not None
    assert duration.to_minutes() == minutes


def test_describe() -> None:
    assert TrafficShift.linear(percent=20, interval=Duration.minutes(2)).describe() == "linear 20% every 2 minutes"
    assert TrafficShift.all_at_once().describe() == "all at once"


@pytest.mark.parametrize(
    ("factory", "percent", "interval", "message"),
    [
        (
            TrafficShift.canary,
            0,
            Duration.minutes(5),
            "Invalid traffic_shift.percent=0: use a percentage from 0.1 to 99.9 in steps of 0.1 with the ECS-native engine, or from 1 to 99 in whole numbers with CodeDeploy.",
        ),
        (
            TrafficShift.canary,
            100,
            Duration.minutes(5),
            "Invalid traffic_shift.percent=100: use a percentage from 0.1 to 99.9 in steps of 0.1 with the ECS-native engine, or from 1 to 99 in whole numbers with CodeDeploy.",
        ),
        (
            TrafficShift.linear,
            12.55,
            Duration.minutes(5),
            "Invalid traffic_shift.percent=12.55: use a percentage from 0.1 to 99.9 in steps of 0.1 with the ECS-native engine, or from 1 to 99 in whole numbers with CodeDeploy.",
        ),
        (
            TrafficShift.linear,
            10,
            Duration.seconds(90),
            "Invalid traffic_shift.interval=90 seconds: use a whole number of minutes from 1 to 2880 "
            "(Duration.minutes(n)).",
        ),
        (
            TrafficShift.canary,
            10,
            Duration.minutes(0),
            "Invalid traffic_shift.interval=0 minutes: use a whole number of minutes from 1 to 2880 "
            "(Duration.minutes(n)).",
        ),
        (
            TrafficShift.canary,
            10,
            Duration.minutes(2881),
            "Invalid traffic_shift.interval=2881 minutes: use a whole number of minutes from 1 to 2880 "
            "(Duration.minutes(n)).",
        ),
    ],
    ids=[
        "percent-zero",
        "percent-100",
        "percent-fraction",
        "interval-fraction",
        "interval-zero",
        "interval-long",
    ],
)
def test_rejects_invalid_steps(factory: object, percent: float, interval: Duration, message: str) -> None:
    with raises_message(message):
        factory(percent=percent, interval=interval)  # type: ignore[operator]


def test_lets_unresolved_tokens_through() -> None:
    shift = TrafficShift.canary(percent=Token.as_number({"Ref": "Percent"}), interval=Duration.minutes(5))
    assert shift.shift_duration is None


def test_codedeploy_takes_whole_percentages_only() -> None:
    shift = TrafficShift.canary(percent=12.5, interval=Duration.minutes(5))
    with raises_message(
        "Invalid traffic_shift.percent=12.5: CodeDeploy takes percentages from 1 to 99, in steps of 1 (whole "
        "numbers); the ECS-native engine (DeploymentEngine.ECS_NATIVE) takes steps of 0.1."
    ):
        BlueGreenFargateService(new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), traffic_shift=shift)
