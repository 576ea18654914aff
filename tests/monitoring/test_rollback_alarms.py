"""Built-in rollback alarms, user alarms, and CodeDeploy's ten-alarm limit."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match

from blue_green_ecs import BlueGreenFargateService, RollbackAlarmOptions, TrafficShift
from blue_green_ecs.monitoring.rollback_alarms import MAX_METRICS_PER_ALARM

from ..configurations import IMAGE
from ..conftest import Synthesized
from ..support import logical_id, new_stack, raises_message, resources_of_type, synth


def _alarm(synthesized: Synthesized, alarm: cloudwatch.IAlarm) -> dict[str, Any]:
    alarm_id = logical_id(synthesized.stack, alarm)
    properties: dict[str, Any] = resources_of_type(synthesized.template, "AWS::CloudWatch::Alarm")[alarm_id][
        "Properties"
    ]
    return properties


def _metric_names(properties: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Metric id -> (metric name, target group logical id) of a metric-math alarm."""
    found = {}
    for metric in properties["Metrics"]:
        if "MetricStat" in metric:
            stat = metric["MetricStat"]
            dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
            found[metric["Id"]] = (stat["Metric"]["MetricName"], dimensions["TargetGroup"]["Fn::GetAtt"][0])
    return found


def test_three_built_in_alarms_by_default(sample: Synthesized) -> None:
    sample.template.resource_count_is("AWS::CloudWatch::Alarm", 3)
    built_in = sample.service.built_in_alarms
    assert sample.service.rollback_alarms == built_in.alarms
    assert built_in.alarms == [built_in.target_5xx, built_in.unhealthy_hosts, built_in.compare_errors]
    assert built_in.latency is None
    assert built_in.compare_latency is None


def test_compare_alarm_fires_on_the_difference_of_the_two_5xx_shares(sample: Synthesized) -> None:
    # given the default options / when synthesized
    compare = sample.service.built_in_alarms.compare_errors
    assert compare is not None
    properties = _alarm(sample, compare)
    blue = logical_id(sample.stack, sample.service.blue_target_group)
    green = logical_id(sample.stack, sample.service.green_target_group)
    # then it reads both target groups' errors and requests and judges only with 100 requests in each
    assert _metric_names(properties) == {
        "blueErrors": ("HTTPCode_Target_5XX_Count", blue),
        "blueRequests": ("RequestCount", blue),
        "greenErrors": ("HTTPCode_Target_5XX_Count", green),
        "greenRequests": ("RequestCount", green),
    }
    expression = next(m for m in properties["Metrics"] if "Expression" in m)
    assert expression["Expression"] == (
        "IF(MIN([FILL(blueRequests, 0), FILL(greenRequests, 0)]) >= 100, "
        "ABS(100 * FILL(blueErrors, 0) / blueRequests - 100 * FILL(greenErrors, 0) / greenRequests), 0)"
    )
    assert {k: properties[k] for k in ("Threshold", "EvaluationPeriods", "DatapointsToAlarm", "TreatMissingData")} == {
        "Threshold": 2,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "TreatMissingData": "notBreaching",
    }
    assert properties["AlarmDescription"] == (
        "Rolls back a blue/green deployment when one target group's HTTP 5xx share exceeds the other's by more "
        "than 2 percentage points (judged while each serves at least 100 requests a period)."
    )


def test_compare_options_set_margin_minimum_and_latency_comparison() -> None:
    # given a latency margin, a 1-point error margin and a 500-request minimum
    stack = new_stack()
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        rollback_alarm_options=RollbackAlarmOptions(
            max_error_rate_increase=1, compare_min_requests=500, max_latency_increase=Duration.millis(250)
        ),
    )
    # when synthesized
    synthesized = Synthesized(stack=stack, service=service, template=synth(stack))
    compare, latency = service.built_in_alarms.compare_errors, service.built_in_alarms.compare_latency
    assert compare is not None
    assert latency is not None
    # then both comparisons take a slot and use the given values
    assert service.rollback_alarms[-2:] == [compare, latency]
    assert _alarm(synthesized, compare)["Threshold"] == 1
    properties = _alarm(synthesized, latency)
    assert properties["Threshold"] == 0.25
    expression = next(m for m in properties["Metrics"] if "Expression" in m)
    assert expression["Expression"] == (
        "IF(MIN([FILL(blueRequests, 0), FILL(greenRequests, 0)]) >= 500, "
        "ABS(FILL(blueLatency, 0) - FILL(greenLatency, 0)), 0)"
    )
    assert sorted(name for name, _ in _metric_names(properties).values()) == [
        "RequestCount",
        "RequestCount",
        "TargetResponseTime",
        "TargetResponseTime",
    ]


def test_compare_blue_green_false_turns_the_comparison_off() -> None:
    stack = new_stack()
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        rollback_alarm_options=RollbackAlarmOptions(compare_blue_green=False),
    )
    synth(stack).resource_count_is("AWS::CloudWatch::Alarm", 2)
    assert service.built_in_alarms.compare_errors is None


def test_every_built_in_alarm_stays_within_cloudwatch_s_ten_metrics() -> None:
    # given every optional built-in alarm
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        rollback_alarm_options=RollbackAlarmOptions(
            max_p99_latency=Duration.seconds(2), max_latency_increase=Duration.millis(500)
        ),
    )
    # then each metric-math alarm reads at most 10 metrics
    alarms = resources_of_type(synth(stack), "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5
    counts = sorted(sum("MetricStat" in m for m in a["Properties"]["Metrics"]) for a in alarms.values())
    assert counts == [2, 2, 4, 4, 4]
    assert max(counts) <= MAX_METRICS_PER_ALARM


def test_5xx_alarm_watches_the_error_share_of_both_target_groups(sample: Synthesized) -> None:
    properties = _alarm(sample, sample.service.built_in_alarms.target_5xx)
    blue = logical_id(sample.stack, sample.service.blue_target_group)
    green = logical_id(sample.stack, sample.service.green_target_group)
    assert _metric_names(properties) == {
        "blueErrors": ("HTTPCode_Target_5XX_Count", blue),
        "blueRequests": ("RequestCount", blue),
        "greenErrors": ("HTTPCode_Target_5XX_Count", green),
        "greenRequests": ("RequestCount", green),
    }
    expression = next(m for m in properties["Metrics"] if "Expression" in m)
    assert expression["Expression"] == (
        "MAX([IF(blueRequests >= 10, 100 * FILL(blueErrors, 0) / blueRequests, 0), "
        "IF(greenRequests >= 10, 100 * FILL(greenErrors, 0) / greenRequests, 0)])"
    )
    assert {
        key: properties[key]
        for key in (
            "Threshold",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "ComparisonOperator",
            "TreatMissingData",
        )
    } == {
        "Threshold": 5,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
    }
    assert all(m["MetricStat"]["Period"] == 60 for m in properties["Metrics"] if "MetricStat" in m)


def test_unhealthy_hosts_alarm_fires_on_any_unhealthy_target(sample: Synthesized) -> None:
    properties = _alarm(sample, sample.service.built_in_alarms.unhealthy_hosts)
    assert {name for name, _ in _metric_names(properties).values()} == {"UnHealthyHostCount"}
    assert len(_metric_names(properties)) == 2
    assert properties["Threshold"] == 0
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert all(m["MetricStat"]["Stat"] == "Maximum" for m in properties["Metrics"] if "MetricStat" in m)


def test_alarms_fire_within_the_default_canary_interval(sample: Synthesized) -> None:
    detection = RollbackAlarmOptions().detection_time
    shift = sample.service.traffic_shift.shift_duration
    assert detection is not None
    assert shift is not None
    assert detection.to_seconds() < shift.to_seconds()


def test_latency_alarm_is_opt_in_with_its_threshold_in_seconds(https: Synthesized) -> None:
    latency = https.service.built_in_alarms.latency
    assert latency is not None
    properties = _alarm(https, latency)
    assert properties["Threshold"] == 1.5
    assert {m["MetricStat"]["Stat"] for m in properties["Metrics"] if "MetricStat" in m} == {"p99"}


def test_user_alarms_join_the_built_in_ones_in_the_deployment_group(https: Synthesized) -> None:
    alarms = resources_of_type(https.template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 5
    names = [{"Name": {"Ref": logical_id(https.stack, a)}} for a in https.service.rollback_alarms]
    https.template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup", {"AlarmConfiguration": {"Alarms": names, "Enabled": True}}
    )
    assert names[-1]["Name"]["Ref"].startswith("QueueDepth")


def _alarms(stack: Any, count: int, first: int = 0) -> list[cloudwatch.Alarm]:
    return [
        cloudwatch.Alarm(
            stack,
            f"Alarm{i}",
            metric=cloudwatch.Metric(namespace="App", metric_name=f"M{i}"),
            threshold=1,
            evaluation_periods=1,
        )
        for i in range(first, first + count)
    ]


def test_seven_user_alarms_fill_codedeploy_s_ten() -> None:
    stack = new_stack()
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), alarms=_alarms(stack, 7)
    )
    assert len(service.rollback_alarms) == 10
    template = synth(stack)
    template.has_resource_properties(
        "AWS::CodeDeploy::DeploymentGroup",
        {"AlarmConfiguration": {"Alarms": Match.any_value(), "Enabled": True}},
    )
    group = next(iter(resources_of_type(template, "AWS::CodeDeploy::DeploymentGroup").values()))
    assert len(group["Properties"]["AlarmConfiguration"]["Alarms"]) == 10


def test_rejects_more_alarms_than_codedeploy_accepts() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid alarms='<8 alarms>': CodeDeploy accepts 10 alarms per deployment group and 3 are built in; "
        "pass at most 7, or combine them in a cloudwatch.CompositeAlarm."
    ):
        BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), alarms=_alarms(stack, 8))


@pytest.mark.parametrize(
    ("options", "built_in"),
    [
        (RollbackAlarmOptions(compare_blue_green=False), 2),
        (RollbackAlarmOptions(), 3),
        (RollbackAlarmOptions(max_p99_latency=Duration.seconds(2)), 4),
        (RollbackAlarmOptions(max_p99_latency=Duration.seconds(2), max_latency_increase=Duration.seconds(1)), 5),
    ],
    ids=["no-comparison", "default", "latency", "latency-comparison"],
)
def test_alarm_count_check_counts_exactly_the_built_in_alarms(options: RollbackAlarmOptions, built_in: int) -> None:
    # given as many user alarms as the slots left
    stack = new_stack()
    service = BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        alarms=_alarms(stack, 10 - built_in),
        rollback_alarm_options=options,
    )
    # then the deployment group holds exactly ten, and one more is refused
    assert len(service.rollback_alarms) == 10
    assert options.alarm_count == built_in
    with pytest.raises(ValueError, match="already has 10 alarms"):
        service.add_rollback_alarm(_alarms(stack, 1, first=10)[0])


def test_latency_alarm_takes_a_slot() -> None:
    stack = new_stack()
    with pytest.raises(ValueError, match="4 are built in; pass at most 6"):
        BlueGreenFargateService(
            stack,
            "Web",
            image=ecs.ContainerImage.from_registry(IMAGE),
            alarms=_alarms(stack, 7),
            rollback_alarm_options=RollbackAlarmOptions(max_p99_latency=Duration.seconds(2)),
        )


def test_add_rollback_alarm_adds_to_the_deployment_group_up_to_the_limit() -> None:
    stack = new_stack()
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), alarms=_alarms(stack, 6)
    )
    extra, too_many = _alarms(stack, 2, first=6)
    service.add_rollback_alarm(extra)
    with raises_message(
        "Invalid alarm='Test/Alarm7': the deployment group already has 10 alarms, CodeDeploy's maximum; "
        "combine alarms in a cloudwatch.CompositeAlarm."
    ):
        service.add_rollback_alarm(too_many)
    group = next(iter(resources_of_type(synth(stack), "AWS::CodeDeploy::DeploymentGroup").values()))
    alarms = group["Properties"]["AlarmConfiguration"]["Alarms"]
    assert len(alarms) == 10
    assert alarms[-1] == {"Name": {"Ref": logical_id(stack, extra)}}


def test_thresholds_are_configurable() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        rollback_alarm_options=RollbackAlarmOptions(
            max_5xx_percent=1, min_requests=50, max_unhealthy_hosts=1, evaluation_periods=3
        ),
    )
    template = synth(stack)
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Threshold": 1,
            "EvaluationPeriods": 3,
            "Metrics": Match.array_with([Match.object_like({"Id": "expr_1"})]),
        },
    )
    template.has_resource_properties("AWS::CloudWatch::Alarm", {"Threshold": 1, "DatapointsToAlarm": 3})


def test_warns_when_alarms_cannot_fire_within_the_canary() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack,
        "Web",
        image=ecs.ContainerImage.from_registry(IMAGE),
        traffic_shift=TrafficShift.canary(percent=10, interval=Duration.minutes(2)),
    )
    Annotations.from_stack(stack).has_warning(
        "/Test/Web", Match.string_like_regexp(r"The canary interval \(2 minutes\) is not longer")
    )


def test_no_warning_for_the_default_canary(sample: Synthesized) -> None:
    Annotations.from_stack(sample.stack).has_no_warning("*", Match.any_value())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            RollbackAlarmOptions(max_5xx_percent=0),
            "Invalid rollback_alarm_options.max_5xx_percent=0: use a percentage above 0 and below 100.",
        ),
        (
            RollbackAlarmOptions(max_5xx_percent=100),
            "Invalid rollback_alarm_options.max_5xx_percent=100: use a percentage above 0 and below 100.",
        ),
        (
            RollbackAlarmOptions(min_requests=0),
            "Invalid rollback_alarm_options.min_requests=0: use a whole number from 1 to 1000000000.",
        ),
        (
            RollbackAlarmOptions(max_unhealthy_hosts=-1),
            "Invalid rollback_alarm_options.max_unhealthy_hosts=-1: use a whole number from 0 to 5000.",
        ),
        (
            RollbackAlarmOptions(period=Duration.seconds(30)),
            "Invalid rollback_alarm_options.period=30 seconds: use a whole number of minutes from 1 to 1440 "
            "(Duration.minutes(n)).",
        ),
        (
            RollbackAlarmOptions(evaluation_periods=0),
            "Invalid rollback_alarm_options.evaluation_periods=0: use a whole number from 1 to 1440.",
        ),
        (
            RollbackAlarmOptions(period=Duration.hours(1), evaluation_periods=25),
            "Invalid rollback_alarm_options.evaluation_periods=25: period x evaluation_periods is 90000 s; "
            "CloudWatch allows at most 86400 s.",
        ),
        (
            RollbackAlarmOptions(max_p99_latency=Duration.seconds(0)),
            "Invalid rollback_alarm_options.max_p99_latency=0 seconds: use a latency above zero.",
        ),
        (
            RollbackAlarmOptions(max_error_rate_increase=0),
            "Invalid rollback_alarm_options.max_error_rate_increase=0: use percentage points above 0 and below "
            "100 (2 means 0.5% on blue against 2.5% on green).",
        ),
        (
            RollbackAlarmOptions(compare_min_requests=0),
            "Invalid rollback_alarm_options.compare_min_requests=0: use a whole number from 1 to 1000000000.",
        ),
        (
            RollbackAlarmOptions(max_latency_increase=Duration.seconds(0)),
            "Invalid rollback_alarm_options.max_latency_increase=0 seconds: use a latency above zero.",
        ),
        (
            RollbackAlarmOptions(compare_blue_green=False, max_latency_increase=Duration.seconds(1)),
            "Invalid rollback_alarm_options.max_latency_increase=1 second: the latency comparison needs "
            "compare_blue_green=True; remove one of them.",
        ),
        (
            RollbackAlarmOptions(compare_blue_green="yes"),  # type: ignore[arg-type]
            "Invalid rollback_alarm_options.compare_blue_green='yes': use True or False.",
        ),
    ],
    ids=[
        "5xx-zero",
        "5xx-100",
        "min-requests",
        "unhealthy-negative",
        "period",
        "periods",
        "window",
        "latency",
        "error-increase",
        "compare-min-requests",
        "latency-increase",
        "latency-without-comparison",
        "compare-not-bool",
    ],
)
def test_rejects_invalid_alarm_options(options: RollbackAlarmOptions, message: str) -> None:
    with raises_message(message):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), rollback_alarm_options=options
        )
