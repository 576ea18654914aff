"""Why a deployment rolled back: the alarms that fired, their datapoints, and both target groups' 5xx share.

CodeDeploy's reason for a deployment stopped by an alarm (``errorInformation`` code ``ALARM_ACTIVE``)
names the alarms ("Activated alarms: <a> <b>"), nothing more. This module adds, best effort, what
the alarm saw: CloudWatch ``DescribeAlarms`` gives each alarm's state reason and ``StateReasonData``
(its recent datapoints and threshold), and when the alarm reads both target groups' errors and requests
(the built-in ``Target5xx`` and ``CompareErrors`` alarms name them ``blueErrors``, ``blueRequests``,
``greenErrors``, ``greenRequests``), ``GetMetricData`` over those same metrics gives each target group's
5xx share for the minutes before the alarm fired. Target groups are named by their ELB name, since
which of the two is green swaps with every deployment.

Standard library only (the clients are passed in); every failure here leaves the reason as it was.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

# How much of the 4096-byte response the explanation may take: CodeDeploy's own words come first.
MAX_CHARS = 1200
# Minutes of metrics before the alarm's transition that the reason shows.
MINUTES_BEFORE = 5
_ACTIVATED = re.compile(r"<([^<>]+)>")
_RATE_METRICS = ("blueErrors", "blueRequests", "greenErrors", "greenRequests")


def alarm_names(error_message: str) -> list[str]:
    """The alarm names in CodeDeploy's ALARM_ACTIVE message ("... Activated alarms: <a> <b>"), each in brackets."""
    _, found, tail = error_message.partition("Activated alarms:")
    return _ACTIVATED.findall(tail) if found else []


def explain(cloudwatch: Any, info: Mapping[str, Any]) -> str:
    """Sentences to add to the reason of a deployment stopped by alarms ("" when there is nothing to add)."""
    error = info.get("errorInformation") or {}
    if error.get("code") != "ALARM_ACTIVE":
        return ""
    names = alarm_names(str(error.get("message") or ""))
    if not names:
        return ""
    alarms = cloudwatch.describe_alarms(AlarmNames=names[:100], AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    found = [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]
    parts = [_alarm_sentence(alarm) for alarm in found]
    rates = next((a for a in alarms.get("MetricAlarms", []) if _reads_both_target_groups(a)), None)
    if rates is not None:
        parts.append(_rates_sentence(cloudwatch, rates))
    text = " ".join(part for part in parts if part)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 3] + "..."


def _alarm_sentence(alarm: Mapping[str, Any]) -> str:
    name, state = alarm.get("AlarmName", "?"), alarm.get("StateValue", "?")
    try:
        data = json.loads(alarm.get("StateReasonData") or "{}")
    except ValueError:
        data = {}
    points = data.get("recentDatapoints")
    if isinstance(points, list) and "threshold" in data:
        values = ", ".join(f"{float(p):.3g}" for p in points)
        return f"Alarm {name} ({state}): datapoints [{values}] against threshold {float(data['threshold']):g}."
    reason = " ".join(str(alarm.get("StateReason") or "no state reason").split())
    return f"Alarm {name} ({state}): {reason.rstrip('.')}."


def _reads_both_target_groups(alarm: Mapping[str, Any]) -> bool:
    ids = {m.get("Id") for m in alarm.get("Metrics") or [] if "MetricStat" in m}
    return set(_RATE_METRICS) <= ids


def _target_group(stat: Mapping[str, Any]) -> str:
    """``targetgroup/<name>/<id>`` -> ``<name>``."""
    for dimension in stat["Metric"].get("Dimensions", []):
        if dimension.get("Name") == "TargetGroup":
            parts = str(dimension.get("Value")).split("/")
            return parts[1] if len(parts) > 2 else str(dimension.get("Value"))
    return "?"


def _rates_sentence(cloudwatch: Any, alarm: Mapping[str, Any]) -> str:
    stats = {m["Id"]: m["MetricStat"] for m in alarm["Metrics"] if m.get("Id") in _RATE_METRICS}
    end = alarm.get("StateUpdatedTimestamp")
    if not isinstance(end, datetime):
        return ""
    queries: list[dict[str, Any]] = [{"Id": i, "MetricStat": stats[i], "ReturnData": False} for i in _RATE_METRICS]
    for color in ("blue", "green"):
        queries.append(
            {
                "Id": f"{color}Rate",
                "Expression": f"100 * FILL({color}Errors, 0) / {color}Requests",
                "Label": color,
                "ReturnData": True,
            }
        )
    response = cloudwatch.get_metric_data(
        MetricDataQueries=queries,
        StartTime=end - timedelta(minutes=MINUTES_BEFORE),
        EndTime=end,
        ScanBy="TimestampAscending",
    )
    series = {r["Id"]: r.get("Values", []) for r in response.get("MetricDataResults", [])}
    shares = [
        f"{_target_group(stats[f'{color}Errors'])} {_percentages(series.get(f'{color}Rate', []))}"
        for color in ("blue", "green")
    ]
    return f"5xx share per minute in the {MINUTES_BEFORE} minutes before it fired: " + "; ".join(shares) + "."


def _percentages(values: Sequence[float]) -> str:
    return ", ".join(f"{v:.2g}%" for v in values) if values else "no requests"
