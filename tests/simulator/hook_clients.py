"""The clients of the built-in hooks that the deployment calls do not need: CloudWatch, Systems Manager, EC2.

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
