"""The clients of the built-in hooks that the deployment calls do not need: CloudWatch, Systems Manager, EC2; and
CloudWatch Logs, which the provider function reads the hooks' reports from.

Real botocore clients answered from the model (``clients.Client``): CloudWatch's alarms are the stack's, in ALARM
when the test put them in ``Aws.alarming``; its metrics are ``metrics.py``'s; a Change Calendar's state is what
the test set in ``Aws.calendars``; a subnet's free addresses are its CIDR block's less the five AWS reserves
(https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html) and less the network interfaces of the
tasks, which the model does not place in subnets (a model choice: a subnet is never short of addresses).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from .aws import ACCOUNT, REGION, Aws, AwsError
from .clients import Client


def cloudwatch(aws: Aws, alarm_names: Callable[[], list[str]]) -> Any:
    """DescribeAlarms of the stack's alarms (``alarm_names``), GetMetricData of ``Aws.metrics``."""

    def describe_alarms(params: Mapping[str, Any]) -> dict[str, Any]:
        # Without AlarmTypes DescribeAlarms answers metric alarms only (CloudWatch API Reference, DescribeAlarms).
        if "MetricAlarm" not in (params.get("AlarmTypes") or ["MetricAlarm"]):
            return {"MetricAlarms": [], "CompositeAlarms": []}
        known = set(alarm_names())
        wanted = params.get("AlarmNames") or sorted(known)
        alarms = [
            {
                "AlarmName": name,
                "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
                "StateValue": "ALARM" if name in aws.alarming else "OK",
                "StateReason": "set by the test" if name in aws.alarming else "",
            }
            for name in wanted
            if name in known
        ]
        return {"MetricAlarms": alarms, "CompositeAlarms": []}

    operations = {"DescribeAlarms": describe_alarms, "GetMetricData": aws.metrics.get_metric_data}
    return Client(aws, "cloudwatch", operations).client


def ssm(aws: Aws) -> Any:
    """GetCalendarState (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCalendarState.html):
    a calendar the test did not set does not exist."""

    def get_calendar_state(params: Mapping[str, Any]) -> dict[str, Any]:
        names = params["CalendarNames"]
        missing = [name for name in names if name not in aws.calendars]
        if missing:
            raise AwsError("InvalidDocument", f"Document {missing[0]} does not exist.")
        states = [aws.calendars[name] for name in names]
        closed = [state for state in states if state[0] != "OPEN"]
        state, transition = (closed or states)[0]
        answer: dict[str, Any] = {"State": state, "AtTime": aws.now.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if transition is not None:
            answer["NextTransitionTime"] = transition.strftime("%Y-%m-%dT%H:%M:%SZ")
        return answer

    return Client(aws, "ssm", {"GetCalendarState": get_calendar_state}).client


def ec2(aws: Aws, subnets: Callable[[], Mapping[str, str]]) -> Any:
    """DescribeSubnets of the stack's subnets (``subnets``: id -> CIDR block); DescribeNetworkInterfaces finds none."""

    def describe_subnets(params: Mapping[str, Any]) -> dict[str, Any]:
        known = subnets()
        wanted = params.get("SubnetIds") or sorted(known)
        for subnet in wanted:
            if subnet not in known:
                raise AwsError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet}' does not exist")
        return {
            "Subnets": [
                {
                    "SubnetId": subnet,
                    "CidrBlock": known[subnet],
                    "AvailableIpAddressCount": ipaddress.ip_network(known[subnet]).num_addresses - 5,
                }
                for subnet in wanted
            ]
        }

    def describe_network_interfaces(params: Mapping[str, Any]) -> dict[str, Any]:
        return {"NetworkInterfaces": []}

    operations = {"DescribeSubnets": describe_subnets, "DescribeNetworkInterfaces": describe_network_interfaces}
    return Client(aws, "ec2", operations).client


def logs(aws: Aws) -> Any:
    """FilterLogEvents over what the stack's functions printed (``Aws.log_events``: log group -> (time, line)),
    with the filter patterns the library uses: none, or one quoted term, which matches the events that contain it
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html). One page: the model's
    logs are short."""

    def filter_log_events(params: Mapping[str, Any]) -> dict[str, Any]:
        group = str(params.get("logGroupName") or params.get("logGroupIdentifier") or "")
        if group.startswith("arn:"):
            group = group.removesuffix(":*").split(":log-group:", 1)[1]
        if group not in aws.log_groups:
            raise AwsError("ResourceNotFoundException", "The specified log group does not exist.")
        pattern = str(params.get("filterPattern") or "")
        if pattern and not (pattern.startswith('"') and pattern.endswith('"') and len(pattern) > 1):
            raise AssertionError(f"the model knows no filter pattern {pattern!r} (a quoted term, or none)")
        term = pattern[1:-1]
        since = int(params.get("startTime") or 0)
        events = [
            {"logStreamName": "simulated", "timestamp": stamp, "message": line, "eventId": f"{index}"}
            for index, (stamp, line) in enumerate(aws.log_events.get(group, []))
            if stamp >= since and term in line
        ]
        return {"events": events}

    return Client(aws, "logs", {"FilterLogEvents": filter_log_events}).client
