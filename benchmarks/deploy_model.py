"""Deployment time model: how long one deployment of a new image takes, read from synthesized templates.

For each compared service, the settings are read from its CloudFormation template (target group
health check and drain, deployment controller and strategy, CodeDeploy configuration, termination
wait or bake time, rollback alarms, the deployment trigger's polling interval) and turned into a
timeline with the stated assumptions below. Nothing is deployed: the figures are as good as the
assumptions, which are the same for every row, so the comparison holds even where a constant is off.
Run: ``.venv/bin/python -m benchmarks.deploy_model``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Any

from . import stacks
from .context import minutes_seconds, table
from .templates import Template, ecs_codedeploy, ours

# Assumptions, the same for every row.
TASK_START_S = 60  # Fargate: ENI attachment, image pull (nginx, ~70 MB) and container start.
METRIC_DELAY_S = 60  # CloudWatch ingestion delay of load balancer metrics.
# ELB's own defaults, for target groups whose template leaves them out.
ELB_INTERVAL_S, ELB_HEALTHY_THRESHOLD, ELB_DRAIN_S = 30, 5, 300

# CodeDeploy's predefined ECS configurations: (kind, percent, interval in minutes).
PREDEFINED = {
    "CodeDeployDefault.ECSAllAtOnce": ("all at once", 100.0, 0),
    "CodeDeployDefault.ECSCanary10Percent5Minutes": ("canary", 10.0, 5),
    "CodeDeployDefault.ECSCanary10Percent15Minutes": ("canary", 10.0, 15),
    "CodeDeployDefault.ECSLinear10PercentEvery1Minutes": ("linear", 10.0, 1),
    "CodeDeployDefault.ECSLinear10PercentEvery3Minutes": ("linear", 10.0, 3),
}
# The poll interval of a deployment waiter: this library's own waiter, or aws-cdk-lib's Provider
# framework (which @cdklabs/cdk-ecs-codedeploy uses).
_INTERVALS = (
    re.compile(r'"Type":"Wait","Seconds":(\d+)'),
    re.compile(r'"framework-isComplete-task".*?"IntervalSeconds":(\d+)'),
)


@dataclass(frozen=True)
class Settings:
    """What decides a deployment's duration, as the template states it."""

    engine: str
    shift_kind: str  # "canary", "linear", "all at once" or "rolling"
    percent: float
    interval_min: int
    health_interval_s: int
    healthy_threshold: int
    grace_s: int
    drain_s: int
    wait_min: int  # CodeDeploy termination wait, ECS bake time
    poll_s: int | None  # the trigger's polling interval; None when `cdk deploy` starts no deployment
    alarm_detection_s: int | None = None  # the slowest rollback alarm, None without alarms
    alarm_period_s: int = 0  # its period: a fault starting just after a period begins waits up to one more

    @property
    def worst_detection_s(self) -> int | None:
        return None if self.alarm_detection_s is None else self.alarm_detection_s + self.alarm_period_s

    @property
    def shift(self) -> str:
        if self.shift_kind in ("all at once", "rolling"):
            return self.shift_kind
        return f"{self.shift_kind} {self.percent:g}% / {self.interval_min} min"


def _resources(template: Template, resource_type: str) -> dict[str, Any]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == resource_type}


def _only(template: Template, resource_type: str) -> dict[str, Any]:
    found = list(_resources(template, resource_type).values())
    if len(found) != 1:
        raise ValueError(f"expected one {resource_type}, found {len(found)}")
    props: dict[str, Any] = found[0].get("Properties", {})
    return props


def _ref(value: Any) -> str | None:
    return value.get("Ref") if isinstance(value, dict) else None


def _shift_of(template: Template, config: Any) -> tuple[str, float, int]:
    if isinstance(config, str):
        return PREDEFINED[config]
    routing = template["Resources"][_ref(config)]["Properties"]["TrafficRoutingConfig"]
    if routing["Type"] == "TimeBasedCanary":
        step = routing["TimeBasedCanary"]
        return "canary", float(step["CanaryPercentage"]), int(step["CanaryInterval"])
    if routing["Type"] == "TimeBasedLinear":
        step = routing["TimeBasedLinear"]
        return "linear", float(step["LinearPercentage"]), int(step["LinearInterval"])
    return "all at once", 100.0, 0


def _alarms(template: Template, names: list[Any]) -> dict[str, int]:
    """Seconds from a fault's start until the slowest referenced alarm can fire (datapoints x period + delay),
    and that alarm's period; nothing without alarms."""
    detections: list[tuple[int, int]] = []
    for name in names:
        alarm = template["Resources"].get(_ref(name) or "", {})
        props = alarm.get("Properties", {})
        if alarm.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        periods = [props["Period"]] if "Period" in props else []
        for metric in props.get("Metrics", []):
            if "MetricStat" in metric:
                periods.append(metric["MetricStat"]["Period"])
            elif "Period" in metric:
                periods.append(metric["Period"])
        datapoints = props.get("DatapointsToAlarm", props["EvaluationPeriods"])
        detections.append((datapoints * max(periods) + METRIC_DELAY_S, max(periods)))
    if not detections:
        return {}
    detection, period = max(detections)
    return {"alarm_detection_s": detection, "alarm_period_s": period}


def _poll_interval(template: Template) -> int | None:
    for machine in _resources(template, "AWS::StepFunctions::StateMachine").values():
        definition = machine["Properties"]["DefinitionString"]
        parts = definition["Fn::Join"][1] if isinstance(definition, dict) else [definition]
        text = "".join(p for p in parts if isinstance(p, str))
        for pattern in _INTERVALS:
            found = pattern.search(text)
            if found:
                return int(found.group(1))
    return None


def _target_group_id(template: Template, arn: Any) -> str | None:
    """The target group the service's ``TargetGroupArn`` names; blue_green_ecs's comes from its live-state lookup
    (``Fn::GetAtt`` of the custom resource, which is given the blue target group: both have the same settings)."""
    if isinstance(arn, dict) and "Fn::GetAtt" in arn:
        lookup = template["Resources"][arn["Fn::GetAtt"][0]]["Properties"]
        return _ref(lookup["BlueTargetGroupArn"])
    return _ref(arn)


def settings(template: Template) -> Settings:
    service = _only(template, "AWS::ECS::Service")
    group_id = _target_group_id(template, service["LoadBalancers"][0]["TargetGroupArn"])
    target_group = template["Resources"][group_id]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in target_group.get("TargetGroupAttributes", [])}
    common = {
        "health_interval_s": int(target_group.get("HealthCheckIntervalSeconds", ELB_INTERVAL_S)),
        "healthy_threshold": int(target_group.get("HealthyThresholdCount", ELB_HEALTHY_THRESHOLD)),
        "grace_s": int(service.get("HealthCheckGracePeriodSeconds", 0)),
        "drain_s": int(attributes.get("deregistration_delay.timeout_seconds", ELB_DRAIN_S)),
    }
    controller = service.get("DeploymentController", {}).get("Type", "ECS")
    deployment = service.get("DeploymentConfiguration", {})
    if controller == "CODE_DEPLOY":
        group = _only(template, "AWS::CodeDeploy::DeploymentGroup")
        kind, percent, interval = _shift_of(template, group["DeploymentConfigName"])
        blue_green = group.get("BlueGreenDeploymentConfiguration", {})
        wait = blue_green.get("TerminateBlueInstancesOnDeploymentSuccess", {}).get("TerminationWaitTimeInMinutes", 0)
        alarms = group.get("AlarmConfiguration", {})
        names = [a["Name"] for a in alarms.get("Alarms", [])] if alarms.get("Enabled") else []
        return Settings(
            "CodeDeploy",
            kind,
            percent,
            interval,
            **common,
            wait_min=int(wait),
            poll_s=_poll_interval(template),
            **_alarms(template, names),
        )
    strategy = deployment.get("Strategy", "ROLLING")
    names = deployment.get("Alarms", {}).get("AlarmNames", [])
    if strategy == "ROLLING":
        return Settings("ECS rolling", "rolling", 100.0, 0, **common, wait_min=0, poll_s=0, **_alarms(template, names))
    kind, percent, interval = "all at once", 100.0, 0
    if strategy == "CANARY":
        step = deployment["CanaryConfiguration"]
        kind, percent, interval = "canary", float(step["CanaryPercent"]), int(step["CanaryBakeTimeInMinutes"])
    elif strategy == "LINEAR":
        step = deployment["LinearConfiguration"]
        kind, percent, interval = "linear", float(step["StepPercent"]), int(step["StepBakeTimeInMinutes"])
    return Settings(
        "ECS-native",
        kind,
        percent,
        interval,
        **common,
        wait_min=int(deployment.get("BakeTimeInMinutes", 0)),
        poll_s=0,
        **_alarms(template, names),
    )


@dataclass(frozen=True)
class Timeline:
    settings: Settings
    green_healthy_s: int
    shift_s: int
    wait_s: int
    drain_s: int
    poll_s: int

    @property
    def deployment_s(self) -> int:
        return self.green_healthy_s + self.shift_s + self.wait_s + self.drain_s

    @property
    def total_s(self) -> int:
        return self.deployment_s + self.poll_s


def timeline(s: Settings) -> Timeline:
    interval = s.interval_min * 60
    if s.shift_kind == "canary":
        shift = interval
    elif s.shift_kind == "linear":
        shift = (math.ceil(100 / s.percent) - 1) * interval
    else:
        shift = 0
    return Timeline(
        s,
        green_healthy_s=TASK_START_S + s.health_interval_s * s.healthy_threshold,
        shift_s=shift,
        wait_s=s.wait_min * 60,
        drain_s=s.drain_s,
        poll_s=s.poll_s or 0,
    )


def safety(s: Settings) -> str:
    """What a bad image costs before it is rolled back, under these settings."""
    if s.alarm_detection_s is None or s.worst_detection_s is None:
        stop = (
            f"; a stop request within the {s.wait_min} min termination wait switches back"
            if s.engine == "CodeDeploy" and s.wait_min
            else ""
        )
        return (
            "no rollback alarms: a version that passes health checks but fails requests takes all traffic "
            f"until someone acts{stop}"
        )
    detect, worst = s.alarm_detection_s, s.worst_detection_s
    if s.shift_kind in ("all at once", "rolling"):
        exposure = f"100% of traffic exposed for the {detect} s the alarms need"
    elif s.interval_min * 60 > worst:
        exposure = (
            f"a fault is caught at {s.percent:g}% (alarms fire in {detect}-{worst} s, "
            f"within the {s.interval_min} min step)"
        )
    else:
        exposure = (
            f"alarms ({detect}-{worst} s) may be slower than the {s.interval_min} min step: more traffic shifts first"
        )
    after = (
        "rollback stays a listener switch for faults seen only at 100%"
        if s.wait_min * 60 > worst
        else "a fault seen only at 100% may need a new deployment"
    )
    return f"{exposure}; {after}"


def _sources() -> list[tuple[str, Template | None, Settings | None]]:
    alternative = ecs_codedeploy()
    rows: list[tuple[str, Template | None, Settings | None]] = [
        ("blue_green_ecs, CodeDeploy, defaults (`cdk deploy` runs the deployment)", ours(stacks.CONSTRUCT), None),
        (
            "blue_green_ecs, CodeDeploy, `deploy_on_update=False` (a pipeline starts it)",
            ours(stacks.CONSTRUCT_LEAN),
            None,
        ),
        ("blue_green_ecs, `engine=ECS_NATIVE`", ours(stacks.CONSTRUCT_ECS), None),
        ("aws-cdk-lib ecs-patterns `ApplicationLoadBalancedFargateService`, defaults", ours(stacks.ECS_PATTERNS), None),
    ]
    label = "@cdklabs/cdk-ecs-codedeploy `ApplicationLoadBalancedCodeDeployedFargateService`, defaults"
    if alternative is not None:
        rows.append((label, alternative.by_services[1], None))
    else:
        # From its source (src/ecs-patterns/...-codedeployed-fargate-service.ts and
        # src/ecs-deployment-provider/index.ts): ALL_AT_ONCE, 10-minute termination wait, ELB's
        # health check and drain, 15 s query interval, no alarms unless API test steps are given.
        rows.append(
            (
                label,
                None,
                Settings(
                    "CodeDeploy",
                    "all at once",
                    100.0,
                    0,
                    ELB_INTERVAL_S,
                    ELB_HEALTHY_THRESHOLD,
                    60,
                    ELB_DRAIN_S,
                    10,
                    15,
                    None,
                ),
            )
        )
    return rows


def measure() -> list[tuple[str, Timeline]]:
    result = []
    for label, template, given in _sources():
        s = given if given is not None else settings(template)  # type: ignore[arg-type]
        result.append((label, timeline(s)))
    return result


def levers(defaults: Timeline) -> list[list[str]]:
    """Candidate faster defaults for the construct, with what each saves and what it would risk."""
    s = defaults.settings
    detect, worst = s.alarm_detection_s or 0, s.worst_detection_s or 0
    candidates = [
        (
            "deployment trigger query interval (defaults.TRIGGER_QUERY_INTERVAL_SECONDS)",
            f"{s.poll_s} s",
            "10 s",
            timeline(replace(s, poll_s=10)),
            "none for the deployment; 1.5 times the isComplete polls of 15 s (30 s was lowered to 15 s after this "
            "model: up to 15 s less per `cdk deploy` for cents a month)",
            "keep 15 s: 5 s more is not worth 50% more polls",
        ),
        (
            "health check interval (timeout)",
            f"{s.health_interval_s} s (5 s)",
            "5 s (4 s)",
            timeline(replace(s, health_interval_s=5)),
            "twice the health-check requests; a 4 s timeout fails slow health endpoints; keeping the 30 s "
            "unhealthy tolerance needs unhealthy threshold 6",
            "keep: 10 s of a 12-minute deployment",
        ),
        (
            "termination wait",
            f"{s.wait_min} min",
            f"{s.wait_min - 1} min",
            timeline(replace(s, wait_min=s.wait_min - 1)),
            f"alarms need {detect} s, up to {worst} s when the fault starts just after a period begins; "
            f"{s.wait_min - 1} min leaves no time for CodeDeploy to act before blue is gone",
            "keep",
        ),
        (
            "canary interval",
            f"{s.interval_min} min",
            f"{s.interval_min - 1} min",
            timeline(replace(s, interval_min=s.interval_min - 1)),
            "same margin as above, and no predefined CodeDeploy configuration (one more resource)",
            "keep",
        ),
        (
            "rollback alarms, then canary interval and termination wait",
            f"2 of 2 one-minute periods; {s.interval_min} min and {s.wait_min} min",
            f"1 of 1; {s.interval_min - 1} min and {s.wait_min - 1} min",
            timeline(replace(s, interval_min=s.interval_min - 1, wait_min=s.wait_min - 1)),
            "one bad minute (a burst of 5xx from a cold cache, one target failing a check) rolls the deployment back",
            "keep",
        ),
        (
            "deregistration delay",
            f"{s.drain_s} s",
            "0 s",
            timeline(replace(s, drain_s=0)),
            "blue has had no production traffic for the whole termination wait, but the same delay protects "
            "in-flight requests when tasks scale in or are replaced outside deployments",
            "keep",
        ),
    ]
    return [
        [name, now, then, minutes_seconds(t.total_s), f"{defaults.total_s - t.total_s} s", risk, decision]
        for name, now, then, t, risk, decision in candidates
    ]


def markdown(rows: list[tuple[str, Timeline]]) -> str:
    body = []
    for label, t in rows:
        s = t.settings
        cdk_deploy = (
            "returns before the deployment starts"
            if s.engine == "CodeDeploy" and s.poll_s is None
            else minutes_seconds(t.total_s)
        )
        body.append(
            [
                label,
                s.shift,
                f"{t.green_healthy_s} s ({TASK_START_S} + {s.health_interval_s} x {s.healthy_threshold})",
                minutes_seconds(t.shift_s),
                minutes_seconds(t.wait_s),
                f"{t.drain_s} s",
                f"{t.poll_s} s" if s.poll_s else "-",
                f"**{minutes_seconds(t.deployment_s)}**",
                cdk_deploy,
                safety(s),
            ]
        )
    headers = [
        "",
        "traffic shift",
        "green healthy",
        "shift",
        "termination wait / bake",
        "drain",
        "trigger poll (worst)",
        "deployment",
        "`cdk deploy` waits",
        "safety",
    ]
    ours_defaults = rows[0][1]
    lever_table = table(
        ["default", "now", "candidate", "deployment + poll", "saves", "what it would risk", "decision"],
        levers(ours_defaults),
    )
    return "\n".join(
        [
            table(headers, body),
            "",
            f"The construct's defaults take {minutes_seconds(ours_defaults.total_s)} from the start of the "
            "deployment to `cdk deploy` returning; of that, "
            f"{minutes_seconds(ours_defaults.shift_s + ours_defaults.wait_s)} are the canary interval and the "
            "termination wait, which exist so that the rollback alarms can fire while only the canary share is "
            "exposed, and again while blue can still take the traffic back.",
            "",
            f"What the deployment trigger adds to `cdk deploy`: it makes `cdk deploy` wait for the deployment "
            f"and fail with CodeDeploy's reason ({minutes_seconds(ours_defaults.total_s)} instead of returning "
            "before the deployment starts), and after the deployment ends it adds at most one query interval "
            f"({ours_defaults.poll_s} s; {ours_defaults.poll_s / 2:g} s on average) until its next poll sees it. "
            "A stack update that leaves the service as it is (and the first create, and a delete) costs one "
            "Lambda invocation: the trigger's function decides and polls once before answering CloudFormation, "
            "without starting its waiter. aws-cdk-lib's Provider framework (which cdk-ecs-codedeploy uses) runs "
            "four invocations and a state machine execution for the same answer: its onEvent and the handler's, "
            "then its isComplete and the handler's.",
            "",
            "Faster defaults considered (the construct's CodeDeploy defaults as the starting point):",
            "",
            lever_table,
        ]
    )


ASSUMPTIONS = "\n".join(
    f"- {line}"
    for line in (
        f"A new task takes {TASK_START_S} s from launch to its first health check (Fargate capacity, ENI, image "
        "pull, container start); the same for every row.",
        "A target is healthy after `healthy threshold` consecutive passes, `interval` apart. The health-check "
        "grace period is not added: ELB marks a target healthy regardless of it; the grace only delays ECS acting "
        "on failing checks.",
        "The traffic shift takes one interval for a canary, `(ceil(100 / p) - 1)` intervals for linear steps of "
        "p%, nothing all at once; a rolling update moves traffic as each new task turns healthy.",
        "The deployment ends when the old tasks have drained for the deregistration delay after the termination "
        "wait (CodeDeploy) or bake time (ECS); drain is counted in full on that path, an upper bound.",
        "With the CodeDeploy engine the deployment trigger learns of the end on its next poll: at worst one query "
        "interval (read from the provider's state machine in the template), on average half. Without it "
        "(`deploy_on_update=False`), `cdk deploy` returns once the task definition is registered and a pipeline "
        "runs the deployment.",
        "Control-plane reaction times (CloudFormation, ECS and CodeDeploy noticing a state change, Lambda cold "
        "starts of a second or two) are not modelled; they are alike for every row.",
        f"Rollback alarms fire `datapoints to alarm x period + {METRIC_DELAY_S} s` (CloudWatch ingestion delay) "
        "after a fault starts; up to one period more when the fault starts just after a period begins.",
        f"Target group settings the template leaves out take ELB's defaults: {ELB_INTERVAL_S} s interval, healthy "
        f"threshold {ELB_HEALTHY_THRESHOLD}, {ELB_DRAIN_S} s deregistration delay.",
    )
)


def main() -> None:
    print(markdown(measure()))
    print()
    print(ASSUMPTIONS)


if __name__ == "__main__":
    main()
