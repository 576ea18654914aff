"""Built-in CloudWatch alarms that make CodeDeploy roll a bad deployment back.

Each alarm watches *both* target groups in one metric-math expression. Which target group is
"green" swaps with every deployment, so an alarm on one of them would only guard every other
deployment; one alarm per signal also leaves CodeDeploy's other alarm slots to the user.

The comparison alarms (green against blue) need no knowledge of which target group is green either:
they fire on the *difference* between the two target groups, in either direction, and only in
periods where both serve enough requests to judge, that is while production traffic is split
(a canary or linear step) or test traffic reaches green beside production on blue. CloudWatch allows
10 metrics in a metric-math alarm (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
alarm-limits.html); every built-in alarm uses 4 (:data:`MAX_METRICS_PER_ALARM` is checked by tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import Annotations, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from ..configuration import defaults, limits
from ..configuration.limits import ShiftKind
from ..configuration.validation import check_duration, check_int, invalid, unresolved
from ..deployment.traffic_shift import TrafficShift, TrafficShiftKind

# CloudWatch's hard limit of metrics in one metric-math alarm (alarm-limits page, see above).
MAX_METRICS_PER_ALARM = 10


@dataclass(frozen=True)
class RollbackAlarmOptions:
    """Thresholds of the built-in rollback alarms.

    :param max_5xx_percent: share of requests a target group may answer with HTTP 5xx before the
        deployment rolls back. Default: 5 (percent).
    :param min_requests: fewest requests in a period for the 5xx share to count, so one failed
        request out of two is not a rollback. Default: 10.
    :param max_unhealthy_hosts: targets failing health checks that are tolerated. Default: 0.
    :param max_p99_latency: p99 target response time above which the deployment rolls back.
        Default: no latency alarm, since no threshold fits every service; set it from your
        service's own p99 (for example twice its normal value).
    :param period: CloudWatch period of every built-in alarm, whole minutes (the load balancer
        publishes one-minute data). Default: 1 minute.
    :param evaluation_periods: consecutive breaching periods that fire an alarm. Default: 2, so an
        alarm fires about two minutes after a fault starts, inside the default 5-minute canary.
    :param compare_blue_green: judge green against blue: an alarm fires when one target group's
        5xx share exceeds the other's by more than ``max_error_rate_increase`` (and, with
        ``max_latency_increase``, a second alarm on the p99 difference), only in periods where
        both target groups serve ``compare_min_requests``. It takes one of CodeDeploy's ten alarm
        slots (two with the latency comparison). ``False`` turns the comparison off. Default: True.
    :param max_error_rate_increase: percentage points by which one target group's 5xx share may
        exceed the other's. Default: 2 (points: 0.5% on blue and 2.5% or more on green fires).
    :param compare_min_requests: fewest requests in a period, in *each* target group, for the
        comparison to judge; below it the comparison abstains and the absolute alarms still
        guard. Default: 100 (at a 10% canary, 1,000 requests a minute to the service).
    :param max_latency_increase: how much one target group's p99 target response time may exceed
        the other's. Default: no latency comparison (it needs a margin from your own service's
        latency; for example half its normal p99).
    """

    max_5xx_percent: float = defaults.MAX_5XX_PERCENT
    min_requests: int = defaults.MIN_REQUESTS_FOR_5XX_RATE
    max_unhealthy_hosts: int = defaults.MAX_UNHEALTHY_HOSTS
    max_p99_latency: Duration | None = None
    period: Duration = field(default_factory=lambda: defaults.ALARM_PERIOD)
    evaluation_periods: int = defaults.ALARM_EVALUATION_PERIODS
    compare_blue_green: bool = True
    max_error_rate_increase: float = defaults.MAX_ERROR_RATE_INCREASE
    compare_min_requests: int = defaults.COMPARE_MIN_REQUESTS
    max_latency_increase: Duration | None = None

    @property
    def alarm_count(self) -> int:
        """How many built-in alarms these options create (each takes a CodeDeploy alarm slot)."""
        count = 2 + (self.max_p99_latency is not None)
        if self.compare_blue_green:
            count += 1 + (self.max_latency_increase is not None)
        return count

    def validate(self) -> None:
        """Reject thresholds CloudWatch would refuse or that could never fire."""
        name = "rollback_alarm_options"
        if not unresolved(self.max_5xx_percent) and not 0 < self.max_5xx_percent < 100:
            raise invalid(f"{name}.max_5xx_percent", self.max_5xx_percent, "use a percentage above 0 and below 100.")
        check_int(f"{name}.min_requests", self.min_requests, minimum=1, maximum=1_000_000_000)
        check_int(f"{name}.max_unhealthy_hosts", self.max_unhealthy_hosts, minimum=0, maximum=5000)
        check_duration(f"{name}.period", self.period, minimum_seconds=60, maximum_seconds=86400, whole_minutes=True)
        check_int(f"{name}.evaluation_periods", self.evaluation_periods, minimum=1, maximum=1440)
        if not unresolved(self.period) and not unresolved(self.evaluation_periods):
            window = self.period.to_seconds() * self.evaluation_periods
            if window > 86400:
                raise invalid(
                    f"{name}.evaluation_periods",
                    self.evaluation_periods,
                    f"period x evaluation_periods is {window} s; CloudWatch allows at most 86400 s.",
                )
        if self.max_p99_latency is not None:
            # The load balancer's idle timeout tops out at 4000 s; no response can take longer.
            check_duration(
                f"{name}.max_p99_latency",
                self.max_p99_latency,
                minimum_seconds=0,
                maximum_seconds=4000,
                whole_seconds=False,
            )
            if not unresolved(self.max_p99_latency) and self.max_p99_latency.to_milliseconds() <= 0:
                raise invalid(f"{name}.max_p99_latency", self.max_p99_latency, "use a latency above zero.")
        self._validate_comparison(name)

    def _validate_comparison(self, name: str) -> None:
        if not isinstance(self.compare_blue_green, bool):
            raise invalid(f"{name}.compare_blue_green", self.compare_blue_green, "use True or False.")
        increase = self.max_error_rate_increase
        if not unresolved(increase) and (isinstance(increase, bool) or not 0 < increase < 100):
            raise invalid(
                f"{name}.max_error_rate_increase",
                increase,
                "use percentage points above 0 and below 100 (2 means 0.5% on blue against 2.5% on green).",
            )
        check_int(f"{name}.compare_min_requests", self.compare_min_requests, minimum=1, maximum=1_000_000_000)
        latency = self.max_latency_increase
        if latency is not None:
            check_duration(
                f"{name}.max_latency_increase", latency, minimum_seconds=0, maximum_seconds=4000, whole_seconds=False
            )
            if not unresolved(latency) and latency.to_milliseconds() <= 0:
                raise invalid(f"{name}.max_latency_increase", latency, "use a latency above zero.")
            if not self.compare_blue_green:
                raise invalid(
                    f"{name}.max_latency_increase",
                    latency,
                    "the latency comparison needs compare_blue_green=True; remove one of them.",
                )

    @property
    def detection_time(self) -> Duration | None:
        """How long a fault lasts before an alarm fires (ignoring CloudWatch's ingestion delay)."""
        if unresolved(self.period) or unresolved(self.evaluation_periods):
            return None
        return Duration.seconds(self.period.to_seconds() * self.evaluation_periods)


class RollbackAlarms(Construct):
    """The built-in rollback alarms of one blue/green service.

    Attributes: ``target_5xx`` and ``unhealthy_hosts`` (always), ``latency`` (when
    ``max_p99_latency`` is set), ``compare_errors`` (unless ``compare_blue_green=False``),
    ``compare_latency`` (when ``max_latency_increase`` is set), and ``alarms``, all of them in a
    fixed order.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        blue_target_group: elbv2.ApplicationTargetGroup,
        green_target_group: elbv2.ApplicationTargetGroup,
        options: RollbackAlarmOptions,
    ) -> None:
        super().__init__(scope, construct_id)
        period = options.period
        groups = {"blue": blue_target_group.metrics, "green": green_target_group.metrics}

        errors: dict[str, cloudwatch.IMetric] = {}
        rate_terms = []
        for color, metrics in groups.items():
            errors[f"{color}Errors"] = metrics.http_code_target(
                elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period, statistic="Sum"
            )
            errors[f"{color}Requests"] = metrics.request_count(period=period, statistic="Sum")
            rate_terms.append(
                f"IF({color}Requests >= {options.min_requests}, 100 * FILL({color}Errors, 0) / {color}Requests, 0)"
            )
        self._options = options
        self.target_5xx: cloudwatch.Alarm = self._alarm(
            "Target5xx",
            expression=f"MAX([{', '.join(rate_terms)}])",
            metrics=errors,
            label="Target 5xx % (worse of blue and green)",
            threshold=options.max_5xx_percent,
            description=(
                f"Rolls back a blue/green deployment when more than {options.max_5xx_percent:g}% of "
                "requests to either target group fail with HTTP 5xx "
                f"(at least {options.min_requests} requests a period)."
            ),
        )
        self.unhealthy_hosts: cloudwatch.Alarm = self._alarm(
            "UnhealthyHosts",
            expression="MAX([blueUnhealthy, greenUnhealthy])",
            metrics={
                f"{color}Unhealthy": metrics.unhealthy_host_count(period=period, statistic="Maximum")
                for color, metrics in groups.items()
            },
            label="Unhealthy targets (worse of blue and green)",
            threshold=options.max_unhealthy_hosts,
            description=(
                "Rolls back a blue/green deployment when more than "
                f"{options.max_unhealthy_hosts} target(s) in either target group fail health checks."
            ),
        )
        self.latency: cloudwatch.Alarm | None = None
        if options.max_p99_latency is not None:
            seconds = options.max_p99_latency.to_milliseconds() / 1000
            self.latency = self._alarm(
                "Latency",
                expression="MAX([blueLatency, greenLatency])",
                metrics=_p99(groups, period),
                label="p99 target response time, seconds (worse of blue and green)",
                threshold=seconds,
                description=(
                    "Rolls back a blue/green deployment when the p99 response time of either target group "
                    f"exceeds {seconds} s."
                ),
            )
        self.compare_errors: cloudwatch.Alarm | None = None
        self.compare_latency: cloudwatch.Alarm | None = None
        if options.compare_blue_green:
            self._compare(groups)

    def _compare(self, groups: Mapping[str, elbv2.IApplicationTargetGroupMetrics]) -> None:
        """Green against blue: the difference of the two target groups, judged only with enough requests."""
        options, period = self._options, self._options.period
        requests = {f"{color}Requests": m.request_count(period=period, statistic="Sum") for color, m in groups.items()}
        # FILL(..., 0): a target group without a datapoint served no requests, so the guard abstains.
        both_judged = f"MIN([FILL(blueRequests, 0), FILL(greenRequests, 0)]) >= {options.compare_min_requests}"
        share = {color: f"100 * FILL({color}Errors, 0) / {color}Requests" for color in groups}
        self.compare_errors = self._alarm(
            "CompareErrors",
            expression=f"IF({both_judged}, ABS({share['blue']} - {share['green']}), 0)",
            metrics={
                **{
                    f"{color}Errors": m.http_code_target(
                        elbv2.HttpCodeTarget.TARGET_5XX_COUNT, period=period, statistic="Sum"
                    )
                    for color, m in groups.items()
                },
                **requests,
            },
            label="Target 5xx %, difference of blue and green (points)",
            threshold=options.max_error_rate_increase,
            description=(
                "Rolls back a blue/green deployment when one target group's HTTP 5xx share exceeds the "
                f"other's by more than {options.max_error_rate_increase:g} percentage points "
                f"(judged while each serves at least {options.compare_min_requests} requests a period)."
            ),
        )
        if options.max_latency_increase is None:
            return
        seconds = options.max_latency_increase.to_milliseconds() / 1000
        self.compare_latency = self._alarm(
            "CompareLatency",
            expression=f"IF({both_judged}, ABS(FILL(blueLatency, 0) - FILL(greenLatency, 0)), 0)",
            metrics={**_p99(groups, period), **requests},
            label="p99 target response time, difference of blue and green (seconds)",
            threshold=seconds,
            description=(
                "Rolls back a blue/green deployment when one target group's p99 response time exceeds the "
                f"other's by more than {seconds} s "
                f"(judged while each serves at least {options.compare_min_requests} requests a period)."
            ),
        )

    def _alarm(
        self,
        construct_id: str,
        *,
        expression: str,
        metrics: Mapping[str, cloudwatch.IMetric],
        label: str,
        threshold: float,
        description: str,
    ) -> cloudwatch.Alarm:
        """One metric-math alarm over both target groups, with the options' period and evaluation."""
        options = self._options
        return cloudwatch.MathExpression(
            expression=expression, using_metrics=dict(metrics), period=options.period, label=label
        ).create_alarm(
            self,
            construct_id,
            threshold=threshold,
            evaluation_periods=options.evaluation_periods,
            datapoints_to_alarm=options.evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )

    @property
    def alarms(self) -> list[cloudwatch.IAlarm]:
        """Every built-in alarm, in a stable order."""
        built_in: list[cloudwatch.IAlarm] = [self.target_5xx, self.unhealthy_hosts]
        built_in += [a for a in (self.latency, self.compare_errors, self.compare_latency) if a is not None]
        return built_in


def service_alarms(
    scope: Construct,
    blue: elbv2.ApplicationTargetGroup,
    green: elbv2.ApplicationTargetGroup,
    options: RollbackAlarmOptions,
    shift: TrafficShift,
) -> RollbackAlarms:
    """A service's built-in alarms (construct id ``RollbackAlarms``) over its target group pair, and the warning
    when they detect slower than the traffic shift moves."""
    alarms = RollbackAlarms(scope, "RollbackAlarms", blue_target_group=blue, green_target_group=green, options=options)
    warn_if_alarms_too_slow(scope, shift, options)
    return alarms


def warn_if_alarms_too_slow(scope: Construct, shift: TrafficShift, options: RollbackAlarmOptions) -> None:
    """A canary interval or linear step shorter than the alarms' detection time (``limits.slow_alarms``,
    which ``blue-green-ecs plan`` shares) shifts more traffic before they can fire."""
    detection = options.detection_time
    if shift.kind is TrafficShiftKind.ALL_AT_ONCE or detection is None or shift.interval is None:
        return
    if unresolved(shift.interval):
        return
    kind: ShiftKind = "canary" if shift.kind is TrafficShiftKind.CANARY else "linear"
    seconds = limits.alarm_detection_seconds(detection.to_seconds(), 1, limits.METRIC_DELAY_SECONDS)
    message = limits.slow_alarms(kind, shift.interval.to_seconds(), seconds)
    if message is not None:
        # The canary's id is the one earlier versions used, so existing acknowledgements keep working.
        warning = "alarmsSlowerThanCanary" if kind == "canary" else "alarmsSlowerThanLinearStep"
        Annotations.of(scope).add_warning_v2(f"blue-green-ecs:{warning}", message)


def _p99(groups: Mapping[str, elbv2.IApplicationTargetGroupMetrics], period: Duration) -> dict[str, cloudwatch.IMetric]:
    """``blueLatency`` and ``greenLatency``: each target group's p99 target response time."""
    return {f"{color}Latency": m.target_response_time(period=period, statistic="p99") for color, m in groups.items()}


def check_room_for_alarm(alarms: Sequence[cloudwatch.IAlarm], alarm: cloudwatch.IAlarm) -> None:
    """A ``ValueError`` when ``alarms`` already has CodeDeploy's maximum per deployment group (10)."""
    if len(alarms) >= defaults.MAX_ALARMS_PER_DEPLOYMENT_GROUP:
        raise invalid(
            "alarm",
            alarm.node.path,
            f"the deployment group already has {len(alarms)} alarms, CodeDeploy's maximum; "
            "combine alarms in a cloudwatch.CompositeAlarm.",
        )
