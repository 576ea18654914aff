"""What a blue/green deployment costs beyond running the service: blue and green side by side.

Pure Python (no CDK import), for ``blue-green-ecs plan``. A blue/green deployment starts green at the
service's full task count next to blue (CodeDeploy's replacement task set, ECS's new service revision) and
stops blue only after the shift, the termination wait (ECS: the bake time) and the targets' draining. For
that overlap the service runs twice its tasks; the extra is one set's tasks for the overlap:

    extra vCPU-hours = tasks x task CPU units / 1024 x overlap hours
    extra GB-hours   = tasks x task memory MiB / 1024 x overlap hours

AWS Fargate bills each task's vCPU and memory per second from the start of its image pull until the task
terminates, with a one-minute minimum (https://aws.amazon.com/fargate/pricing/); the overlap is billed
per second, at least a minute. No prices are read here (no network): a dollar figure is printed only from
prices the user gives.

A migration task (``migration_task``) runs before green starts, while blue serves alone: no overlap, but one task
of the task definition's size for the migration's time (its timeout, the worst case), reported on a line of its
own:

    migration vCPU-hours = task CPU units / 1024 x migration hours (and GB-hours likewise)

Green starts at the service's desired count as the deployment begins; with auto scaling, that is the count
the service runs at then, between its minimum and maximum capacity: ``tasks`` is whatever count the caller
gives, and the figures scale linearly with it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from ..configuration import defaults
from .timeline import Timeline, format_time

# Fargate's minimum charge per task (AWS Fargate pricing).
MINIMUM_BILLED_SECONDS = 60
# ECS task sizes are in CPU units (1024 = 1 vCPU) and MiB; Fargate prices per vCPU and per GB (1024 MiB).
CPU_UNITS_PER_VCPU = 1024
MIB_PER_GB = 1024


@dataclass(frozen=True)
class CostInputs:
    """The service's size during the deployment, and optional prices.

    :param tasks: tasks green starts with: the service's desired count when the deployment starts
        (with auto scaling, its count then, between min and max capacity). Default: 2.
    :param task_cpu: the task's CPU units (1024 = 1 vCPU). Default: 256.
    :param task_memory_mib: the task's memory in MiB. Default: 512.
    :param approval_wait_minutes: a wait for approval before production traffic moves, during which both
        run. Default: 0.
    :param vcpu_hour_price: price of one vCPU-hour, to print a dollar figure. Default: none (no figure).
    :param gb_hour_price: price of one GB-hour, to print a dollar figure. Default: none (no figure).
    """

    tasks: int = defaults.DESIRED_COUNT
    task_cpu: int = defaults.CPU
    task_memory_mib: int = defaults.MEMORY_LIMIT_MIB
    approval_wait_minutes: int = 0
    vcpu_hour_price: float | None = None
    gb_hour_price: float | None = None

    def validate(self, names: Mapping[str, str] | None = None) -> None:
        """Reject counts and sizes no service has, and negative prices."""
        names = names or {}
        for name, minimum in (("tasks", 1), ("task_cpu", 1), ("task_memory_mib", 1), ("approval_wait_minutes", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
                raise ValueError(f"Invalid {names.get(name, name)}={value!r}: use a whole number of {minimum} or more.")
        for name in ("vcpu_hour_price", "gb_hour_price"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"Invalid {names.get(name, name)}={value!r}: use a price of zero or more.")
        if (self.vcpu_hour_price is None) != (self.gb_hour_price is None):
            raise ValueError(
                f"Invalid {names.get('vcpu_hour_price', 'vcpu_hour_price')} and "
                f"{names.get('gb_hour_price', 'gb_hour_price')}: give both prices, or neither."
            )


@dataclass(frozen=True)
class Overlap:
    """Blue and green side by side during one deployment, and what that adds."""

    seconds: int
    tasks: int
    vcpu_hours: float
    gb_hours: float
    dollars: float | None
    migration: Overlap | None = None  # the migration task's one task for its time; None without one

    @property
    def hours(self) -> float:
        return self.seconds / 3600


def _task_hours(tasks: int, seconds: int, inputs: CostInputs) -> Overlap:
    """``tasks`` tasks of the task size for ``seconds`` (billed for at least a minute)."""
    seconds = max(seconds, MINIMUM_BILLED_SECONDS)
    hours = seconds / 3600
    vcpu_hours = tasks * inputs.task_cpu / CPU_UNITS_PER_VCPU * hours
    gb_hours = tasks * inputs.task_memory_mib / MIB_PER_GB * hours
    dollars = None
    if inputs.vcpu_hour_price is not None and inputs.gb_hour_price is not None:
        dollars = vcpu_hours * inputs.vcpu_hour_price + gb_hours * inputs.gb_hour_price
    return Overlap(seconds=seconds, tasks=tasks, vcpu_hours=vcpu_hours, gb_hours=gb_hours, dollars=dollars)


def overlap(timeline: Timeline, inputs: CostInputs, *, names: Mapping[str, str] | None = None) -> Overlap:
    """The extra of ``timeline``'s deployment: green starts once the migration task is done (at 0 without one),
    blue stops once drained; the migration task's own task is ``migration``.

    The approval wait, which the timeline does not schedule, lengthens the overlap by its minutes.
    """
    inputs.validate(names)
    side_by_side = timeline.drained - timeline.green_starts + inputs.approval_wait_minutes * 60
    result = _task_hours(inputs.tasks, side_by_side, inputs)
    if timeline.green_starts:
        return dataclasses.replace(result, migration=_task_hours(1, timeline.green_starts, inputs))
    return result


def describe(result: Overlap, inputs: CostInputs) -> list[str]:
    """The lines ``plan`` prints."""
    vcpu = inputs.task_cpu / CPU_UNITS_PER_VCPU
    gb = inputs.task_memory_mib / MIB_PER_GB
    lines = [
        f"blue and green side by side for {format_time(result.seconds)} "
        f"({result.hours:.4g} h): {result.tasks} extra task(s) of {vcpu:g} vCPU and {gb:g} GB",
        f"extra: {result.vcpu_hours:.4g} vCPU-hours and {result.gb_hours:.4g} GB-hours per deployment "
        "(Fargate bills per second, at least a minute per task)",
    ]
    if result.dollars is not None:
        lines.append(
            f"at {inputs.vcpu_hour_price:g} per vCPU-hour and {inputs.gb_hour_price:g} per GB-hour: "
            f"{result.dollars:.4f} per deployment"
        )
    migration = result.migration
    if migration is not None:
        price = "" if migration.dollars is None else f", {migration.dollars:.4f}"
        lines.append(
            f"migration task: 1 task of {vcpu:g} vCPU and {gb:g} GB for up to {format_time(migration.seconds)} "
            f"(blue serves alone meanwhile): {migration.vcpu_hours:.4g} vCPU-hours and {migration.gb_hours:.4g} "
            f"GB-hours{price} per deployment"
        )
    return lines
