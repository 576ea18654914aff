"""Built-in pre-flight check: a lifecycle hook that fails a deployment before any green task starts.

A deployment that starts while a rollback alarm is already in ALARM can only roll back, after green has
been started and (under canary and linear) after some production traffic moved to it; one whose task
subnets lack free IP addresses starts green tasks that never get a network interface. This hook checks
both first and fails fast with the reason:

- every rollback alarm (metric and composite) whose state is ``ALARM`` is named with its state reason;
  ``OK`` and ``INSUFFICIENT_DATA`` pass, as neither rolls a deployment back. An alarm that does not exist
  is logged, not failed: it cannot fire, so it cannot roll back either.
- green runs at full size next to blue, so it needs the service's desired count of IP addresses (one
  per task: Fargate gives each task its own network interface), plus the headroom; the check fails when
  the task subnets' free addresses add up to fewer, naming each subnet with its free count.

- freeze windows: every AWS Systems Manager Change Calendar in ``CHANGE_CALENDARS`` must be ``OPEN`` now, as
  ``ssm:GetCalendarState`` reports it (a calendar open by default is CLOSED during its events, one closed by
  default is OPEN during them; the call answers the state either way). Each calendar is asked on its own, so the
  failure names every closed one and when it next opens (``NextTransitionTime``).

Every check runs, so one failure reports every problem. An AWS call that fails (access denied, throttled
until botocore's retries gave up, an unreachable endpoint) fails the hook with the call and the error:
a gate that cannot see is closed.

It runs under either deployment engine, through the ``lifecycle_hook`` helper: under CodeDeploy as the
``BeforeInstall`` hook, reporting with ``PutLifecycleEventHookExecutionStatus``; under Amazon ECS native
blue/green deployments at the ``PRE_SCALE_UP`` stage, returning ``hookStatus``. ``preflight.PreflightCheckFunction``
deploys it (``preflight.handler``) outside any VPC. Its environment variables (a check whose variable is
absent does not run):

``ALARM_NAMES``
    The rollback alarms' names, a JSON array (names may hold commas).
``ALARM_NAMES_FROM_SERVICE``
    ``true``: the rollback alarms are the service's own (``deploymentConfiguration.alarms``, read with
    ``ecs:DescribeServices``), as under Amazon ECS, where the service names the hook function and the
    function cannot name the alarms (they wait for the listeners, which wait for the service's live-state
    lookup, which reads the service).
``SUBNET_IDS``
    The task subnets, comma-separated.
``CLUSTER_ARN``
    The service's cluster.
``SERVICE_ARN``
    The service; absent under Amazon ECS, whose event names it (``executionDetails.serviceArn``): the
    service names the hook function there, so the function cannot name the service.
``IP_ADDRESS_HEADROOM``
    Free addresses to keep beyond green's tasks, default 0.
``CHANGE_CALENDARS``
    The change calendars, a JSON array of names (this account's) or document ARNs (a calendar shared from
    another account is named by its ARN).

Time: every client retries ``MAX_RETRIES`` times (botocore's standard mode) with 5 s connect and 10 s read
timeouts, so one call gives up within about 75 s; the function's timeout covers the three calls, one more per change
calendar, and the report, so under CodeDeploy the hook always reports instead of leaving CodeDeploy waiting for an hour.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    # Top-level module inside the Lambda asset, blue_green_ecs.handlers.lifecycle_hook in the library.
    lifecycle_hook = importlib.import_module(f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook")

# The built-in hooks' client policy: each call over within about 75 s.
MAX_RETRIES = lifecycle_hook.HOOK_CLIENT_MAX_RETRIES
CLIENT_CONFIG = lifecycle_hook.HOOK_CLIENT_CONFIG
# DescribeAlarms takes at most 100 AlarmNames per request.
ALARM_BATCH = 100
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.preflight", "action": action, **fields}, default=str))


@dataclass(frozen=True)
class PreflightConfig:
    """The function's environment: which checks run, and on what."""

    alarm_names: tuple[str, ...] | None
    alarms_from_service: bool
    subnet_ids: tuple[str, ...] | None
    cluster: str
    service: str
    headroom: int
    change_calendars: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> PreflightConfig:
        """Read the environment; a malformed value is a ValueError naming the variable."""
        alarm_names: tuple[str, ...] | None = None
        if "ALARM_NAMES" in environ:
            try:
                parsed = json.loads(environ["ALARM_NAMES"] or "[]")
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, list) or not all(isinstance(name, str) for name in parsed):
                raise ValueError(f"ALARM_NAMES must be a JSON array of alarm names, got {environ['ALARM_NAMES']!r}")
            alarm_names = tuple(dict.fromkeys(name for name in parsed if name))
        subnet_ids: tuple[str, ...] | None = None
        if "SUBNET_IDS" in environ:
            subnet_ids = tuple(dict.fromkeys(s.strip() for s in environ["SUBNET_IDS"].split(",") if s.strip()))
            if not subnet_ids:
                raise ValueError(
                    f"SUBNET_IDS must list the task subnets, comma-separated, got {environ['SUBNET_IDS']!r}"
                )
        raw = environ.get("IP_ADDRESS_HEADROOM", "").strip() or "0"
        if not raw.isdigit():
            raise ValueError(f"IP_ADDRESS_HEADROOM must be a whole number of addresses, got {raw!r}")
        from_service = environ.get("ALARM_NAMES_FROM_SERVICE", "").strip().lower()
        if from_service not in ("", "true", "false"):
            raise ValueError(f"ALARM_NAMES_FROM_SERVICE must be true or false, got {from_service!r}")
        calendars: tuple[str, ...] = ()
        if "CHANGE_CALENDARS" in environ:
            try:
                listed = json.loads(environ["CHANGE_CALENDARS"] or "[]")
            except json.JSONDecodeError:
                listed = None
            if not isinstance(listed, list) or not all(isinstance(name, str) and name for name in listed):
                raise ValueError(
                    "CHANGE_CALENDARS must be a JSON array of change calendar names or ARNs, "
                    f"got {environ['CHANGE_CALENDARS']!r}"
                )
            calendars = tuple(dict.fromkeys(listed))
        return cls(
            alarm_names=alarm_names,
            alarms_from_service=from_service == "true",
            subnet_ids=subnet_ids,
            cluster=environ.get("CLUSTER_ARN", "").strip(),
            service=environ.get("SERVICE_ARN", "").strip(),
            headroom=int(raw),
            change_calendars=calendars,
        )


class CheckFailedError(Exception):
    """One check's reason to stop the deployment (the hook fails with all of them)."""


@contextmanager
def calling(action: str, what: str) -> Iterator[None]:
    """Turn an AWS error of ``action`` into CheckFailedError saying what could not be read, and why."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", str(exc))
        hint = f"; the function's role needs {action}" if code in _ACCESS_DENIED else ""
        raise CheckFailedError(f"cannot read {what} ({action}): {code}: {message}{hint}") from exc
    except BotoCoreError as exc:
        raise CheckFailedError(f"cannot read {what} ({action}): {type(exc).__name__}: {exc}") from exc


def check_alarms(cloudwatch: Any, names: Sequence[str]) -> None:
    """Fail when any of the rollback alarms ``names`` is in ALARM, naming each with its reason."""
    found: dict[str, Mapping[str, Any]] = {}
    with calling("cloudwatch:DescribeAlarms", "the rollback alarms' states"):
        paginator = cloudwatch.get_paginator("describe_alarms")
        for start in range(0, len(names), ALARM_BATCH):
            # Without AlarmTypes, DescribeAlarms returns metric alarms only, whatever the names.
            pages = paginator.paginate(
                AlarmNames=list(names[start : start + ALARM_BATCH]), AlarmTypes=["CompositeAlarm", "MetricAlarm"]
            )
            for page in pages:
                for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
                    found[alarm["AlarmName"]] = alarm
    firing = [found[name] for name in names if found.get(name, {}).get("StateValue") == "ALARM"]
    log(
        "alarms",
        checked=len(names),
        states={name: alarm.get("StateValue") for name, alarm in found.items()},
        in_alarm=[alarm["AlarmName"] for alarm in firing],
        # Deleted, or a name that never existed: it cannot fire, and so cannot roll back either.
        not_found=[name for name in names if name not in found],
    )
    if firing:
        described = "; ".join(
            f"{alarm['AlarmName']!r} (since {alarm.get('StateUpdatedTimestamp', 'unknown')}: "
            f"{alarm.get('StateReason') or 'no reason given'})"
            for alarm in firing
        )
        raise CheckFailedError(
            f"{len(firing)} rollback alarm(s) already in ALARM, so the deployment could only roll back: {described}. "
            "Fix what the alarm reports, or wait until it is OK, then deploy again."
        )


def describe_service(ecs: Any, cluster: str, service: str) -> Mapping[str, Any]:
    """The service as ECS describes it: its desired count, and its own rollback alarms."""
    with calling("ecs:DescribeServices", f"service {service}"):
        response = ecs.describe_services(cluster=cluster, services=[service])
    services = response.get("services") or []
    if not services:
        failures = response.get("failures") or [{}]
        reason = failures[0].get("reason") or "not returned"
        raise CheckFailedError(f"cannot read service {service} in cluster {cluster}: {reason}")
    described: Mapping[str, Any] = services[0]
    return described


def service_alarm_names(described: Mapping[str, Any]) -> tuple[str, ...]:
    """The alarms ECS rolls the service's deployments back on (none when that is turned off)."""
    alarms = described.get("deploymentConfiguration", {}).get("alarms") or {}
    return tuple(alarms.get("alarmNames") or ()) if alarms.get("enable") and alarms.get("rollback") else ()


def free_addresses(ec2: Any, subnet_ids: Sequence[str]) -> dict[str, int]:
    """Subnet id -> its free IP addresses, in the given order."""
    with calling("ec2:DescribeSubnets", f"the free IP addresses of subnets {', '.join(subnet_ids)}"):
        response = ec2.describe_subnets(SubnetIds=list(subnet_ids))
    counts = {s["SubnetId"]: int(s.get("AvailableIpAddressCount", 0)) for s in response.get("Subnets", [])}
    missing = [subnet for subnet in subnet_ids if subnet not in counts]
    if missing:
        raise CheckFailedError(f"cannot read the free IP addresses of subnets {', '.join(missing)}: not returned")
    return {subnet: counts[subnet] for subnet in subnet_ids}


def check_ip_addresses(ec2: Any, config: PreflightConfig, service: Mapping[str, Any]) -> None:
    """Fail when the task subnets have fewer free addresses than green's tasks (plus the headroom) need."""
    assert config.subnet_ids is not None
    count = int(service.get("desiredCount", 0))
    needed = count + config.headroom
    free = free_addresses(ec2, config.subnet_ids)
    log(
        "ip-addresses",
        service=service.get("serviceArn"),
        desired_count=count,
        headroom=config.headroom,
        needed=needed,
        free=free,
    )
    if sum(free.values()) < needed:
        listed = ", ".join(f"{subnet}: {n}" for subnet, n in free.items())
        headroom = f" plus a headroom of {config.headroom}" if config.headroom else ""
        raise CheckFailedError(
            f"the task subnets have {sum(free.values())} free IP address(es) ({listed}) and green needs {needed}: "
            f"{count} task(s) at the service's desired count, one address each{headroom}. Free addresses in these "
            "subnets (unused network interfaces, other services), give the service more or larger subnets "
            "(task_subnets), or lower its desired count, then deploy again."
        )


def check_change_calendars(ssm: Any, calendars: Sequence[str]) -> None:
    """Fail when any change calendar is CLOSED now, naming each with when it next opens.

    GetCalendarState answers CLOSED for a request when any of its calendars is closed, without saying which
    (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetCalendarState.html), so each
    calendar is asked on its own.
    """
    states: dict[str, Mapping[str, Any]] = {}
    for calendar in calendars:
        with calling("ssm:GetCalendarState", f"the state of change calendar {calendar}"):
            states[calendar] = ssm.get_calendar_state(CalendarNames=[calendar])
    closed = [name for name, state in states.items() if state.get("State") != "OPEN"]
    log(
        "change-calendars",
        states={name: state.get("State") for name, state in states.items()},
        next_transitions={name: state.get("NextTransitionTime") for name, state in states.items()},
        closed=closed,
    )
    if closed:
        described = "; ".join(
            f"{name!r} is {states[name].get('State')} (at {states[name].get('AtTime', 'now')}), "
            + (
                f"next open at {states[name]['NextTransitionTime']}"
                if states[name].get("NextTransitionTime")
                else "with no change of state scheduled"
            )
            for name in closed
        )
        raise CheckFailedError(
            f"{len(closed)} change calendar(s) closed, a freeze window: {described}. Deploy again once the "
            "calendar is open, or end the event in AWS Systems Manager Change Calendar."
        )


def service_of(config: PreflightConfig, event: Mapping[str, Any]) -> str:
    """The service to size green from: the environment's (CodeDeploy), else the ECS event's."""
    details = event.get("executionDetails")
    from_event = details.get("serviceArn") if isinstance(details, Mapping) else None
    service = config.service or (from_event if isinstance(from_event, str) else "")
    if not service:
        raise CheckFailedError(
            "cannot tell which service to size green from: SERVICE_ARN is not set and the event has no "
            "executionDetails.serviceArn"
        )
    return service


def _default_client(service: str) -> Any:
    return lifecycle_hook.hook_client(service)


def make_handler(
    *,
    client: Any = None,
    cloudwatch_client: Any = None,
    ecs_client: Any = None,
    ec2_client: Any = None,
    ssm_client: Any = None,
    environ: Mapping[str, str] | None = None,
) -> lifecycle_hook.LambdaHandler:
    """Build the Lambda handler; tests inject the clients and the environment.

    ``client`` serves CodeDeploy reports only (see ``lifecycle_hook.codedeploy_hook``); a client not given
    is created on first use with :data:`CLIENT_CONFIG`.
    """

    def preflight(event: Mapping[str, Any], context: Any) -> bool:
        config = PreflightConfig.from_env(os.environ if environ is None else environ)

        read: list[Mapping[str, Any] | CheckFailedError] = []

        def service() -> Mapping[str, Any]:
            """The service, described once for both checks (a failure too: it is reported once)."""
            if not read:
                try:
                    read.append(
                        describe_service(
                            ecs_client or _default_client("ecs"), config.cluster, service_of(config, event)
                        )
                    )
                except CheckFailedError as exc:
                    read.append(exc)
            if isinstance(read[0], CheckFailedError):
                raise read[0]
            return read[0]

        def alarms() -> None:
            names = config.alarm_names if config.alarm_names is not None else service_alarm_names(service())
            check_alarms(cloudwatch_client or _default_client("cloudwatch"), names)

        checks: list[Callable[[], None]] = []
        if config.change_calendars:
            checks.append(lambda: check_change_calendars(ssm_client or _default_client("ssm"), config.change_calendars))
        if config.alarm_names is not None or config.alarms_from_service:
            checks.append(alarms)
        if config.subnet_ids is not None:
            checks.append(lambda: check_ip_addresses(ec2_client or _default_client("ec2"), config, service()))
        # Every check runs, so one failed deployment names every problem (a failed service read only once).
        problems: list[str] = []
        for check in checks:
            try:
                check()
            except CheckFailedError as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
        log("result", passed=not problems, problems=problems)
        if problems:
            raise lifecycle_hook.HookFailedError("pre-flight check failed: " + " | ".join(problems))
        return True

    return lifecycle_hook.codedeploy_hook(client=client)(preflight)


handler = make_handler()
