"""The time to a deployment's next step, from what the deployment APIs return (``status`` and ``watch``).

CodeDeploy engine: the deployment config's traffic routing (``GetDeploymentConfig``: canary or linear
percentage and interval, or all at once), the ``AllowTraffic`` lifecycle event's start time and the
green task set's traffic weight give the next traffic step; the end of the last finished lifecycle
event starts the approval wait (``deploymentReadyOption``) and the termination wait before blue goes
(``terminateBlueInstancesOnDeploymentSuccess``).

ECS-native engine: the deployment's own configuration (strategy, canary or linear step and its bake
time, bake time), its lifecycle stage, the new revision's production traffic weight, and the expiry
of a lifecycle hook awaiting action (for the approval, a PAUSE hook, with the commands that answer it).
ECS reports no start time per step or stage, so a step or the bake is counted from the deployment's
last update (``updatedAt``): the time left is at most the one shown.

Every function takes ``now`` (an aware ``datetime``), so tests pass a fixed clock.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from .states import awaiting_approval

# Events after which CodeDeploy waits: for approval (after the test traffic) or before blue goes.
_FINISHED = ("Succeeded", "Skipped")


def duration(seconds: float) -> str:
    """``45s``, ``3m12s``, ``1h02m``; what is due (or overdue) reads ``0s``."""
    whole = max(0, math.ceil(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def _percent(value: float) -> str:
    return f"{value:g}%"


def _left(deadline: datetime, now: datetime) -> str:
    return duration((deadline - now).total_seconds())


def next_weight(kind: str, percent: float, weight: float) -> tuple[float, int] | None:
    """The new version's share after the next step and the steps taken so far; ``None`` when all has moved.

    Nothing moved yet (``weight`` 0): the first step, due when the shift starts.

    ``kind`` is ``canary`` (``percent`` first, the rest after one interval) or ``linear`` (``percent``
    more every interval); ``weight`` is the new version's share now.
    """
    if weight >= 100 or kind not in ("canary", "linear") or percent <= 0:
        return None
    if weight <= 0:
        return min(100.0, percent), 0
    if kind == "canary":
        return 100.0, 1
    taken = max(1, math.ceil(weight / percent - 1e-9))
    return min(100.0, (taken + 1) * percent), taken


def _events(ecs_target: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(e.get("lifecycleEventName")): e for e in ecs_target.get("lifecycleEvents", [])}


def _last_end(ecs_target: dict[str, Any]) -> datetime | None:
    ends = [
        e["endTime"] for e in ecs_target.get("lifecycleEvents", []) if e.get("endTime") and e.get("status") in _FINISHED
    ]
    return max(ends) if ends else None


def _green_weight(ecs_target: dict[str, Any]) -> float:
    for task_set in ecs_target.get("taskSetsInfo", []):
        if task_set.get("taskSetLabel") == "Green":
            return float(task_set.get("trafficWeight", 0))
    return 0.0


def codedeploy_routing(config_info: dict[str, Any]) -> tuple[str, float, float]:
    """``(kind, percent, interval minutes)`` of a deployment config's traffic routing; ``all at once`` has no steps."""
    routing = config_info.get("trafficRoutingConfig") or {}
    if routing.get("type") == "TimeBasedCanary":
        canary = routing.get("timeBasedCanary") or {}
        return "canary", float(canary.get("canaryPercentage", 0)), float(canary.get("canaryInterval", 0))
    if routing.get("type") == "TimeBasedLinear":
        linear = routing.get("timeBasedLinear") or {}
        return "linear", float(linear.get("linearPercentage", 0)), float(linear.get("linearInterval", 0))
    return "all at once", 100.0, 0.0


def shifting(ecs_target: dict[str, Any]) -> bool:
    """Whether CodeDeploy is moving production traffic (the ``AllowTraffic`` event is in progress)."""
    event = _events(ecs_target).get("AllowTraffic") or {}
    return event.get("status") == "InProgress" and event.get("startTime") is not None


def codedeploy_next(
    info: dict[str, Any], ecs_target: dict[str, Any], routing: tuple[str, float, float] | None, now: datetime
) -> str | None:
    """The line about what comes next for a CodeDeploy deployment, or ``None`` when there is nothing timed."""
    blue_green = info.get("blueGreenDeploymentConfiguration") or {}
    status = info.get("status")
    if status == "Ready":
        ready = blue_green.get("deploymentReadyOption") or {}
        waited_from = _last_end(ecs_target)
        minutes = ready.get("waitTimeInMinutes")
        if waited_from is None or not minutes:
            return None
        action = "stops" if ready.get("actionOnTimeout") == "STOP_DEPLOYMENT" else "continues"
        deadline = waited_from + timedelta(minutes=minutes)
        return f"  approval times out in {_left(deadline, now)} (then the deployment {action})"
    if routing is not None and shifting(ecs_target):
        kind, percent, interval = routing
        start = _events(ecs_target)["AllowTraffic"]["startTime"]
        weight = _green_weight(ecs_target)
        step = next_weight(kind, percent, weight)
        if step is None:
            return None
        # The first step is taken when AllowTraffic starts, each further one an interval later.
        after, taken = step
        due = start + timedelta(minutes=taken * interval)
        return f"  next step: {_percent(weight)} -> {_percent(after)} in {_left(due, now)} ({kind})"
    termination = blue_green.get("terminateBlueInstancesOnDeploymentSuccess") or {}
    after_traffic = _events(ecs_target).get("AfterAllowTraffic") or {}
    if status == "Baking" or (info.get("instanceTerminationWaitTimeStarted") and status == "InProgress"):
        if termination.get("action") == "KEEP_ALIVE":
            return "  blue is kept (KEEP_ALIVE): it does not terminate"
        ended = after_traffic.get("endTime") or _last_end(ecs_target)
        if ended is None:
            return None
        deadline = ended + timedelta(minutes=termination.get("terminationWaitTimeInMinutes", 0))
        return f"  blue terminates in {_left(deadline, now)} (a rollback until then switches back)"
    return None


def approval_line(hook: dict[str, Any], now: datetime) -> str:
    """The line of an ECS-native deployment waiting at its PAUSE hook: the commands, the time left, then what.

    The deadline is the hook's ``expiresAt``, after which ECS takes its ``timeoutAction`` (ECS API Reference,
    DeploymentLifecycleHookDetail); the countdown goes, the deadline stays (``without_countdowns``).
    """
    line = "  waiting for approval: blue-green-ecs approve (or reject)"
    expires = hook.get("expiresAt")
    if expires is None:
        return line
    then = (hook.get("timeoutAction") or "ROLLBACK").lower()
    until = expires.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{line} within {_left(expires, now)}, until {until} (then {then})"


def ecs_lines(deployment: dict[str, Any], now: datetime) -> list[str]:
    """The traffic split and what comes next for an ECS-native service deployment."""
    lines = []
    config = deployment.get("deploymentConfiguration") or {}
    target = deployment.get("targetServiceRevision") or {}
    weight = target.get("requestedProductionTrafficWeight")
    if weight is not None:
        lines.append(f"  new revision: {_percent(float(weight))} of production traffic")
    approval = awaiting_approval(deployment)
    if approval is not None:
        lines.append(approval_line(approval, now))
    for hook in deployment.get("lifecycleHookDetails") or []:
        if approval is not None and hook.get("hookId") == approval.get("hookId"):
            continue  # its line is the approval's, above
        if hook.get("status") in ("AWAITING_ACTION", "IN_PROGRESS") and hook.get("expiresAt") is not None:
            name = str(hook.get("targetArn") or hook.get("hookId") or "hook").rsplit(":", 1)[-1]
            then = (hook.get("timeoutAction") or "ROLLBACK").lower()
            state = "waiting for action" if hook["status"] == "AWAITING_ACTION" else "running"
            lines.append(f"  hook {name} {state}: times out in {_left(hook['expiresAt'], now)} (then {then})")
    stage, since = deployment.get("lifecycleStage"), deployment.get("updatedAt")
    if since is None:
        return lines
    strategy = config.get("strategy")
    if stage == "PRODUCTION_TRAFFIC_SHIFT" and weight is not None and strategy in ("CANARY", "LINEAR"):
        if strategy == "CANARY":
            shift = config.get("canaryConfiguration") or {}
            percent, bake = shift.get("canaryPercent", 0), shift.get("canaryBakeTimeInMinutes", 0)
        else:
            shift = config.get("linearConfiguration") or {}
            percent, bake = shift.get("stepPercent", 0), shift.get("stepBakeTimeInMinutes", 0)
        step = next_weight(strategy.lower(), float(percent), float(weight))
        if step is not None:
            # ECS gives no step's start; it began no later than the last update: at most this is left.
            after = step[0]
            deadline = since + timedelta(minutes=bake)
            lines.append(
                f"  next step: {_percent(float(weight))} -> {_percent(after)} in at most {_left(deadline, now)} "
                f"({strategy.lower()})"
            )
    elif stage == "BAKE_TIME":
        deadline = since + timedelta(minutes=config.get("bakeTimeInMinutes") or 0)
        lines.append(f"  blue terminates in at most {_left(deadline, now)} (a rollback until then switches back)")
    return lines


_COUNTDOWN = re.compile(r"\b(?:\d+h\d{2}m|\d+m\d{2}s|\d+s)\b")


def without_countdowns(lines: list[str]) -> list[str]:
    """``lines`` with their countdowns blanked: what ``watch`` compares to decide whether anything changed."""
    return [_COUNTDOWN.sub("...", line) for line in lines]
