"""Why a lifecycle hook failed a CodeDeploy deployment: the reason the library's own hook logged.

``PutLifecycleEventHookExecutionStatus`` takes a status and no reason, so CodeDeploy's error names the event at
most, never why its hook failed (the migration's exit code and log link, the step analysis's numbers, the
pre-flight check's alarm). Each built-in hook writes one JSON line when it reports (``lifecycle_hook._codedeploy``
and ``migration._codedeploy``: ``"action": "reported"``, the ``deployment_id``, ``"status": "Failed"`` and its
``reason``) to its own log group, whose names the construct passes as ``HookLogGroups``. This module finds those
lines of one deployment with CloudWatch Logs ``FilterLogEvents`` (a quoted term matches the events that contain
it: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html) and words them.

Standard library only (the client is passed in); the caller keeps its reason when this fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

# How much of the 4096-byte response the hooks' reasons may take (CodeDeploy's own words come first).
MAX_CHARS = 1200
# FilterLogEvents may answer empty pages with a nextToken while it searches: enough to cover a deployment's
# minutes, bounded so a provider poll stays short.
MAX_PAGES = 5


def failed_reports(logs: Any, log_group: str, deployment_id: str, since: datetime) -> list[str]:
    """The reasons of the Failed reports the hook logging to ``log_group`` wrote for ``deployment_id``."""
    request: dict[str, Any] = {
        "logGroupName": log_group,
        "filterPattern": json.dumps(deployment_id),
        "startTime": int(since.timestamp() * 1000),
    }
    reasons: list[str] = []
    for _ in range(MAX_PAGES):
        page = logs.filter_log_events(**request)
        for event in page.get("events", []):
            reason = _failed_reason(str(event.get("message", "")), deployment_id)
            if reason and reason not in reasons:
                reasons.append(reason)
        token = page.get("nextToken")
        if not token:
            break
        request["nextToken"] = token
    return reasons


def _failed_reason(message: str, deployment_id: str) -> str:
    try:
        line = json.loads(message.strip())
    except ValueError:
        return ""
    if not isinstance(line, Mapping):
        return ""
    reported = line.get("action") == "reported" and line.get("status") == "Failed"
    return str(line.get("reason") or "") if reported and line.get("deployment_id") == deployment_id else ""


def explain(logs: Any, log_groups: Sequence[str], info: Mapping[str, Any]) -> str:
    """A sentence with what the library's hooks logged as their reason for failing the deployment ``info``
    (GetDeployment's ``deploymentInfo``); "" when none did."""
    deployment_id = str(info.get("deploymentId") or "")
    since = info.get("createTime")
    if not deployment_id or not log_groups or not isinstance(since, datetime):
        return ""
    reasons = [reason for group in log_groups for reason in failed_reports(logs, group, deployment_id, since)]
    if not reasons:
        return ""
    text = "The hook's reason: " + " | ".join(reasons)
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 3] + "..."
