"""`blue-green-ecs plan` and synthesis agree: the same limits reject the same values with the same reason,
and the same slow-alarm warning, from blue_green_ecs/configuration/limits.py (which imports no aws-cdk-lib)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, TrafficShift
from blue_green_ecs.configuration import limits
from blue_green_ecs.deployment import deployment_trigger
from blue_green_ecs.deployment.timeline import PlanInputs, plan

from ..configurations import IMAGE
from ..support import ROOT, new_stack, raises_message


def _reason(error: pytest.ExceptionInfo[ValueError]) -> str:
    """What a message says after the name and value: the part both must share."""
    return str(error.value).split(": ", 1)[1]


@pytest.mark.parametrize(
    ("construct", "inputs", "plan_message"),
    [
        (
            {
                "engine": DeploymentEngine.ECS_NATIVE,
                "traffic_shift": TrafficShift.linear(percent=0.5, interval=Duration.minutes(3)),
            },
            PlanInputs(shift="linear", percent=0.5, interval_minutes=3, engine="ecs"),
            "Invalid percent=0.5: ECS takes linear steps from 3 to 99.9 percent, in steps of 0.1.",
        ),
        (
            {"traffic_shift": TrafficShift.canary(percent=33.3, interval=Duration.minutes(5))},
            PlanInputs(shift="canary", percent=33.3),
            "Invalid percent=33.3: CodeDeploy takes percentages from 1 to 99, in steps of 1 (whole numbers); the "
            "ECS-native engine (DeploymentEngine.ECS_NATIVE) takes steps of 0.1.",
        ),
        (
            {"traffic_shift": TrafficShift.linear(percent=10, interval=Duration.minutes(5))},
            PlanInputs(shift="linear", percent=10, interval_minutes=5),
            "Invalid shift='linear 10% every 5 minutes': with the termination wait 5 minutes a deployment needs "
            "about 1 hour 5 minutes (with 15 minutes for starting tasks and draining), and `cdk deploy` can wait "
            "for at most 55 minutes (CloudFormation gives a custom resource one hour). Shorten the shift or the "
            "waits, or set deploy_on_update=False and start deployments from your pipeline.",
        ),
        (
            {"engine": DeploymentEngine.ECS_NATIVE, "termination_wait": Duration.minutes(1441)},
            PlanInputs(termination_wait_minutes=1441, engine="ecs"),
            "Invalid termination_wait_minutes=1441: ECS bake times are whole minutes from 0 to 1440.",
        ),
    ],
    ids=["ecs-linear-0.5", "codedeploy-canary-33.3", "trigger-hour", "ecs-bake"],
)
def test_plan_rejects_what_synthesis_rejects_for_the_same_reason(
    construct: dict[str, Any], inputs: PlanInputs, plan_message: str
) -> None:
    with pytest.raises(ValueError, match=r"^Invalid ") as synth_error:
        BlueGreenFargateService(new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), **construct)
    with pytest.raises(ValueError, match=r"^Invalid ") as plan_error:
        plan(inputs)
    assert str(plan_error.value) == plan_message
    assert _reason(plan_error) == _reason(synth_error)


def test_plan_rejects_a_termination_wait_codedeploy_rejects() -> None:
    with raises_message(
        "Invalid termination_wait=3000 minutes: use a whole number of minutes from 0 to 2880 (Duration.minutes(n))."
    ):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), termination_wait=Duration.minutes(3000)
        )
    with raises_message("Invalid termination_wait_minutes=3000: use a whole number of minutes from 0 to 2880."):
        plan(PlanInputs(termination_wait_minutes=3000))


def test_plan_accepts_a_long_shift_without_the_trigger_as_synthesis_does() -> None:
    BlueGreenFargateService(
        new_stack(),
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        traffic_shift=TrafficShift.linear(percent=10, interval=Duration.minutes(5)),
        deploy_on_update=False,
    )
    timeline = plan(PlanInputs(shift="linear", percent=10, interval_minutes=5, deploy_on_update=False))
    assert timeline.all_on_green == 80 + 9 * 300


SLOW_LINEAR = (
    "The linear step interval (3 minutes) is not longer than the rollback alarms' detection time (3 minutes, "
    "CloudWatch's ingestion delay included): a fault in one step can only roll back after the next step has "
    "shifted more traffic. Lengthen the interval or shorten rollback_alarm_options."
)
SLOW_CANARY = (
    "The canary interval (2 minutes) is not longer than the rollback alarms' detection time (3 minutes, "
    "CloudWatch's ingestion delay included): a fault in one step can only roll back after all traffic has "
    "shifted. Lengthen the interval or shorten rollback_alarm_options."
)


@pytest.mark.parametrize(
    ("shift", "inputs", "warning_id", "message"),
    [
        (
            TrafficShift.linear(percent=10, interval=Duration.minutes(3)),
            PlanInputs(shift="linear", percent=10, interval_minutes=3),
            "blue-green-ecs:alarmsSlowerThanLinearStep",
            SLOW_LINEAR,
        ),
        (
            TrafficShift.canary(percent=10, interval=Duration.minutes(2)),
            PlanInputs(shift="canary", percent=10, interval_minutes=2),
            "blue-green-ecs:alarmsSlowerThanCanary",
            SLOW_CANARY,
        ),
    ],
    ids=["linear", "canary"],
)
def test_synthesis_warns_about_slow_alarms_as_plan_does(
    shift: TrafficShift, inputs: PlanInputs, warning_id: str, message: str
) -> None:
    # given: a step no longer than the default alarms' 2 x 1 minute + 1 minute of ingestion
    stack = new_stack()

    # when
    BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), traffic_shift=shift)

    # then: the same words in both
    assert plan(inputs).notes == (message,)
    warnings = Annotations.from_stack(stack).find_warning("/Test/Web", Match.string_like_regexp("rollback alarms"))
    assert [w.entry.data for w in warnings] == [f"{message} [ack: {warning_id}]"]


def test_neither_warns_when_the_alarms_fire_inside_the_step() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        traffic_shift=TrafficShift.linear(percent=20, interval=Duration.minutes(4)),
    )
    assert plan(PlanInputs(shift="linear", percent=20, interval_minutes=4)).notes == ()
    assert Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("rollback alarms")) == []


def test_the_trigger_limits_are_the_deployment_triggers() -> None:
    assert limits.MAX_TRIGGER_MINUTES == deployment_trigger.MAX_DEPLOYMENT_TIMEOUT_MINUTES
    assert limits.TRIGGER_MARGIN_MINUTES == deployment_trigger.DEPLOYMENT_TIMEOUT_MARGIN_MINUTES


def test_plan_starts_no_jsii_runtime() -> None:
    code = (
        "import sys; from blue_green_ecs.cli.main import main; "
        "assert main(['plan', '--percent', '33.3']) == 1; assert main(['plan']) == 0; "
        "assert 'aws_cdk' not in sys.modules and 'jsii' not in sys.modules, 'jsii loaded'"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("minutes", "shown"),
    [(0, "0 minutes"), (1, "1 minute"), (90, "1 hour 30 minutes"), (3000, "2 days 2 hours"), (43200, "30 days")],
)
def test_computed_durations_read_as_people_say_them(minutes: int, shown: str) -> None:
    assert limits.human_minutes(minutes) == shown
