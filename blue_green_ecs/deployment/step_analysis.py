"""The built-in step analysis: before production traffic moves, green's CloudWatch metrics against blue's.

Argo Rollouts' AnalysisTemplate and Flagger's metric checks for ECS: a lifecycle hook
(``handlers/step_analysis.py``) samples a window of metrics and fails the deployment, with the numbers, when a
condition is not met. Under ECS_NATIVE it runs at ``PRE_PRODUCTION_TRAFFIC_SHIFT``, which Amazon ECS invokes before
every canary and linear step; under CODE_DEPLOY as the ``BeforeAllowTraffic`` hook, which CodeDeploy runs once,
before the first shift.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aws_cdk import Duration, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from ..configuration.validation import check_duration, check_int, invalid
from ..functions.library_function import FunctionLogSettings, library_function

if TYPE_CHECKING:
    from ..deployment.hooks import DeploymentHooks
    from ..engines import DeploymentEngine
    from ..load_balancing.parts import LoadBalancerParts

GREEN = "green"
BLUE = "blue"
# GetMetricData's MetricDataQuery Id: letters, digits and underscores, a lowercase letter first (botocore's model).
_METRIC_ID = re.compile(r"^[a-z][A-Za-z0-9_]{0,254}$")
# The handler's own query ids in a user query's request: the expression's.
RESERVED_ID = "analysis"
MAX_QUERIES = 10
MAX_METRICS = 10
# botocore's MetricExpression: 1-2048 characters.
MAX_EXPRESSION = 2048
# Lambda allows 4 KB of environment variables in all; the ARNs and ports take the rest.
MAX_CONFIGURATION_CHARACTERS = 2500
# CloudWatch has ELB's one-minute data points a little after the minute ends: the window is read this long after.
METRIC_DELAY_SECONDS = 120
MAX_WINDOW_MINUTES = 60
# CODE_DEPLOY: one invocation waits for the window, within Lambda's 15 minutes (with the delay and the calls).
MAX_CODE_DEPLOY_WINDOW_MINUTES = 10
_CALLS_SECONDS = 180


@dataclass(frozen=True)
class AnalysisMetric:
    """A CloudWatch metric an ``AnalysisQuery``'s expression names by its id.

    :param metric_name: the metric, e.g. ``"HTTPCode_Target_4XX_Count"``. Required.
    :param target_group: ``"green"`` or ``"blue"``: that target group's metric, its ``TargetGroup`` and
        ``LoadBalancer`` dimensions filled in when the hook runs (green runs in the other target group of the
        pair after every deployment); ``None``: a metric of its own dimensions only (your application's).
        Default: ``"green"``.
    :param statistic: a CloudWatch statistic, e.g. ``"Sum"``, ``"Average"``, ``"p99"``. Default: ``"Sum"``.
    :param namespace: Default: ``"AWS/ApplicationELB"``.
    :param dimensions: further dimensions (with ``target_group=None`` all of them). Default: none.
    """

    metric_name: str
    target_group: str | None = GREEN
    statistic: str = "Sum"
    namespace: str = "AWS/ApplicationELB"
    dimensions: Mapping[str, str] | None = None

    def validate(self, name: str) -> None:
        if self.target_group not in (GREEN, BLUE, None):
            raise invalid(f"{name}.target_group", self.target_group, 'use "green", "blue" or None.')
        for label, value in (("metric_name", self.metric_name), ("namespace", self.namespace)):
            if not isinstance(value, str) or not 1 <= len(value) <= 255:
                raise invalid(f"{name}.{label}", value, "use 1-255 characters (CloudWatch's limit).")
        if not isinstance(self.statistic, str) or not self.statistic:
            raise invalid(f"{name}.statistic", self.statistic, 'use a CloudWatch statistic, e.g. "Sum" or "p99".')
        if len(self.dimensions or {}) > 28:
            raise invalid(f"{name}.dimensions", dict(self.dimensions or {}), "use at most 28 (CloudWatch allows 30).")

    def to_json(self) -> dict[str, Any]:
        return {
            "metricName": self.metric_name,
            "targetGroup": self.target_group,
            "statistic": self.statistic,
            "namespace": self.namespace,
            "dimensions": dict(self.dimensions or {}),
        }


@dataclass(frozen=True)
class AnalysisQuery:
    """A condition on a CloudWatch metric math expression, evaluated over the whole window (one period).

    :param name: what the query measures, in the log and the failure message. Required.
    :param expression: metric math over the ids of ``metrics``, e.g. ``"100 * g4xx / greq"``. Required.
    :param metrics: id (a lowercase letter, then letters, digits, ``_``) -> ``AnalysisMetric``; 1-10. Required.
    :param maximum: fail when the expression's value is above. Default: no maximum.
    :param minimum: fail when it is below. Default: no minimum (give at least one of the two).
    """

    name: str
    expression: str
    metrics: Mapping[str, AnalysisMetric]
    maximum: float | None = None
    minimum: float | None = None

    def validate(self, name: str) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise invalid(f"{name}.name", self.name, "name what the query measures, e.g. 'green 4XX rate'.")
        if not isinstance(self.expression, str) or not 1 <= len(self.expression) <= MAX_EXPRESSION:
            raise invalid(f"{name}.expression", self.expression, f"use 1-{MAX_EXPRESSION} characters of metric math.")
        if not self.metrics or len(self.metrics) > MAX_METRICS:
            raise invalid(f"{name}.metrics", dict(self.metrics or {}), f"give 1-{MAX_METRICS} metrics by id.")
        for metric_id, metric in self.metrics.items():
            if not _METRIC_ID.match(metric_id) or metric_id == RESERVED_ID:
                raise invalid(
                    f"{name}.metrics",
                    metric_id,
                    f"an id starts with a lowercase letter, then letters, digits or '_' (GetMetricData's Id), and is "
                    f"not {RESERVED_ID!r}.",
                )
            if not isinstance(metric, AnalysisMetric):
                raise TypeError(f"Invalid {name}.metrics[{metric_id!r}]={metric!r}: use AnalysisMetric(...).")
            metric.validate(f"{name}.metrics[{metric_id!r}]")
        if self.maximum is None and self.minimum is None:
            raise invalid(f"{name}", self.name, "give maximum=, minimum= or both: the condition the value must meet.")
        if self.maximum is not None and self.minimum is not None and self.minimum > self.maximum:
            raise invalid(f"{name}.minimum", self.minimum, f"must not be above maximum ({self.maximum}).")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "expression": self.expression,
            "metrics": {metric_id: metric.to_json() for metric_id, metric in self.metrics.items()},
            "maximum": self.maximum,
            "minimum": self.minimum,
        }


@dataclass(frozen=True)
class StepAnalysis:
    """The built-in step analysis: before production traffic moves, green's metrics over a window against blue's.

    Runs as the BeforeAllowTraffic hook (ECS_NATIVE: ``PRE_PRODUCTION_TRAFFIC_SHIFT``, before every canary and
    linear step; CODE_DEPLOY: once, before the first shift, when green has served test traffic only), in a
    Lambda function outside the VPC that calls CloudWatch's GetMetricData and ELB's Describe APIs. The window
    starts when the hook does and is read ``METRIC_DELAY_SECONDS`` (2 minutes) after it ends, so each step waits
    ``window`` plus 2 minutes; the rollback alarms still act meanwhile. Green's and blue's target group metrics
    over the window, by default: green's 5XX rate (``HTTPCode_Target_5XX_Count`` per ``RequestCount``) may exceed
    blue's by ``max_error_rate_increase`` points, green's ``latency_statistic`` of ``TargetResponseTime`` may be
    ``max_latency_ratio`` times blue's (not compared while blue has no requests), and ``queries`` add conditions.

    A window is inconclusive when green served fewer than ``min_requests`` requests, or a query had no data
    (Argo Rollouts' "inconclusive"). Before green carries production traffic (the first step; CODE_DEPLOY's one
    analysis) only test traffic can have reached it: an inconclusive window passes there unless
    ``require_test_traffic``; once green carries production traffic it fails unless ``fail_inconclusive=False``.

    :param window: how long each step samples, whole minutes 1-60 (CODE_DEPLOY: 1-10, one Lambda invocation
        waits for it). Default: 5 minutes.
    :param max_error_rate_increase: percentage points by which green's 5XX rate may exceed blue's, 0-100;
        ``None``: no error rate comparison. Default: 1.0.
    :param max_latency_ratio: how many times blue's response time green's may be, above 1; ``None``: no latency
        comparison. Default: 2.0.
    :param latency_statistic: the statistic of ``TargetResponseTime`` compared. Default: ``"p99"``.
    :param min_requests: green requests a window needs to be conclusive, 0-1000000. Default: 50.
    :param fail_inconclusive: fail an inconclusive window while green carries production traffic. Default: true.
    :param require_test_traffic: fail an inconclusive window before green carries production traffic too (send
        test traffic, e.g. a load test in ``hooks.after_allow_test_traffic``). Default: false.
    :param queries: your own conditions, 0-10 ``AnalysisQuery``. Default: none.
    """

    window: Duration = field(default_factory=lambda: Duration.minutes(5))
    max_error_rate_increase: float | None = 1.0
    max_latency_ratio: float | None = 2.0
    latency_statistic: str = "p99"
    min_requests: int = 50
    fail_inconclusive: bool = True
    require_test_traffic: bool = False
    queries: Sequence[AnalysisQuery] = ()

    def validate(self, *, code_deploy: bool) -> None:
        """Reject options the handler could not run with (``code_deploy``: the window must fit one invocation)."""
        most = MAX_CODE_DEPLOY_WINDOW_MINUTES if code_deploy else MAX_WINDOW_MINUTES
        check_duration(
            "step_analysis.window", self.window, minimum_seconds=60, maximum_seconds=most * 60, whole_minutes=True
        )
        increase = self.max_error_rate_increase
        if increase is not None and not (isinstance(increase, int | float) and 0 <= increase <= 100):
            raise invalid("step_analysis.max_error_rate_increase", increase, "use 0-100 percentage points, or None.")
        ratio = self.max_latency_ratio
        if ratio is not None and not (isinstance(ratio, int | float) and ratio > 1 and math.isfinite(ratio)):
            raise invalid("step_analysis.max_latency_ratio", ratio, "use a number above 1, or None.")
        check_int("step_analysis.min_requests", self.min_requests, minimum=0, maximum=1_000_000)
        for name in ("fail_inconclusive", "require_test_traffic"):
            if not isinstance(getattr(self, name), bool):
                raise invalid(f"step_analysis.{name}", getattr(self, name), "use True or False.")
        if len(self.queries) > MAX_QUERIES:
            raise invalid("step_analysis.queries", f"<{len(self.queries)} queries>", f"use at most {MAX_QUERIES}.")
        for index, query in enumerate(self.queries):
            if not isinstance(query, AnalysisQuery):
                raise TypeError(f"Invalid step_analysis.queries[{index}]={query!r}: use AnalysisQuery(...).")
            query.validate(f"step_analysis.queries[{index}]")
        if increase is None and ratio is None and not self.queries:
            raise invalid(
                "step_analysis",
                "StepAnalysis(max_error_rate_increase=None, max_latency_ratio=None)",
                "it would check nothing; keep a comparison with blue, give queries=, or drop step_analysis.",
            )
        configuration = self.configuration()
        if not Token.is_unresolved(configuration) and len(configuration) > MAX_CONFIGURATION_CHARACTERS:
            raise invalid(
                "step_analysis.queries",
                f"<{len(configuration)} characters as JSON>",
                f"the analysis goes to the function's environment, which Lambda limits to 4 KB: keep it under "
                f"{MAX_CONFIGURATION_CHARACTERS} characters (fewer or shorter queries).",
            )

    def configuration(self) -> str:
        """The handler's ``ANALYSIS`` environment variable (handlers/step_analysis.py reads it)."""
        return json.dumps(
            {
                "window": int(self.window.to_seconds()),
                "delay": METRIC_DELAY_SECONDS,
                "maxErrorRateIncrease": self.max_error_rate_increase,
                "maxLatencyRatio": self.max_latency_ratio,
                "latencyStatistic": self.latency_statistic,
                "minRequests": self.min_requests,
                "failInconclusive": self.fail_inconclusive,
                "requireTestTraffic": self.require_test_traffic,
                "queries": [query.to_json() for query in self.queries],
            },
            separators=(",", ":"),
        )

    def function_timeout(self, *, code_deploy: bool) -> Duration:
        """ECS_NATIVE: one read of the window per invocation (ECS invokes again while it fills); CODE_DEPLOY: the
        window, the delay and the reads in one invocation, which must report to CodeDeploy before it ends."""
        if not code_deploy:
            return Duration.minutes(defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES)
        return Duration.seconds(int(self.window.to_seconds()) + METRIC_DELAY_SECONDS + _CALLS_SECONDS)


def check_step_analysis(
    analysis: StepAnalysis | None, *, engine: DeploymentEngine, hooks: DeploymentHooks | None
) -> None:
    """The analysis's own checks, and the lifecycle event it takes."""
    if analysis is None:
        return
    if not isinstance(analysis, StepAnalysis):
        raise TypeError(f"Invalid step_analysis={analysis!r}: use StepAnalysis(...) to turn it on, or None.")
    analysis.validate(code_deploy=engine.value == "CODE_DEPLOY")
    if hooks is not None and hooks.before_allow_traffic is not None:
        raise invalid(
            "step_analysis",
            "StepAnalysis(...)",
            "hooks.before_allow_traffic is also set and a deployment runs one function per lifecycle event "
            "(CodeDeploy's AppSpec names one per event); add your check as a query (queries=[AnalysisQuery(...)]), "
            "move it to hooks.after_allow_test_traffic, or drop one of the two.",
        )


class StepAnalysisSettings(FunctionLogSettings, Protocol):
    """What a service's analysis function is made from (the service's props are one)."""

    @property
    def step_analysis(self) -> StepAnalysis | None: ...
    @property
    def engine(self) -> DeploymentEngine: ...
    @property
    def test_port(self) -> int: ...


class StepAnalysisFunction(Construct):
    """The step analysis's Lambda function for one service, with its own role and log group."""

    @classmethod
    def for_service(
        cls, scope: Construct, settings: StepAnalysisSettings, *, load_balancing: LoadBalancerParts
    ) -> lambda_.Function | None:
        """The function of a service's step analysis (construct id ``StepAnalysis``), ``None`` without one."""
        if settings.step_analysis is None:
            return None
        return cls(
            scope, "StepAnalysis", settings=settings, analysis=settings.step_analysis, load_balancing=load_balancing
        ).function

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StepAnalysisSettings,
        analysis: StepAnalysis,
        load_balancing: LoadBalancerParts,
    ) -> None:
        super().__init__(scope, construct_id)
        lb = load_balancing
        code_deploy = settings.engine.value == "CODE_DEPLOY"
        # Under ECS_NATIVE the test listener's rule carries the weights, at the routing's priority on a shared
        # load balancer; under CODE_DEPLOY its default action forwards to green.
        test_rule_priority = (
            "" if code_deploy else str(lb.routing.priority if lb.routing else defaults.OWN_TEST_RULE_PRIORITY)
        )
        made = library_function(
            self,
            handler="step_analysis.handler",
            description="blue-green-ecs step analysis: green's metrics against blue's before production traffic moves",
            role_description="blue-green-ecs step analysis of the green target group's metrics",
            timeout=analysis.function_timeout(code_deploy=code_deploy),
            memory_size=256,
            environment={
                # The service's own test listener by load balancer and port, as the test traffic router finds its
                # production listener: a reference to the listener would wait for the live-state lookup, which
                # names this function (a hook of the service's, under ECS_NATIVE).
                "TEST_LISTENER_ARN": lb.test_listener.listener_arn if lb.shared else "",
                "LOAD_BALANCER_ARN": lb.load_balancer.load_balancer_arn,
                "TEST_PORT": str(lb.shared_test_port if lb.shared_test_port is not None else settings.test_port),
                "TEST_RULE_PRIORITY": test_rule_priority,
                "BLUE_TARGET_GROUP_ARN": lb.blue_target_group.target_group_arn,
                "GREEN_TARGET_GROUP_ARN": lb.green_target_group.target_group_arn,
                "ANALYSIS": analysis.configuration(),
            },
            log_retention=settings.log_retention,
            log_encryption_key=settings.log_encryption_key,
        )
        self.function: lambda_.Function = made.function
        made.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    # GetMetricData authorizes on "*" only (Service Authorization Reference: no resource type for a
                    # query of metrics).
                    "cloudwatch:GetMetricData",
                    # Which target group of the pair the test listener forwards to: green's.
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                ],
                resources=["*"],
            )
        )
        reason = "cloudwatch:GetMetricData and ELB's Describe actions have no resource-level permissions."
        acknowledge_nag(made.role, "IAM5[Resource::*]", reason)
        skip_checkov(made.role.node.find_child("DefaultPolicy"), ("CKV_AWS_111", reason))
