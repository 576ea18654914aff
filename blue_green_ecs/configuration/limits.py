"""The numeric limits of a deployment, and their checks, on plain numbers.

The construct (traffic_shift.py, the engines) and ``blue-green-ecs plan`` (timeline.py) run the same
checks, so ``plan`` rejects exactly what synthesis rejects. Plain Python, no aws-cdk-lib import: ``plan``
must not start the jsii runtime. Percentages are floats, durations whole minutes; each check raises
``ValueError`` in the library's format (``Invalid <name>=<value>: <what to do>``), with the names the
caller passes (the construct's prop names, or ``PlanInputs``' fields).
"""

from __future__ import annotations

import math
from typing import Literal

from . import defaults

ShiftKind = Literal["canary", "linear", "all-at-once"]
EngineName = Literal["codedeploy", "ecs"]

# Both engines: ECS shifts in 0.1% steps, CodeDeploy in whole percents; a share of 0 or 100 is not a
# shift (use all at once); intervals are capped at two days like CodeDeploy's other waits.
MIN_PERCENT, MAX_PERCENT = 0.1, 99.9
MAX_INTERVAL_MINUTES = 2880
MAX_TERMINATION_WAIT_MINUTES = defaults.MAX_TERMINATION_WAIT_MINUTES
# CodeDeploy: TimeBasedCanary/TimeBasedLinear take whole percentages (CodeDeploy API reference).
CODEDEPLOY_MIN_PERCENT, CODEDEPLOY_MAX_PERCENT = 1, 99
# The deployment trigger: CloudFormation gives a custom resource one hour (deployment_trigger.py holds
# the same numbers; tests/configuration/test_limits.py pins them together).
MAX_TRIGGER_MINUTES = 55
TRIGGER_MARGIN_MINUTES = 15
# The migration task's timeout (deployment/migration.py, and plan's --migration): CodeDeploy waits an hour for a hook's
# report, and the function needs its own minutes around the task's.
MAX_MIGRATION_MINUTES = 50
# ECS's limits for the deployment configuration (CloudFormation AWS::ECS::Service reference).
ECS_MAX_BAKE_MINUTES = 1440
ECS_MIN_LINEAR_PERCENT = 3.0
# A deployment longer than this cannot complete inside one CloudFormation stack update.
ECS_MAX_DEPLOYMENT_HOURS = 33
# deployment_approval_wait_time by engine (its value): CodeDeploy's deploymentReadyOption waitTimeInMinutes (up
# to 2880, as its other waits), ECS's pause hook TimeoutInMinutes (1-20160, AWS::ECS::Service HookTimeoutConfig).
MAX_APPROVAL_MINUTES = {"CODE_DEPLOY": defaults.MAX_TERMINATION_WAIT_MINUTES, "ECS_NATIVE": 20160}


def problem(name: str, shown: str, allowed: str) -> ValueError:
    """The one message format every check uses: parameter, value as shown, what is allowed."""
    return ValueError(f"Invalid {name}={shown}: {allowed}")


def plural(amount: float, unit: str) -> str:
    """``1 minute``, ``30 days``, ``0.5 seconds``."""
    return f"{amount:g} {unit}{'' if amount == 1 else 's'}"


def human_minutes(minutes: float) -> str:
    """A computed number of minutes as people say it: ``2 days 2 hours``, ``39 hours``, ``90 seconds``."""
    if minutes != int(minutes):
        return plural(minutes * 60, "second")
    if minutes == 0:
        return "0 minutes"
    parts = []
    rest = int(minutes)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        amount, rest = divmod(rest, size)
        if amount:
            parts.append(plural(amount, unit))
    return " ".join(parts)


def describe_shift(kind: ShiftKind, percent: float | None, interval_minutes: float | None) -> str:
    """``canary 10% for 5 minutes``, ``linear 10% every 3 minutes``, ``all at once``."""
    if kind == "all-at-once" or percent is None or interval_minutes is None:
        return "all at once"
    joined = "for" if kind == "canary" else "every"
    return f"{kind} {percent:g}% {joined} {human_minutes(interval_minutes)}"


def shift_minutes(kind: ShiftKind, percent: float | None, interval_minutes: float | None) -> float:
    """From the first traffic step to all traffic on green: canary one interval, linear one per step after
    the first (10% steps: 9 intervals)."""
    if kind == "all-at-once" or percent is None or interval_minutes is None:
        return 0
    if kind == "canary":
        return interval_minutes
    return interval_minutes * (math.ceil(100 / percent) - 1)


def _shown(percent: float) -> str:
    """A percentage as given: ``150`` for 150 and 150.0 (``plan --percent`` parses a float), ``12.55``."""
    return str(int(percent)) if float(percent).is_integer() else repr(percent)


def _multiple(percent: float, step: float) -> bool:
    """Whether ``percent`` is a whole number of ``step`` (1 or 0.1)."""
    return float(percent).is_integer() if step == 1 else round(percent * 10) == percent * 10


def check_percent(name: str, percent: float) -> None:
    """0.1 to 99.9 in steps of 0.1, whichever engine (a ``TrafficShift`` does not know its engine yet)."""
    if isinstance(percent, bool) or not MIN_PERCENT <= percent <= MAX_PERCENT or not _multiple(percent, 0.1):
        raise problem(
            name,
            _shown(percent),
            f"use a percentage from {MIN_PERCENT:g} to {MAX_PERCENT:g} in steps of 0.1 with the ECS-native engine, "
            f"or from {CODEDEPLOY_MIN_PERCENT} to {CODEDEPLOY_MAX_PERCENT} in whole numbers with CodeDeploy.",
        )


def percent_range(engine: EngineName, kind: ShiftKind) -> tuple[float, float, float]:
    """Lowest and highest percentage of a canary or linear step under ``engine``, and the step between them.

    CodeDeploy's TimeBasedCanary and TimeBasedLinear take an integer (its API's ``Percentage``); ECS takes
    multiples of 0.1, a linear step at least 3 (``CanaryConfiguration``, ``LinearConfiguration``). 100 is no
    step for either: it is all at once.
    """
    if engine == "codedeploy":
        return CODEDEPLOY_MIN_PERCENT, CODEDEPLOY_MAX_PERCENT, 1
    return (ECS_MIN_LINEAR_PERCENT if kind == "linear" else MIN_PERCENT), MAX_PERCENT, 0.1


def check_engine_percent(name: str, percent: float, engine: EngineName, kind: ShiftKind) -> None:
    """The percentages ``engine`` takes for a ``kind`` step: its range and step, in one message."""
    low, high, step = percent_range(engine, kind)
    if not isinstance(percent, bool) and low <= percent <= high and _multiple(percent, step):
        return
    if engine == "codedeploy":
        allowed = f"CodeDeploy takes percentages from {low:g} to {high:g}, in steps of 1 (whole numbers)"
        if MIN_PERCENT <= percent <= MAX_PERCENT and _multiple(percent, 0.1):
            allowed += "; the ECS-native engine (DeploymentEngine.ECS_NATIVE) takes steps of 0.1"
    elif kind == "linear":
        allowed = f"ECS takes linear steps from {low:g} to {high:g} percent, in steps of {step:g}"
    else:
        allowed = f"ECS takes percentages from {low:g} to {high:g}, in steps of {step:g}"
    if percent == 100:
        allowed += "; all traffic in one step is an all-at-once shift"
    raise problem(name, _shown(percent), f"{allowed}.")


def check_codedeploy_percent(name: str, percent: float) -> None:
    """CodeDeploy's time-based configurations take whole percentages (canary and linear alike)."""
    check_engine_percent(name, percent, "codedeploy", "canary")


def check_ecs_linear_percent(name: str, percent: float) -> None:
    """ECS's linear steps: 3 percent or more."""
    check_engine_percent(name, percent, "ecs", "linear")


def check_ecs_bake(name: str, minutes: float, shown: str) -> None:
    if minutes > ECS_MAX_BAKE_MINUTES:
        raise problem(name, shown, f"ECS bake times are whole minutes from 0 to {ECS_MAX_BAKE_MINUTES}.")


def check_ecs_total(
    shift_name: str,
    shift_description: str,
    wait_name: str,
    total_minutes: float,
    *,
    shorten: str = "the steps or the bake time",
) -> None:
    if total_minutes > ECS_MAX_DEPLOYMENT_HOURS * 60:
        raise problem(
            shift_name,
            repr(shift_description),
            f"a deployment takes {human_minutes(total_minutes)} with {wait_name}, beyond CloudFormation's "
            f"{ECS_MAX_DEPLOYMENT_HOURS}-hour ceiling for one stack update; shorten {shorten}.",
        )


def trigger_minutes(shift: float, wait: float, approval: float) -> int:
    """The deployment trigger's default time budget: shift + waits + margin, whole minutes."""
    return math.ceil(shift + wait + approval) + TRIGGER_MARGIN_MINUTES


def check_trigger_budget(
    *, shift_name: str, shift_description: str, shift: float, wait_name: str, wait: float, approval: float
) -> None:
    """A deployment `cdk deploy` waits for must fit CloudFormation's hour for a custom resource.

    The message names what takes longest (the shift or the termination wait), since that is what to shorten.
    """
    needed = trigger_minutes(shift, wait, approval)
    if needed <= MAX_TRIGGER_MINUTES:
        return
    if shift >= wait:
        name, shown = shift_name, repr(shift_description)
        other = f"termination wait {human_minutes(wait)}"
    else:
        name, shown = wait_name, human_minutes(wait)
        other = f"traffic shift {shift_description}"
    approval_text = f", approval wait {human_minutes(approval)}" if approval else ""
    raise problem(
        name,
        shown,
        f"with the {other}{approval_text} a deployment needs about {human_minutes(needed)} (with "
        f"{TRIGGER_MARGIN_MINUTES} minutes for starting tasks and draining), and `cdk deploy` can wait for at "
        f"most {MAX_TRIGGER_MINUTES} minutes (CloudFormation gives a custom resource one hour). Shorten the "
        "shift or the waits, or set deploy_on_update=False and start deployments from your pipeline.",
    )


# CloudWatch's delay before a load balancer datapoint can be evaluated (about a minute): an alarm
# fires this long after its periods have breached.
METRIC_DELAY_SECONDS = 60


def alarm_detection_seconds(period_seconds: float, evaluation_periods: int, metric_delay_seconds: float) -> float:
    """How long after a fault starts the rollback alarms fire, at the latest."""
    return period_seconds * evaluation_periods + metric_delay_seconds


def slow_alarms(kind: ShiftKind, interval_seconds: float, detection_seconds: float) -> str | None:
    """The warning when a traffic step ends before the alarms can fire for a fault that began with it.

    A canary shifts everything next, a linear shift the next step: either way more users meet the
    fault before the rollback, so both warn (synthesis and ``plan`` alike).
    """
    if kind == "all-at-once" or interval_seconds > detection_seconds:
        return None
    step = "canary interval" if kind == "canary" else "linear step interval"
    then = "all traffic has shifted" if kind == "canary" else "the next step has shifted more traffic"
    return (
        f"The {step} ({human_minutes(interval_seconds / 60)}) is not longer than the rollback alarms' detection "
        f"time ({human_minutes(detection_seconds / 60)}, CloudWatch's ingestion delay included): a fault in one "
        f"step can only roll back after {then}. Lengthen the interval or shorten rollback_alarm_options."
    )
