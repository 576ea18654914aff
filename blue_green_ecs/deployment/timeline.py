"""The deployment timeline of a configuration: when each step happens and the worst-case total.

Pure Python (no CDK import), so ``blue-green-ecs plan`` answers instantly. All times are seconds
from the moment the deployment starts. The model's assumptions are fields of :class:`PlanInputs`
with documented defaults; docs/performance.md explains them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..configuration import defaults, limits
from ..configuration.limits import EngineName, ShiftKind

MAX_MIGRATION_MINUTES = limits.MAX_MIGRATION_MINUTES  # MigrationTask.timeout's range


@dataclass(frozen=True)
class PlanInputs:
    """A configuration and the model's assumptions (defaults: the library's defaults).

    :param shift: ``canary``, ``linear`` or ``all-at-once``. Default: canary.
    :param percent: share of traffic per step (canary: first step). Default: 10.
    :param interval_minutes: canary interval or linear step interval. Default: 5.
    :param termination_wait_minutes: blue kept after the shift (ECS: bake time). Default: 5.
    :param health_check_interval_seconds: target group health check interval. Default: 10.
    :param healthy_threshold: consecutive passes to be healthy. Default: 2.
    :param deregistration_delay_seconds: drain time of the old targets. Default: 30.
    :param alarm_period_seconds: period of the rollback alarms. Default: 60.
    :param alarm_evaluation_periods: breaching periods that fire an alarm. Default: 2.
    :param task_start_seconds: assumption: image pull and container start of a new task. Default: 60.
    :param hook_seconds: assumption: time the test-traffic hooks (smoke test) take. Default: 0.
    :param metric_delay_seconds: assumption: CloudWatch ingestion delay of load balancer metrics. Default: 60.
    :param trigger_poll_seconds: the deployment trigger's polling interval, the most `cdk deploy`
        waits after the deployment ends (CodeDeploy engine); 0 for ECS-native. Default: 15.
    :param engine: ``codedeploy`` or ``ecs``: whose limits apply (the construct's checks). Default: codedeploy.
    :param deploy_on_update: CodeDeploy engine: ``cdk deploy`` waits for the deployment, which must then
        fit CloudFormation's hour. Default: true.
    :param compare_min_requests: requests per alarm period each target group needs before the
        green-against-blue comparison judges; 0 when it is off (``compare_blue_green=False``). Default: 100.
    :param migration_minutes: the migration task's timeout (``migration_task``), 0 without one: it runs before
        any green task starts, so everything after it starts that much later (worst case). Default: 0.
    """

    shift: ShiftKind = "canary"
    percent: float = defaults.CANARY_PERCENT
    interval_minutes: int = defaults.CANARY_INTERVAL_MINUTES
    termination_wait_minutes: int = defaults.TERMINATION_WAIT_MINUTES
    health_check_interval_seconds: int = defaults.HEALTH_CHECK_INTERVAL_SECONDS
    healthy_threshold: int = defaults.HEALTHY_THRESHOLD_COUNT
    deregistration_delay_seconds: int = defaults.DEREGISTRATION_DELAY_SECONDS
    alarm_period_seconds: int = defaults.ALARM_PERIOD_SECONDS
    alarm_evaluation_periods: int = defaults.ALARM_EVALUATION_PERIODS
    task_start_seconds: int = 60
    hook_seconds: int = 0
    metric_delay_seconds: int = limits.METRIC_DELAY_SECONDS
    trigger_poll_seconds: int = defaults.TRIGGER_QUERY_INTERVAL_SECONDS
    engine: EngineName = "codedeploy"
    deploy_on_update: bool = True
    compare_min_requests: int = defaults.COMPARE_MIN_REQUESTS
    migration_minutes: int = 0

    def validate(self, names: Mapping[str, str] | None = None) -> None:
        """Reject what synthesis rejects (the construct's own checks, from ``limits``), and negative times.

        :param names: how the messages name a field (``blue-green-ecs plan``: its option, ``--percent``).
            Default: the field's name.
        """
        names = names or {}
        if self.shift not in ("canary", "linear", "all-at-once"):
            raise ValueError(
                f"Invalid {names.get('shift', 'shift')}={self.shift!r}: use canary, linear or all-at-once."
            )
        if self.engine not in ("codedeploy", "ecs"):
            raise ValueError(f"Invalid {names.get('engine', 'engine')}={self.engine!r}: use codedeploy or ecs.")
        self._check_shift(names)
        for name in (
            "termination_wait_minutes",
            "health_check_interval_seconds",
            "healthy_threshold",
            "deregistration_delay_seconds",
            "alarm_period_seconds",
            "alarm_evaluation_periods",
            "task_start_seconds",
            "hook_seconds",
            "metric_delay_seconds",
            "trigger_poll_seconds",
            "compare_min_requests",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"Invalid {names.get(name, name)}={getattr(self, name)!r}: use zero or more.")
        if not 0 <= self.migration_minutes <= MAX_MIGRATION_MINUTES:
            raise limits.problem(
                names.get("migration_minutes", "migration_minutes"),
                repr(self.migration_minutes),
                f"use the migration task's timeout, a whole number of minutes from 1 to {MAX_MIGRATION_MINUTES}, "
                "or 0 without one.",
            )
        self._check_deployment(names)

    def _check_shift(self, names: Mapping[str, str]) -> None:
        if self.shift == "all-at-once":
            return
        self._check_percent(names)
        if not 1 <= self.interval_minutes <= limits.MAX_INTERVAL_MINUTES:
            raise limits.problem(
                names.get("interval_minutes", "interval_minutes"),
                repr(self.interval_minutes),
                f"use a whole number of minutes from 1 to {limits.MAX_INTERVAL_MINUTES}.",
            )

    def _check_percent(self, names: Mapping[str, str]) -> None:
        """The engine is known: one message with the range and step it takes (the construct's engine check)."""
        limits.check_engine_percent(names.get("percent", "percent"), self.percent, self.engine, self.shift)

    def _check_deployment(self, names: Mapping[str, str]) -> None:
        shift_name, interval_name, wait_name = (
            names.get(key, key) for key in ("shift", "interval_minutes", "termination_wait_minutes")
        )
        wait = self.termination_wait_minutes
        if wait > limits.MAX_TERMINATION_WAIT_MINUTES:
            raise limits.problem(
                wait_name,
                repr(wait),
                f"use a whole number of minutes from 0 to {limits.MAX_TERMINATION_WAIT_MINUTES}.",
            )
        percent, interval = (None, None) if self.shift == "all-at-once" else (self.percent, self.interval_minutes)
        shift = limits.shift_minutes(self.shift, percent, interval)
        described = limits.describe_shift(self.shift, percent, interval)
        if self.engine == "ecs":
            if interval is not None:
                limits.check_ecs_bake(interval_name, interval, repr(interval))
            limits.check_ecs_bake(wait_name, wait, repr(wait))
            limits.check_ecs_total(shift_name, described, f"a bake time of {limits.human_minutes(wait)}", shift + wait)
        elif self.deploy_on_update:
            limits.check_trigger_budget(
                shift_name=shift_name,
                shift_description=described,
                shift=shift,
                wait_name=wait_name,
                wait=wait,
                approval=0,
            )
            self._check_migration_budget(names, shift + wait)

    def _check_migration_budget(self, names: Mapping[str, str], shift_and_wait: float) -> None:
        """CODE_DEPLOY with the trigger: the migration runs inside the hour `cdk deploy` waits (the construct's
        ``deployment_timeout`` check names ``migration_task.timeout`` when it alone is what does not fit)."""
        needed = limits.trigger_minutes(shift_and_wait, 0, 0) + self.migration_minutes
        if self.migration_minutes and needed > limits.MAX_TRIGGER_MINUTES:
            raise limits.problem(
                names.get("migration_minutes", "migration_minutes"),
                repr(self.migration_minutes),
                f"with the traffic shift and waits a deployment needs about {limits.human_minutes(needed)} (with "
                f"{limits.TRIGGER_MARGIN_MINUTES} minutes for starting tasks and draining), and `cdk deploy` can wait "
                f"for at most {limits.MAX_TRIGGER_MINUTES} minutes; shorten the migration's timeout, the shift or the "
                "waits, or set deploy_on_update=False and start deployments from your pipeline.",
            )


@dataclass(frozen=True)
class Step:
    """Production traffic on green from ``at`` on, and when an alarm could fire for a fault then.

    ``compare_from`` is the production traffic per alarm period from which both target groups carry
    enough requests for the green-against-blue comparison to judge; ``None`` when it cannot (one target
    group serves all production traffic, or the comparison is off).
    """

    at: int
    green_percent: float
    alarm_fires_by: int
    compare_from: int | None = None


@dataclass(frozen=True)
class Timeline:
    """The computed schedule."""

    inputs: PlanInputs
    green_healthy: int
    test_traffic: int
    steps: tuple[Step, ...]
    all_on_green: int
    blue_terminated: int
    drained: int
    deploy_returns: int
    notes: tuple[str, ...] = field(default=())
    green_starts: int = 0  # green's tasks launch once the migration task is done (0 without one)

    @property
    def total(self) -> int:
        """Worst case, from the start of the deployment to `cdk deploy` returning."""
        return self.deploy_returns

    def rows(self) -> list[tuple[int, str]]:
        """(seconds, event) in order, for printing."""
        minutes = self.inputs.migration_minutes
        rows = (
            [
                (0, f"deployment starts: migration task runs (worst case {minutes} min); blue serves alone"),
                (self.green_starts, "migration task done: green task set launching"),
            ]
            if minutes
            else [(0, "deployment starts: green task set launching")]
        )
        rows += [
            (self.green_healthy, "green tasks healthy in the green target group"),
            (self.test_traffic, "test listener serves green; test-traffic hooks run"),
        ]
        for step in self.steps:
            rows.append(
                (
                    step.at,
                    f"production traffic {step.green_percent:g}% on green "
                    f"(an alarm for a fault from here fires by {format_time(step.alarm_fires_by)})"
                    f"{self._comparison(step)}",
                )
            )
        rows += [
            (self.blue_terminated, "termination wait over: blue task set stopped"),
            (self.drained, "blue targets drained: deployment complete"),
        ]
        if self.deploy_returns > self.drained:
            rows.append((self.deploy_returns, "`cdk deploy` returns (trigger's next poll)"))
        return rows

    def _comparison(self, step: Step) -> str:
        """When green can be judged against blue at this step."""
        if self.inputs.compare_min_requests == 0:
            return ""
        if step.compare_from is None:
            return "; green vs blue: not judged (one target group serves all production traffic)"
        per = "a minute" if self.inputs.alarm_period_seconds == 60 else f"per {self.inputs.alarm_period_seconds} s"
        return f"; green vs blue judged from {step.compare_from} requests {per} to the service"


def _compare_from(green_percent: float, min_requests: int) -> int | None:
    """Service traffic per period at which the smaller side of a split gets ``min_requests``."""
    smaller = min(green_percent, 100 - green_percent)
    if min_requests == 0 or smaller <= 0:
        return None
    return math.ceil(min_requests * 100 / smaller - 1e-9)


def plan(inputs: PlanInputs, *, names: Mapping[str, str] | None = None) -> Timeline:
    """Compute the timeline of one deployment.

    :param names: how a message about an invalid input names it (``PlanInputs.validate``). Default: the field.
    """
    inputs.validate(names)
    detection = int(
        limits.alarm_detection_seconds(
            inputs.alarm_period_seconds, inputs.alarm_evaluation_periods, inputs.metric_delay_seconds
        )
    )
    green_starts = inputs.migration_minutes * 60
    green_healthy = (
        green_starts + inputs.task_start_seconds + inputs.health_check_interval_seconds * inputs.healthy_threshold
    )
    test_traffic = green_healthy
    first = test_traffic + inputs.hook_seconds
    interval = inputs.interval_minutes * 60
    if inputs.shift == "all-at-once":
        shares = [100.0]
    elif inputs.shift == "canary":
        shares = [inputs.percent, 100.0]
    else:
        count = math.ceil(100 / inputs.percent)
        shares = [min(100.0, round(inputs.percent * (k + 1), 1)) for k in range(count)]
    steps = tuple(
        Step(
            at=first + k * interval,
            green_percent=share,
            alarm_fires_by=first + k * interval + detection,
            compare_from=_compare_from(share, inputs.compare_min_requests),
        )
        for k, share in enumerate(shares)
    )
    all_on_green = steps[-1].at
    blue_terminated = all_on_green + inputs.termination_wait_minutes * 60
    drained = blue_terminated + inputs.deregistration_delay_seconds
    notes = []
    slow = limits.slow_alarms(inputs.shift, interval, detection)
    if slow is not None:
        notes.append(slow)
    return Timeline(
        inputs=inputs,
        green_healthy=green_healthy,
        test_traffic=test_traffic,
        steps=steps,
        all_on_green=all_on_green,
        blue_terminated=blue_terminated,
        drained=drained,
        deploy_returns=drained + inputs.trigger_poll_seconds,
        notes=tuple(notes),
        green_starts=green_starts,
    )


def format_time(seconds: int) -> str:
    """``m:ss`` (or ``h:mm:ss``)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def to_svg(timeline: Timeline, *, title: str, width: int = 760, height: int = 300) -> str:
    """A step chart of production traffic on green over time, with the phases marked."""
    left, right, top, bottom = 60, 20, 40, 60
    total = max(timeline.total, 1)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(t: float) -> float:
        return left + plot_w * t / total

    def y(percent: float) -> float:
        return top + plot_h * (1 - percent / 100)

    points = [(0.0, 0.0), (float(timeline.steps[0].at), 0.0)]
    for index, step in enumerate(timeline.steps):
        points.append((float(step.at), step.green_percent))
        end = timeline.steps[index + 1].at if index + 1 < len(timeline.steps) else timeline.blue_terminated
        points.append((float(end), step.green_percent))
    points.append((float(total), 100.0))
    path = " ".join(f"{'M' if i == 0 else 'L'}{x(t):.1f},{y(p):.1f}" for i, (t, p) in enumerate(points))
    phases = [
        (0, timeline.green_starts, "#eeeeee", "migration task"),
        (timeline.green_starts, timeline.green_healthy, "#d9e8f5", "green starting"),
        (timeline.all_on_green, timeline.blue_terminated, "#e8f5d9", "blue kept (termination wait)"),
        (timeline.blue_terminated, timeline.drained, "#f5e6d9", "drain"),
    ]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{left}" y="22" font-size="14" font-weight="bold">{_escape(title)}</text>',
    ]
    for start, end, colour, label in phases:
        if end > start:
            box = f'x="{x(start):.1f}" y="{top}" width="{x(end) - x(start):.1f}" height="{plot_h}"'
            parts.append(f'<rect {box} fill="{colour}"/>')
            parts.append(f'<text x="{x(start) + 3:.1f}" y="{top + 14}" fill="#555">{_escape(label)}</text>')
    for step in timeline.steps:
        parts.append(
            f'<line x1="{x(step.alarm_fires_by):.1f}" y1="{top}" x2="{x(step.alarm_fires_by):.1f}" '
            f'y2="{top + plot_h}" stroke="#c0392b" stroke-dasharray="3,3"/>'
        )
    parts.append(f'<path d="{path}" fill="none" stroke="#1f6fb2" stroke-width="2.5"/>')
    axis_y = top + plot_h
    parts.append(
        f'<line class="x-axis" x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="black"/>\n'
        f'<line class="y-axis" x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}" stroke="black"/>'
    )
    for percent in (0, 50, 100):
        parts.append(f'<text x="{left - 8}" y="{y(percent) + 4:.1f}" text-anchor="end">{percent}%</text>')
    # The time axis is ticked where production traffic moves (each step), not at even intervals. A label
    # that would overlap the one before goes one line lower; where neither line has room (steps closer
    # than half a label), the step keeps its tick mark and goes unlabelled.
    last_x = [-math.inf, -math.inf]
    for step in timeline.steps:
        at = x(step.at)
        parts.append(f'<line class="tick" x1="{at:.1f}" y1="{axis_y}" x2="{at:.1f}" y2="{axis_y + 5}" stroke="black"/>')
        row = next((r for r, previous in enumerate(last_x) if at - previous >= _LABEL_WIDTH), None)
        if row is not None:
            last_x[row] = at
            parts.append(
                f'<text class="tick-label" x="{at:.1f}" y="{axis_y + 16 + 12 * row}" text-anchor="middle">'
                f"{format_time(step.at)}</text>"
            )
    parts.append(
        f'<text x="{left}" y="{height - 12}" fill="#333">blue line: production traffic on green; red dashes: latest '
        f"alarm firing for a fault at each step; total {format_time(timeline.total)}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# Wide enough for "1:23:45" at font size 12, with a gap.
_LABEL_WIDTH = 48


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
