"""Built-in step analysis: a lifecycle hook that holds production traffic until green's metrics pass.

Before production traffic moves, this hook samples a window of CloudWatch metrics of the two target groups and
fails the deployment, naming the numbers, when green does worse than blue allows or a user's metric math
condition is not met (Argo Rollouts' AnalysisTemplate, Flagger's metric checks):

- green's 5XX rate (``HTTPCode_Target_5XX_Count`` per ``RequestCount``, TargetGroup and LoadBalancer dimensions)
  may exceed blue's by ``maxErrorRateIncrease`` percentage points (blue without requests counts as 0 %);
- green's ``latencyStatistic`` of ``TargetResponseTime`` may be ``maxLatencyRatio`` times blue's (not compared
  while blue has no requests or no data);
- each user query's metric math expression must be within its ``maximum`` and ``minimum``.

Green is the target group of the pair that the test listener forwards to: CodeDeploy points the test listener at
the replacement task set before ``BeforeAllowTraffic``, and Amazon ECS shifts all test traffic to the green
revision at ``POST_TEST_TRAFFIC_SHIFT``, before any production step. Each value covers the whole window: one
GetMetricData period from the window's start (a whole minute, as CloudWatch rounds a recent StartTime) to its end.

A window is inconclusive when green served fewer than ``minRequests`` requests or a query had no data. While green
carries no production traffic (Amazon ECS's event gives the green revision's weight in
``executionDetails.productionTrafficWeights``; CodeDeploy runs ``BeforeAllowTraffic`` before any shift) only test
traffic can have reached green, and an inconclusive window passes unless ``requireTestTraffic``; once it carries
production traffic, an inconclusive window fails unless ``failInconclusive`` is false. A failed AWS call fails the
hook: a gate that cannot see is closed.

Under Amazon ECS (``PRE_PRODUCTION_TRAFFIC_SHIFT``, before every canary and linear step) the window starts at the
hook's first invocation and the hook answers ``{"hookStatus": "IN_PROGRESS", "callBackDelay": N, "hookDetails":
...}`` until it has ended and ``delay`` more seconds have passed (CloudWatch has ELB's one-minute data points a
little after the minute): ECS invokes the function again after ``callBackDelay`` seconds and passes the
``hookDetails`` back (Lambda hooks for Amazon ECS service deployments,
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html). Under CodeDeploy
(``BeforeAllowTraffic``, once, before the first shift) one invocation sleeps through the window, then reports
with ``PutLifecycleEventHookExecutionStatus`` through the ``lifecycle_hook`` helper.

Environment (``step_analysis.StepAnalysisFunction``): ``ANALYSIS`` (``StepAnalysis`` as JSON), ``TEST_LISTENER_ARN``
(a shared load balancer's; empty: found by ``LOAD_BALANCER_ARN`` and ``TEST_PORT``), ``TEST_RULE_PRIORITY`` (empty
under CodeDeploy: the default action forwards), ``BLUE_TARGET_GROUP_ARN``, ``GREEN_TARGET_GROUP_ARN`` (either role).
"""

from __future__ import annotations

import functools
import importlib
import json
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped,unused-ignore]

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    # Top-level module inside the Lambda asset, blue_green_ecs.handlers.lifecycle_hook in the library.
    lifecycle_hook = importlib.import_module(f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook")

# The key of this hook's state in hookDetails (ECS passes back what an IN_PROGRESS answer returned).
STATE_KEY = "blueGreenEcsStepAnalysis"
MAX_CALLBACK_DELAY = 600  # seconds per IN_PROGRESS answer (ECS: 30 s without callBackDelay)
EXPRESSION_ID = "analysis"
PASSED, FAILED, INCONCLUSIVE, SKIPPED = "passed", "failed", "inconclusive", "skipped"


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.step_analysis", "action": action, **fields}, default=str))


@dataclass(frozen=True)
class AnalysisConfig:
    """The function's environment: what to compare, and where green and blue are."""

    analysis: Mapping[str, Any]
    test_listener_arn: str
    load_balancer_arn: str
    test_port: str
    test_rule_priority: str
    pair: tuple[str, str]

    @property
    def window(self) -> timedelta:
        return timedelta(seconds=int(self.analysis["window"]))

    @property
    def delay(self) -> timedelta:
        return timedelta(seconds=int(self.analysis.get("delay", 120)))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AnalysisConfig:
        """Read the environment; a malformed value is a ValueError naming the variable."""
        try:
            analysis = json.loads(environ.get("ANALYSIS", ""))
        except json.JSONDecodeError:
            analysis = None
        if not isinstance(analysis, dict) or int(analysis.get("window", 0)) < 60:
            raise ValueError(f"ANALYSIS must be the step analysis as JSON, got {environ.get('ANALYSIS')!r}")
        missing = [
            name
            for name in ("LOAD_BALANCER_ARN", "BLUE_TARGET_GROUP_ARN", "GREEN_TARGET_GROUP_ARN")
            if not environ.get(name)
        ]
        if missing:
            raise ValueError(f"The step analysis lacks the environment variables {missing}")
        return cls(
            analysis=analysis,
            test_listener_arn=environ.get("TEST_LISTENER_ARN", ""),
            load_balancer_arn=environ["LOAD_BALANCER_ARN"],
            test_port=environ.get("TEST_PORT", ""),
            test_rule_priority=environ.get("TEST_RULE_PRIORITY", ""),
            pair=(environ["BLUE_TARGET_GROUP_ARN"], environ["GREEN_TARGET_GROUP_ARN"]),
        )


@dataclass(frozen=True)
class Finding:
    """One condition's outcome over the window, with its numbers."""

    name: str
    outcome: str
    detail: str

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}"


def full_name(arn: str, marker: str) -> str:
    """A load balancer's or target group's CloudWatch dimension value: its ARN from ``marker`` on."""
    index = arn.find(marker)
    if index < 0:
        raise ValueError(f"{arn!r} is not an ARN with {marker!r}")
    return arn[index + len(marker) :] if marker == "loadbalancer/" else arn[index:]


def _forward_weights(actions: Any) -> dict[str, int]:
    weights: dict[str, int] = {}
    for action in actions or []:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        for group in groups or ([{"TargetGroupArn": action["TargetGroupArn"]}] if action.get("TargetGroupArn") else []):
            weights[str(group["TargetGroupArn"])] = int(group.get("Weight", 1))
    return weights


def _test_actions(elbv2: Any, config: AnalysisConfig) -> tuple[str, Any]:
    """The test listener (found by port on the service's own load balancer) and the actions that route it."""
    listener: Mapping[str, Any] | None = None
    if config.test_listener_arn:
        arn = config.test_listener_arn
    else:
        params: dict[str, Any] = {"LoadBalancerArn": config.load_balancer_arn}
        while listener is None:
            page = elbv2.describe_listeners(**params)
            listener = next((x for x in page.get("Listeners") or [] if str(x.get("Port")) == config.test_port), None)
            if listener is None and not page.get("NextMarker"):
                raise lifecycle_hook.HookFailedError(
                    f"Load balancer {config.load_balancer_arn} has no test listener on port {config.test_port}."
                )
            params["Marker"] = page.get("NextMarker")
        arn = str(listener["ListenerArn"])
    if not config.test_rule_priority:
        if listener is None:
            [listener] = elbv2.describe_listeners(ListenerArns=[arn])["Listeners"]
        return arn, listener.get("DefaultActions")
    params = {"ListenerArn": arn}
    while True:
        page = elbv2.describe_rules(**params)
        for rule in page.get("Rules") or []:
            if str(rule.get("Priority")) == config.test_rule_priority:
                return arn, rule.get("Actions")
        if not page.get("NextMarker"):
            raise lifecycle_hook.HookFailedError(
                f"The test rule (priority {config.test_rule_priority}) of listener {arn} does not exist."
            )
        params["Marker"] = page["NextMarker"]


def green_and_blue(elbv2: Any, config: AnalysisConfig) -> tuple[str, str]:
    """The target group of the pair the test listener forwards to (green's), and the other one (blue's)."""
    listener, actions = _test_actions(elbv2, config)
    serving = sorted(arn for arn, weight in _forward_weights(actions).items() if weight > 0)
    if len(serving) != 1 or serving[0] not in config.pair:
        raise lifecycle_hook.HookFailedError(
            f"The test listener {listener} forwards to {serving or 'no target group'}, not to exactly one of the "
            f"service's target groups {list(config.pair)}: cannot tell which one green runs in."
        )
    green = serving[0]
    return green, config.pair[1] if green == config.pair[0] else config.pair[0]


def _metric_stat(
    metric: Mapping[str, Any], roles: Mapping[str, str], load_balancer: str, period: int
) -> dict[str, Any]:
    dimensions = dict(metric.get("dimensions") or {})
    role = metric.get("targetGroup")
    if role:
        dimensions.update(TargetGroup=full_name(roles[role], "targetgroup/"), LoadBalancer=load_balancer)
    return {
        "Metric": {
            "Namespace": metric.get("namespace", "AWS/ApplicationELB"),
            "MetricName": metric["metricName"],
            "Dimensions": [{"Name": name, "Value": value} for name, value in sorted(dimensions.items())],
        },
        "Period": period,
        "Stat": metric.get("statistic", "Sum"),
    }


def window_values(
    cloudwatch: Any, queries: list[dict[str, Any]], start: datetime, end: datetime
) -> dict[str, float | None]:
    """Query id -> its value over [start, end) (one period: the window), ``None`` without data."""
    points: dict[str, list[tuple[datetime, float]]] = {}
    params: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end}
    while True:
        page = cloudwatch.get_metric_data(**params)
        for result in page.get("MetricDataResults") or []:
            if result.get("StatusCode") in ("Forbidden", "InternalError"):
                raise lifecycle_hook.HookFailedError(
                    f"CloudWatch could not read {result.get('Id')}: {result.get('StatusCode')} {page.get('Messages')}"
                )
            pairs = zip(result.get("Timestamps") or [], result.get("Values") or [], strict=False)
            points.setdefault(str(result["Id"]), []).extend((t, float(v)) for t, v in pairs)
        if not page.get("NextToken"):
            break
        params["NextToken"] = page["NextToken"]
    # One period covers the window; should CloudWatch split it, the earliest data point is the window's start.
    return {str(q["Id"]): min(points[str(q["Id"])])[1] if points.get(str(q["Id"])) else None for q in queries}


def compare_with_blue(
    cloudwatch: Any, analysis: Mapping[str, Any], roles: Mapping[str, str], lb: str, start: datetime, end: datetime
) -> list[Finding]:
    """Green's 5XX rate and response time against blue's, over the window."""
    increase, ratio = analysis.get("maxErrorRateIncrease"), analysis.get("maxLatencyRatio")
    if increase is None and ratio is None:
        return []
    period = int((end - start).total_seconds())
    wanted = {"greq": ("green", "RequestCount", "Sum"), "g5xx": ("green", "HTTPCode_Target_5XX_Count", "Sum")}
    wanted |= {"breq": ("blue", "RequestCount", "Sum"), "b5xx": ("blue", "HTTPCode_Target_5XX_Count", "Sum")}
    statistic = str(analysis.get("latencyStatistic", "p99"))
    if ratio is not None:
        wanted |= {
            "glat": ("green", "TargetResponseTime", statistic),
            "blat": ("blue", "TargetResponseTime", statistic),
        }
    queries = [
        {"Id": key, "MetricStat": _metric_stat({"metricName": n, "statistic": s, "targetGroup": r}, roles, lb, period)}
        for key, (r, n, s) in wanted.items()
    ]
    values = window_values(cloudwatch, queries, start, end)
    greq, g5xx = values["greq"] or 0.0, values["g5xx"] or 0.0
    breq, b5xx = values["breq"] or 0.0, values["b5xx"] or 0.0
    minimum = int(analysis.get("minRequests", 0))
    if greq < max(minimum, 1):
        detail = (
            f"green served {greq:g} requests in the window, fewer than the {max(minimum, 1)} it needs (min_requests)"
        )
        return [Finding("green against blue", INCONCLUSIVE, detail)]
    findings = []
    if increase is not None:
        green_rate, blue_rate = 100 * g5xx / greq, (100 * b5xx / breq if breq else 0.0)
        outcome = FAILED if green_rate - blue_rate > float(increase) else PASSED
        detail = (
            f"green {green_rate:.2f}% ({g5xx:g} of {greq:g} requests) against blue {blue_rate:.2f}% "
            f"({b5xx:g} of {breq:g}), at most {float(increase):g} percentage points more allowed"
        )
        findings.append(Finding("5XX rate", outcome, detail))
    if ratio is not None:
        glat, blat = values["glat"], values["blat"]
        if glat is None or blat is None or not breq:
            findings.append(Finding(f"{statistic} response time", SKIPPED, "blue has no requests to compare with"))
        else:
            outcome = FAILED if glat > blat * float(ratio) else PASSED
            detail = f"green {glat * 1000:.0f} ms against blue {blat * 1000:.0f} ms, at most {float(ratio):g}x allowed"
            findings.append(Finding(f"{statistic} response time", outcome, detail))
    return findings


def query_finding(
    cloudwatch: Any, query: Mapping[str, Any], roles: Mapping[str, str], lb: str, start: datetime, end: datetime
) -> Finding:
    """A user's metric math condition over the window (its metrics are not returned, only the expression)."""
    period = int((end - start).total_seconds())
    queries: list[dict[str, Any]] = [
        {"Id": metric_id, "MetricStat": _metric_stat(metric, roles, lb, period), "ReturnData": False}
        for metric_id, metric in (query.get("metrics") or {}).items()
    ]
    queries.append({"Id": EXPRESSION_ID, "Expression": query["expression"], "Label": query["name"], "ReturnData": True})
    value = window_values(cloudwatch, queries, start, end)[EXPRESSION_ID]
    name, maximum, minimum = str(query["name"]), query.get("maximum"), query.get("minimum")
    if value is None or not math.isfinite(value):
        return Finding(name, INCONCLUSIVE, f"{query['expression']} had no data in the window")
    bounds = [
        f"at most {maximum:g}" if maximum is not None else "",
        f"at least {minimum:g}" if minimum is not None else "",
    ]
    allowed = " and ".join(b for b in bounds if b)
    failed = (maximum is not None and value > maximum) or (minimum is not None and value < minimum)
    return Finding(name, FAILED if failed else PASSED, f"{query['expression']} = {value:g}, {allowed} allowed")


def analyze(cloudwatch: Any, elbv2: Any, config: AnalysisConfig, start: datetime, end: datetime) -> list[Finding]:
    """Every condition's finding over [start, end)."""
    green, blue = green_and_blue(elbv2, config)
    roles, lb = {"green": green, "blue": blue}, full_name(config.load_balancer_arn, "loadbalancer/")
    try:
        findings = compare_with_blue(cloudwatch, config.analysis, roles, lb, start, end)
        for query in config.analysis.get("queries") or []:
            findings.append(query_finding(cloudwatch, query, roles, lb, start, end))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        hint = '; the function\'s role needs cloudwatch:GetMetricData on Resource "*"' if "Denied" in str(error) else ""
        raise lifecycle_hook.HookFailedError(
            f"cannot read the metrics (cloudwatch:GetMetricData): {error.get('Code')}: {error.get('Message')}{hint}"
        ) from exc
    except BotoCoreError as exc:
        raise lifecycle_hook.HookFailedError(f"cannot read the metrics (cloudwatch:GetMetricData): {exc}") from exc
    log("findings", green=green, blue=blue, start=start, end=end, findings=[vars(f) for f in findings])
    return findings


def verdict(findings: list[Finding], analysis: Mapping[str, Any], *, production: bool, span: str) -> tuple[bool, str]:
    """Pass or fail, and the sentence that says why with the numbers."""
    failed = [f for f in findings if f.outcome == FAILED]
    unsure = [f for f in findings if f.outcome == INCONCLUSIVE]
    if failed:
        return False, f"step analysis failed over {span}: " + "; ".join(map(str, failed))
    if unsure:
        strict = bool(analysis.get("failInconclusive", True) if production else analysis.get("requireTestTraffic"))
        carrying = "green carries production traffic" if production else "before green carries production traffic"
        text = f"step analysis inconclusive over {span} ({carrying}): " + "; ".join(map(str, unsure))
        if strict:
            return False, f"{text}. Send green more traffic, lower min_requests, or set fail_inconclusive=False."
        return True, f"{text}; passed (only test traffic could have reached green)"
    return True, f"step analysis passed over {span}: " + "; ".join(map(str, findings))


def green_carries_production(event: Mapping[str, Any]) -> bool:
    """Whether the green revision has production weight (ECS's event); unreadable weights count as yes."""
    details = event.get("executionDetails")
    details = details if isinstance(details, Mapping) else {}
    weights, revision = details.get("productionTrafficWeights"), details.get("targetServiceRevisionArn")
    if not isinstance(weights, Mapping) or not isinstance(revision, str):
        log("production-weights-unreadable", weights=weights, revision=revision)
        return True
    try:
        return float(weights.get(revision) or 0) > 0
    except (TypeError, ValueError):
        return True


def minute(moment: datetime) -> datetime:
    """The whole minute ``moment`` is in (CloudWatch rounds a recent StartTime down so)."""
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def make_handler(
    *,
    client: Any = None,
    cloudwatch_client: Any = None,
    elbv2_client: Any = None,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """Build the Lambda handler; tests inject the clients, the environment and the clock.

    ``client`` serves CodeDeploy reports only (see ``lifecycle_hook.codedeploy_hook``); a client not given is
    created on first use with the built-in hooks' configuration.
    """

    def clients() -> tuple[Any, Any]:
        return (
            cloudwatch_client or lifecycle_hook.hook_client("cloudwatch"),
            elbv2_client or lifecycle_hook.hook_client("elbv2"),
        )

    def config() -> AnalysisConfig:
        return AnalysisConfig.from_env(os.environ if environ is None else environ)

    def codedeploy(event: Mapping[str, Any], context: Any) -> bool:
        """BeforeAllowTraffic: before any production traffic moves, in one invocation."""
        settings = config()
        start = minute(now())
        end = start + settings.window
        ready = end + settings.delay
        log("sampling", engine="codedeploy", start=start, end=end, ready=ready)
        while (left := (ready - now()).total_seconds()) > 0:
            sleep(left)
        findings = analyze(*clients(), settings, start, end)
        passed, reason = verdict(findings, settings.analysis, production=False, span=f"{start:%H:%M}-{end:%H:%M} UTC")
        log("result", passed=passed, reason=reason)
        if not passed:
            raise lifecycle_hook.HookFailedError(reason)
        return True

    reported = lifecycle_hook.codedeploy_hook(client=client)(codedeploy)

    def ecs(event: Mapping[str, Any]) -> dict[str, Any]:
        """PRE_PRODUCTION_TRAFFIC_SHIFT: IN_PROGRESS until the window is complete, then the verdict."""
        execution = event.get("executionId")
        details = event.get("hookDetails")
        state = details.get(STATE_KEY) if isinstance(details, Mapping) else None
        try:
            settings = config()
            current = now()
            same = isinstance(state, Mapping) and state.get("executionId") == execution and state.get("windowStart")
            start = datetime.fromisoformat(str(state["windowStart"])) if same and state else minute(current)
            end = start + settings.window
            ready = end + settings.delay
            if current < ready:
                delay = min(MAX_CALLBACK_DELAY, max(1, math.ceil((ready - current).total_seconds())))
                log("sampling", engine="ecs", execution_id=execution, start=start, end=end, call_back_delay=delay)
                return {
                    "hookStatus": "IN_PROGRESS",
                    "callBackDelay": delay,
                    "hookDetails": {STATE_KEY: {"executionId": execution, "windowStart": start.isoformat()}},
                }
            findings = analyze(*clients(), settings, start, end)
            passed, reason = verdict(
                findings,
                settings.analysis,
                production=green_carries_production(event),
                span=f"{start:%H:%M}-{end:%H:%M} UTC",
            )
        except lifecycle_hook.HookFailedError as exc:
            passed, reason = False, str(exc)
        except Exception as exc:
            log("hook-error", execution_id=execution, traceback=traceback.format_exc())
            passed, reason = False, f"{type(exc).__name__}: {exc}"
        status = "SUCCEEDED" if passed else "FAILED"
        log("reported", engine="ecs", execution_id=execution, status=status, reason=reason)
        return {"hookStatus": status}

    @functools.wraps(codedeploy)
    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        # Only CodeDeploy's event names a hook execution to report; the helper refuses an event of neither shape.
        if isinstance(event, Mapping) and "executionDetails" in event and "LifecycleEventHookExecutionId" not in event:
            return ecs(event)
        return dict(reported(event, context))

    return handler


handler = make_handler()
