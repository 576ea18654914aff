"""Why a deployment rolled back: the alarms' datapoints and both target groups' 5xx share (Stubber, real models)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers import rollback_reason
from blue_green_ecs.handlers.rollback_reason import alarm_names, explain

FIRED_AT = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
STOPPED = {
    "deploymentId": "d-NEW",
    "status": "Stopped",
    "errorInformation": {
        "code": "ALARM_ACTIVE",
        "message": "One or more alarms have been activated according to the Amazon CloudWatch metrics you "
        "selected, and the affected deployments have been stopped. Activated alarms: <web-compare>, <web-5xx>",
    },
}
NAMES = {"AlarmNames": ["web-compare", "web-5xx"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]}


def _stat(metric: str, target_group: str) -> dict[str, Any]:
    return {
        "Metric": {
            "Namespace": "AWS/ApplicationELB",
            "MetricName": metric,
            "Dimensions": [
                {"Name": "LoadBalancer", "Value": "app/shop/abc"},
                {"Name": "TargetGroup", "Value": f"targetgroup/{target_group}/123"},
            ],
        },
        "Period": 60,
        "Stat": "Sum",
    }


STATS = {
    "blueErrors": _stat("HTTPCode_Target_5XX_Count", "shop-blue"),
    "blueRequests": _stat("RequestCount", "shop-blue"),
    "greenErrors": _stat("HTTPCode_Target_5XX_Count", "shop-green"),
    "greenRequests": _stat("RequestCount", "shop-green"),
}
COMPARE_ALARM = {
    "AlarmName": "web-compare",
    "StateValue": "ALARM",
    "StateReason": "Threshold Crossed: 2 out of the last 2 datapoints were greater than the threshold (2.0).",
    "StateReasonData": json.dumps({"version": "1.0", "recentDatapoints": [6.5, 7.25], "threshold": 2.0}),
    "StateUpdatedTimestamp": FIRED_AT,
    "Metrics": [
        *({"Id": i, "MetricStat": s, "ReturnData": False} for i, s in STATS.items()),
        {"Id": "expr_1", "Expression": "IF(...)", "ReturnData": True},
    ],
}
FIVE_XX_ALARM = {
    "AlarmName": "web-5xx",
    "StateValue": "OK",
    "StateReason": "Threshold Crossed: no datapoints were received for 2 periods.",
    "StateUpdatedTimestamp": FIRED_AT - timedelta(hours=1),
}


@pytest.fixture
def cloudwatch() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _metric_queries() -> list[dict[str, Any]]:
    return [
        *({"Id": i, "MetricStat": s, "ReturnData": False} for i, s in STATS.items()),
        {
            "Id": "blueRate",
            "Expression": "100 * FILL(blueErrors, 0) / blueRequests",
            "Label": "blue",
            "ReturnData": True,
        },
        {
            "Id": "greenRate",
            "Expression": "100 * FILL(greenErrors, 0) / greenRequests",
            "Label": "green",
            "ReturnData": True,
        },
    ]


def test_names_the_fired_alarm_its_datapoints_and_both_error_shares(cloudwatch: tuple[Any, Stubber]) -> None:
    # given CodeDeploy stopped the deployment naming two alarms, the comparison in ALARM
    client, stub = cloudwatch
    stub.add_response("describe_alarms", {"MetricAlarms": [COMPARE_ALARM, FIVE_XX_ALARM]}, NAMES)
    stub.add_response(
        "get_metric_data",
        {
            "MetricDataResults": [
                {"Id": "blueRate", "Values": [0.5, 0.25, 0.0]},
                {"Id": "greenRate", "Values": [6.5, 7.25, 8.0]},
            ]
        },
        {
            "MetricDataQueries": _metric_queries(),
            "StartTime": FIRED_AT - timedelta(minutes=5),
            "EndTime": FIRED_AT,
            "ScanBy": "TimestampAscending",
        },
    )
    # when the reason is explained
    text = explain(client, STOPPED)
    # then it names each alarm with its datapoints or state reason, and both target groups' shares
    assert text == (
        "Alarm web-compare (ALARM): datapoints [6.5, 7.25] against threshold 2. "
        "Alarm web-5xx (OK): Threshold Crossed: no datapoints were received for 2 periods. "
        "5xx share per minute in the 5 minutes before it fired: shop-blue 0.5%, 0.25%, 0%; "
        "shop-green 6.5%, 7.2%, 8%."
    )


def test_no_target_group_metrics_means_no_error_shares(cloudwatch: tuple[Any, Stubber]) -> None:
    client, stub = cloudwatch
    stub.add_response("describe_alarms", {"MetricAlarms": [FIVE_XX_ALARM]}, NAMES)
    assert (
        explain(client, STOPPED) == "Alarm web-5xx (OK): Threshold Crossed: no datapoints were received for 2 periods."
    )


def test_only_alarm_stops_are_explained(cloudwatch: tuple[Any, Stubber]) -> None:
    # given a hook failure: no CloudWatch call at all (the Stubber would fail an unexpected one)
    client, _ = cloudwatch
    failed = {"errorInformation": {"code": "HOOK_EXECUTION_FAILURE", "message": "Activated alarms: <x>"}}
    assert explain(client, failed) == ""
    assert explain(client, {"errorInformation": {"code": "ALARM_ACTIVE", "message": "alarms activated"}}) == ""


def test_the_explanation_keeps_within_its_share_of_the_response(cloudwatch: tuple[Any, Stubber]) -> None:
    client, stub = cloudwatch
    long_reason = {**FIVE_XX_ALARM, "StateReason": "x" * 5000}
    stub.add_response("describe_alarms", {"MetricAlarms": [long_reason]}, NAMES)
    text = explain(client, STOPPED)
    assert len(text) == rollback_reason.MAX_CHARS
    assert text.endswith("...")


def test_alarm_names_are_read_from_codedeploy_s_message() -> None:
    assert alarm_names(STOPPED["errorInformation"]["message"]) == ["web-compare", "web-5xx"]  # type: ignore[index]
    assert alarm_names("One or more alarms have been activated") == []
