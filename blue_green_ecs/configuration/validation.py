"""Construction-time checks for the values AWS would reject at deploy time.

Each check raises ``ValueError`` whose message names the keyword argument, shows the value and
says what is allowed, so the error points at the line to fix instead of a failed stack update
twenty minutes later. Unresolved tokens (values known only at deploy time) are let through.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Duration, Token
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from .limits import plural

# Fargate task sizes (Linux), from the ECS developer guide's "Task CPU and memory" table.
_FARGATE_MEMORY_BY_CPU: Mapping[int, range] = {
    256: range(512, 2048 + 1, 512),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
_FARGATE_256_MEMORY = (512, 1024, 2048)
_ECS_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_LOAD_BALANCER_NAME = re.compile(r"^(?!internal-)(?!-)[A-Za-z0-9-]{1,32}(?<!-)$")
_DEPLOYMENT_GROUP_NAME = re.compile(r"^.{1,100}$", re.DOTALL)
_ACCESS_LOGS_PREFIX = re.compile(r"^(?!/)(?!.*AWSLogs)[^\s]{1,900}(?<!/)$")
# Duration.to_string() names the unit and amount the duration was made with.
_WRITTEN = re.compile(r"^Duration\.(millis|seconds|minutes|hours|days)\(([0-9.]+)\)$")
_UNITS = {"millis": "millisecond", "seconds": "second", "minutes": "minute", "hours": "hour", "days": "day"}
_HTTP_CODES = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")


# aws-cdk-lib encodes a token in a string as "${Token[...]}" (a list token's element as "#{Token[...]}"), and
# in a number as a double of magnitude about 1.9e289 (core/lib/private/encoding.ts).
_TOKEN_MARKERS = ("${Token[", "#{Token[")
_SMALLEST_NUMBER_TOKEN = 1e288


def unresolved(value: object) -> bool:
    """True when ``value`` is a CDK token whose value is only known at deploy time."""
    # Plain strings and numbers are answered here: asking aws-cdk-lib is a jsii round trip per check.
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str):
        return any(marker in value for marker in _TOKEN_MARKERS) and bool(Token.is_unresolved(value))
    if isinstance(value, int | float):
        return abs(value) >= _SMALLEST_NUMBER_TOKEN and bool(Token.is_unresolved(value))
    if isinstance(value, Duration):
        return bool(value.is_unresolved())
    return bool(Token.is_unresolved(value))


def invalid(name: str, value: object, allowed: str) -> ValueError:
    """The one message format every check uses: parameter, value, what is allowed."""
    shown = show_duration(value) if isinstance(value, Duration) else repr(value)
    return ValueError(f"Invalid {name}={shown}: {allowed}")


def show_duration(value: Duration) -> str:
    """As it was written: ``Duration.days(30)`` is "30 days", not 43200 minutes (and exact, unlike
    Duration.to_human_string(), which drops the seconds of 1 hour 6 minutes 41 seconds)."""
    written = _WRITTEN.match(value.to_string())
    if written:
        return plural(float(written.group(2)), _UNITS[written.group(1)])
    seconds = value.to_milliseconds(integral=False) / 1000
    if seconds and seconds % 60 == 0:
        return plural(seconds // 60, "minute")
    return plural(seconds, "second")


def check_strings(name: str, value: object) -> None:
    """A prop typed as a sequence of strings: a bare string is a sequence of its characters to Python, and would
    become one value per character (a host rule matching "o", "r", ...), so it is refused, naming the list to give."""
    if value is None or unresolved(value):
        return
    if isinstance(value, str | bytes):
        raise TypeError(f"Invalid {name}={value!r}: give a list of strings, e.g. {name}=[{value!r}].")
    if not isinstance(value, list | tuple):
        raise TypeError(f"Invalid {name}={value!r}: give a list of strings.")
    for item in value:
        if not isinstance(item, str):
            raise TypeError(f"Invalid {name}={value!r}: every item must be a string, got {item!r}.")


def check_int(name: str, value: float, *, minimum: int, maximum: int, unit: str = "") -> None:
    """A whole number within ``[minimum, maximum]``."""
    if unresolved(value):
        return
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or value != int(value) or not minimum <= value <= maximum:
        raise invalid(name, value, f"use a whole number from {minimum} to {maximum}{suffix}.")


def check_duration(
    name: str,
    value: Duration,
    *,
    minimum_seconds: int,
    maximum_seconds: int,
    whole_minutes: bool = False,
    whole_seconds: bool = True,
) -> None:
    """A duration within bounds, in whole seconds (or minutes) unless told otherwise."""
    if unresolved(value):
        return
    seconds = value.to_milliseconds(integral=False) / 1000
    if whole_minutes:
        low, high = minimum_seconds // 60, maximum_seconds // 60
        if seconds % 60 != 0 or not minimum_seconds <= seconds <= maximum_seconds:
            raise invalid(name, value, f"use a whole number of minutes from {low} to {high} (Duration.minutes(n)).")
        return
    if (whole_seconds and seconds != int(seconds)) or not minimum_seconds <= seconds <= maximum_seconds:
        unit = "a whole number of seconds" if whole_seconds else "a duration"
        raise invalid(name, value, f"use {unit} from {minimum_seconds} to {maximum_seconds} seconds.")


def check_path(name: str, value: str) -> None:
    """An HTTP path as ELB takes it: starting with '/', at most 1024 characters."""
    if not unresolved(value) and (not value.startswith("/") or len(value) > 1024):
        raise invalid(name, value, "use a path that starts with '/', at most 1024 characters.")


def check_fargate_size(cpu: float, memory_limit_mib: float) -> None:
    """``cpu`` and ``memory_limit_mib`` must be one of the pairs Fargate runs."""
    if unresolved(cpu) or unresolved(memory_limit_mib):
        return
    if cpu not in _FARGATE_MEMORY_BY_CPU:
        sizes = ", ".join(str(c) for c in _FARGATE_MEMORY_BY_CPU)
        raise invalid("cpu", cpu, f"Fargate accepts {sizes} CPU units.")
    allowed = _FARGATE_MEMORY_BY_CPU[int(cpu)]
    if memory_limit_mib not in allowed:
        if cpu == 256:
            choices = ", ".join(str(m) for m in _FARGATE_256_MEMORY)
        else:
            choices = f"{allowed.start} to {allowed.stop - 1} in steps of {allowed.step}"
        raise invalid("memory_limit_mib", memory_limit_mib, f"with cpu={int(cpu)} Fargate accepts {choices} MiB.")


def check_name(name: str, value: str | None, pattern: re.Pattern[str], allowed: str) -> None:
    """A physical name or identifier that AWS restricts to ``pattern``."""
    if value is None or unresolved(value):
        return
    if not pattern.match(value):
        raise invalid(name, value, allowed)


def check_names(
    *,
    container_name: str,
    family: str | None,
    service_name: str | None,
    load_balancer_name: str | None,
    deployment_group_name: str | None,
    access_logs_prefix: str | None,
) -> None:
    """The names ECS, ELB, CodeDeploy and S3 would refuse."""
    ecs_name = "use 1 to 255 letters, digits, hyphens or underscores."
    check_name("container_name", container_name, _ECS_NAME, ecs_name)
    check_name("family", family, _ECS_NAME, ecs_name)
    check_name("service_name", service_name, _ECS_NAME, ecs_name)
    check_name(
        "load_balancer_name",
        load_balancer_name,
        _LOAD_BALANCER_NAME,
        "use 1 to 32 letters, digits or hyphens, not starting or ending with a hyphen or starting with 'internal-'.",
    )
    check_name("deployment_group_name", deployment_group_name, _DEPLOYMENT_GROUP_NAME, "use 1 to 100 characters.")
    check_name(
        "access_logs_prefix",
        access_logs_prefix,
        _ACCESS_LOGS_PREFIX,
        "use a key prefix without a leading or trailing '/' and without 'AWSLogs' (ELB adds it).",
    )


def check_distinct_ports(ports: Mapping[str, float]) -> None:
    """Two listeners on one load balancer cannot share a port."""
    seen: dict[float, str] = {}
    for name, port in ports.items():
        if unresolved(port):
            continue
        if port in seen:
            raise invalid(
                name,
                port,
                f"port {int(port)} is already used by {seen[port]}; each listener needs its own port.",
            )
        seen[port] = name


def check_health_check(health_check: elbv2.HealthCheck) -> None:
    """The target group health check limits that ELB enforces at deploy time."""
    if health_check.path is not None:
        check_path("health_check.path", health_check.path)
    interval, timeout = health_check.interval, health_check.timeout
    if interval is not None:
        check_duration("health_check.interval", interval, minimum_seconds=5, maximum_seconds=300)
    if timeout is not None:
        check_duration("health_check.timeout", timeout, minimum_seconds=2, maximum_seconds=120)
    if (
        interval is not None
        and timeout is not None
        and not unresolved(interval)
        and not unresolved(timeout)
        and timeout.to_seconds() >= interval.to_seconds()
    ):
        raise invalid(
            "health_check.timeout",
            timeout,
            f"it must be shorter than health_check.interval ({interval.to_human_string()}).",
        )
    for name, count in (
        ("health_check.healthy_threshold_count", health_check.healthy_threshold_count),
        ("health_check.unhealthy_threshold_count", health_check.unhealthy_threshold_count),
    ):
        if count is not None:
            check_int(name, count, minimum=2, maximum=10)
    codes = health_check.healthy_http_codes
    if codes is None or unresolved(codes):
        return
    if not _HTTP_CODES.match(codes) or any(not 200 <= int(c) <= 499 for c in re.findall(r"\d{3}", codes)):
        raise invalid(
            "health_check.healthy_http_codes",
            codes,
            "use HTTP codes from 200 to 499 as '200', '200,204' or '200-299'.",
        )
