"""The step analysis against moto (tests/moto_worlds.py): real metric data, read back with GetMetricData.

What moto decides here, and the code does not: which data points PutMetricData stored under which dimensions,
what GetMetricData answers for a MetricStat query of one period over the window (the Sum, Maximum and no data
at all), for an expression naming a query's id, and how DescribeListeners and DescribeRules describe the test
listener's forward (plain under CodeDeploy, weighted on a rule under Amazon ECS).

moto gaps: dimensions matched in the order they were put (see ``put``), metric math beyond an expression that names one id (moto answers an expression by looking its text up
as a query id), percentile statistics (moto answers none; the latency tests compare ``Maximum``), and
PutLifecycleEventHookExecutionStatus (the report goes to a Stubber, as in test_moto_preflight.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_cdk import Duration
from botocore.stub import Stubber

from blue_green_ecs import AnalysisMetric, AnalysisQuery, StepAnalysis
from blue_green_ecs.handlers.step_analysis import STATE_KEY, make_handler

from ..moto_worlds import Account, LoadBalancer, forward, moto_account, not_found, weighted

CODEDEPLOY_EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "hook-exec-1"}
REVISION = "arn:aws:ecs:us-east-1:123456789012:service-revision/shop/web/7"
WINDOW = timedelta(minutes=5)
DELAY = timedelta(minutes=2)  # step_analysis.METRIC_DELAY_SECONDS


@dataclass(frozen=True)
class Pair:
    """One service's load balancer, target groups and test listener (with a rule under ECS_NATIVE)."""

    load_balancer: LoadBalancer
    blue: str
    green: str
    ecs: bool

    def environment(self, analysis: StepAnalysis) -> dict[str, str]:
        """The environment as StepAnalysisFunction sets it."""
        return {
            "TEST_LISTENER_ARN": "",
            "LOAD_BALANCER_ARN": self.load_balancer.arn,
            "TEST_PORT": "8080",
            "TEST_RULE_PRIORITY": "1" if self.ecs else "",
            # The construct names the pair in its template order; which one is green changes with deployments.
            "BLUE_TARGET_GROUP_ARN": self.green,
            "GREEN_TARGET_GROUP_ARN": self.blue,
            "ANALYSIS": analysis.configuration(),
        }


# Every scenario's window (one for all: each has target groups of its own), in the past hour.
START = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=50)
SAME = {"RequestCount": 30, "HTTPCode_Target_5XX_Count": 0, "TargetResponseTime": 0.1}
# Scenario -> (ECS_NATIVE?, green's and blue's metrics each minute of the window).
SCENARIOS: dict[str, tuple[bool, dict[str, float], dict[str, float]]] = {
    # green's test traffic: 40 of 200 requests 5XX; blue: 5 of 1000
    "worse": (
        False,
        {"RequestCount": 40, "HTTPCode_Target_5XX_Count": 8},
        {"RequestCount": 200, "HTTPCode_Target_5XX_Count": 1},
    ),
    "equal": (False, SAME, SAME),
    # blue's production traffic and no request to green (nothing sent through the test listener)
    "untested": (False, {}, {"RequestCount": 100, "HTTPCode_Target_5XX_Count": 0}),
    # a canary at 10 %: green's slowest response 1.5 s, blue's 0.4 s
    "slower": (
        True,
        {"RequestCount": 20, "HTTPCode_Target_5XX_Count": 0, "TargetResponseTime": 1.5},
        {"RequestCount": 180, "HTTPCode_Target_5XX_Count": 0, "TargetResponseTime": 0.4},
    ),
    "ecs-equal": (True, SAME, SAME),
    # green at 10 % of production that served 10 requests in the window
    "quiet": (True, {"RequestCount": 2}, {"RequestCount": 100}),
    "4xx": (True, {"HTTPCode_Target_4XX_Count": 3}, {"HTTPCode_Target_4XX_Count": 0}),
}


@dataclass(frozen=True)
class World:
    account: Account
    pairs: dict[str, Pair]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    # Built before the tests' function-scoped fixtures: the IAM check sees the handler's calls only.
    with moto_account() as account:
        pairs = {}
        for name, (ecs, green, blue) in SCENARIOS.items():
            pairs[name] = pair(account, ecs=ecs)
            traffic(account, pairs[name], START, green=green, blue=blue)
        yield World(account, pairs)


@pytest.fixture
def account(world: World) -> Account:
    return world.account


def pair(account: Account, *, ecs: bool) -> Pair:
    network = account.network()
    load_balancer = account.load_balancer(network)
    blue, green = account.target_group(network, "blue"), account.target_group(network, "green")
    if ecs:
        listener = account.listener(load_balancer, 8080, not_found())
        account.rule(listener, 1, weighted((blue, 0), (green, 100)))
    else:
        account.listener(load_balancer, 8080, forward(green))
    return Pair(load_balancer, blue, green, ecs)


def put(account: Account, pair: Pair, target_group: str, at: datetime, **values: float) -> None:
    """ELB's per-minute data points of one target group: metric name -> value, at ``at``."""
    # In the order the handler asks for them (by name): moto 5.2.5 matches dimensions in order (its Dimension.__lt__
    # compares a value with a name, so its sorted() keeps both lists as given); CloudWatch does not.
    dimensions = [
        {"Name": "LoadBalancer", "Value": pair.load_balancer.full_name},
        {"Name": "TargetGroup", "Value": target_group.split(":", 5)[5]},
    ]
    account.client("cloudwatch").put_metric_data(
        Namespace="AWS/ApplicationELB",
        MetricData=[
            {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value}
            for name, value in values.items()
        ],
    )


def traffic(account: Account, pair: Pair, start: datetime, *, green: dict[str, float], blue: dict[str, float]) -> None:
    """Each minute of the window: these counts for green and blue."""
    for minute in range(int(WINDOW.total_seconds() // 60)):
        at = start + timedelta(minutes=minute, seconds=30)
        put(account, pair, pair.green, at, **green)
        put(account, pair, pair.blue, at, **blue)


@dataclass
class Clock:
    """The handler's clock: sleeping moves it on."""

    now: datetime
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def start() -> datetime:
    return START


@pytest.fixture
def report(account: Account) -> Iterator[Stubber]:
    with Stubber(account.client("codedeploy")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_report(report: Stubber, status: str) -> None:
    report.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-NEW", "lifecycleEventHookExecutionId": "hook-exec-1", "status": status},
    )


def handler(account: Account, pair: Pair, analysis: StepAnalysis, clock: Clock) -> Any:
    return make_handler(
        client=account.client("codedeploy"),
        cloudwatch_client=account.client("cloudwatch"),
        elbv2_client=account.client("elbv2"),
        environ=pair.environment(analysis),
        now=lambda: clock.now,
        sleep=clock.sleep,
    )


def ecs_event(green_weight: int, hook_details: dict[str, Any] | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {
        "executionId": "exec-1",
        "lifecycleStage": "PRE_PRODUCTION_TRAFFIC_SHIFT",
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/web/abc",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/shop/web",
            "targetServiceRevisionArn": REVISION,
            "testTrafficWeights": {REVISION: 100},
            "productionTrafficWeights": {REVISION: green_weight, f"{REVISION[:-1]}6": 100 - green_weight},
        },
    }
    if hook_details is not None:
        event["hookDetails"] = hook_details
    return event


def logged_reason(capsys: pytest.CaptureFixture[str]) -> str:
    lines = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text[:1] == "{"]
    [line] = [
        found
        for found in lines
        if found.get("logger") == "blue_green_ecs.step_analysis" and found.get("action") in ("result", "reported")
    ]
    return str(line["reason"])


# ---- CODE_DEPLOY: BeforeAllowTraffic, one invocation that waits for the window -----------------------------


def test_codedeploy_fails_a_green_whose_5xx_rate_is_worse_with_the_numbers(
    world: World, account: Account, report: Stubber, start: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    # given green's test traffic: 40 of 200 requests 5XX; blue: 5 of 1000
    scenario = world.pairs["worse"]
    clock = Clock(start + timedelta(seconds=10))
    expect_report(report, "Failed")

    # when CodeDeploy invokes the hook
    result = handler(account, scenario, StepAnalysis(max_latency_ratio=None), clock)(CODEDEPLOY_EVENT, None)

    # then it slept until the window ended and CloudWatch had it, and failed with the numbers
    assert clock.now == start + WINDOW + DELAY
    assert result["Status"] == "Failed"
    assert result["Reason"] == (
        f"step analysis failed over {start:%H:%M}-{start + WINDOW:%H:%M} UTC: 5XX rate: green 20.00% (40 of 200 "
        "requests) against blue 0.50% (5 of 1000), at most 1 percentage points more allowed"
    )
    assert logged_reason(capsys) == result["Reason"]


def test_codedeploy_passes_a_green_as_good_as_blue(
    world: World, account: Account, report: Stubber, start: datetime
) -> None:
    scenario = world.pairs["equal"]
    expect_report(report, "Succeeded")

    analysis = StepAnalysis(latency_statistic="Maximum")
    result = handler(account, scenario, analysis, Clock(start))(CODEDEPLOY_EVENT, None)

    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}


def test_codedeploy_without_test_traffic_is_inconclusive_and_passes_unless_test_traffic_is_required(
    world: World, account: Account, report: Stubber, start: datetime
) -> None:
    # given blue's production traffic and no request to green (nothing sent through the test listener)
    scenario = world.pairs["untested"]
    expect_report(report, "Succeeded")
    expect_report(report, "Failed")

    passed = handler(account, scenario, StepAnalysis(), Clock(start))(CODEDEPLOY_EVENT, None)
    required = handler(account, scenario, StepAnalysis(require_test_traffic=True), Clock(start))(CODEDEPLOY_EVENT, None)

    assert passed["Status"] == "Succeeded"
    assert required["Status"] == "Failed"
    assert required["Reason"] == (
        f"step analysis inconclusive over {start:%H:%M}-{start + WINDOW:%H:%M} UTC (before green carries production "
        "traffic): green against blue: green served 0 requests in the window, fewer than the 50 it needs "
        "(min_requests). Send green more traffic, lower min_requests, or set fail_inconclusive=False."
    )


# ---- ECS_NATIVE: PRE_PRODUCTION_TRAFFIC_SHIFT, IN_PROGRESS while the window fills ------------------------------


def test_ecs_answers_in_progress_until_the_window_is_read_then_fails_a_slower_green(
    world: World, account: Account, start: datetime
) -> None:
    # given a canary at 10 %: green's slowest response 1.5 s, blue's 0.4 s
    scenario = world.pairs["slower"]
    clock = Clock(start + timedelta(seconds=10))
    run = handler(account, scenario, StepAnalysis(latency_statistic="Maximum"), clock)

    # when ECS invokes the hook before the next step, and again after callBackDelay
    first = run(ecs_event(10), None)
    clock.now += timedelta(seconds=first["callBackDelay"])
    second = run(ecs_event(10, first["hookDetails"]), None)

    # then the first answer waits for the window and CloudWatch's delay, the second fails
    window = {"executionId": "exec-1", "windowStart": start.isoformat()}
    assert first == {"hookStatus": "IN_PROGRESS", "callBackDelay": 410, "hookDetails": {STATE_KEY: window}}
    assert second == {"hookStatus": "FAILED"}


def test_ecs_passes_an_equal_green_once_the_window_is_complete(
    world: World, account: Account, start: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = world.pairs["ecs-equal"]
    clock = Clock(start + WINDOW + DELAY)
    state = {STATE_KEY: {"executionId": "exec-1", "windowStart": start.isoformat()}}

    result = handler(account, scenario, StepAnalysis(latency_statistic="Maximum"), clock)(ecs_event(50, state), None)

    assert result == {"hookStatus": "SUCCEEDED"}
    assert logged_reason(capsys) == (
        f"step analysis passed over {start:%H:%M}-{start + WINDOW:%H:%M} UTC: 5XX rate: green 0.00% (0 of 150 "
        "requests) against blue 0.00% (0 of 150), at most 1 percentage points more allowed; Maximum response time: "
        "green 100 ms against blue 100 ms, at most 2x allowed"
    )


def test_ecs_fails_an_inconclusive_window_once_green_carries_production_traffic(
    world: World, account: Account, start: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    # given green at 10 % of production that served 10 requests in the window
    scenario = world.pairs["quiet"]
    state = {STATE_KEY: {"executionId": "exec-1", "windowStart": start.isoformat()}}
    run = handler(account, scenario, StepAnalysis(), Clock(start + WINDOW + DELAY))

    assert run(ecs_event(10, state), None) == {"hookStatus": "FAILED"}
    assert "green served 10 requests in the window, fewer than the 50 it needs" in logged_reason(capsys)
    # and before the first step (green's weight 0) the same window passes
    assert run(ecs_event(0, state), None) == {"hookStatus": "SUCCEEDED"}


def test_a_new_hook_execution_starts_a_window_of_its_own(world: World, account: Account, start: datetime) -> None:
    # given the state of the previous step's execution
    scenario = world.pairs["ecs-equal"]
    clock = Clock(start + timedelta(minutes=30))
    old = {STATE_KEY: {"executionId": "exec-0", "windowStart": start.isoformat()}}

    answer = handler(account, scenario, StepAnalysis(), clock)(ecs_event(10, old), None)

    assert answer["hookStatus"] == "IN_PROGRESS"
    assert answer["hookDetails"][STATE_KEY] == {"executionId": "exec-1", "windowStart": clock.now.isoformat()}


def test_a_users_query_fails_with_its_value(
    world: World, account: Account, start: datetime, capsys: pytest.CaptureFixture[str]
) -> None:
    # given green's 4XX count per minute (moto evaluates an expression that names one id, nothing more)
    scenario = world.pairs["4xx"]
    query = AnalysisQuery(
        name="green 4XX responses",
        expression="g4xx",
        metrics={"g4xx": AnalysisMetric("HTTPCode_Target_4XX_Count")},
        maximum=10,
    )
    analysis = StepAnalysis(
        window=Duration.minutes(5), max_error_rate_increase=None, max_latency_ratio=None, queries=[query]
    )
    state = {STATE_KEY: {"executionId": "exec-1", "windowStart": start.isoformat()}}

    result = handler(account, scenario, analysis, Clock(start + WINDOW + DELAY))(ecs_event(10, state), None)

    assert result == {"hookStatus": "FAILED"}
    assert logged_reason(capsys) == (
        f"step analysis failed over {start:%H:%M}-{start + WINDOW:%H:%M} UTC: green 4XX responses: g4xx = 15, "
        "at most 10 allowed"
    )
