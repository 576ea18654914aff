"""``status``, ``approve``, ``rollback`` and ``watch``: a hand on a deployment in flight (docs/cli.md).

A service is found through CloudFormation: ``DescribeStackResources`` of ``--stack`` and the resources
whose logical ids the construct path gives (CDK's logical id is the path below the stack, letters and
digits only, followed by an 8-character hash; the stack's construct metadata is not deployed, so the
ids are the key). Or, for an ECS-native service, ``--cluster`` and ``--service``.

CodeDeploy engine: the group's active deployment (``ListDeployments``/``GetDeployment``), its task sets'
traffic weights and lifecycle events (``ListDeploymentTargets``/``BatchGetDeploymentTargets``), the
group's alarms (``GetDeploymentGroup``, ``DescribeAlarms``); approve is ``ContinueDeployment`` with
``READY_WAIT``, rollback is ``StopDeployment`` with ``autoRollbackEnabled``. ECS-native engine: the
service deployments API (``ListServiceDeployments``, ``DescribeServiceDeployments``,
``StopServiceDeployment`` with ``stopType=ROLLBACK``).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import access, next_step
from .assembly import logical_prefix
from .errors import CliError as CliError  # re-exported: callers catch deployments.CliError

ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
ECS_ACTIVE = ["PENDING", "IN_PROGRESS"]
# Exit codes (docs/cli.md): 0 done, 1 error, 2 nothing to act on, 3 watched deployment did not succeed.
NOTHING_TO_DO = 2
NOT_SUCCEEDED = 3


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock of ``status`` and ``watch``; tests pass a fixed one."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Target:
    """A deployed service: its engine and what the APIs need."""

    engine: str  # "codedeploy" or "ecs"
    cluster: str = ""
    service: str = ""
    application: str = ""
    group: str = ""


def resolve(
    clients: Mapping[str, Any], *, stack: str = "", path: str = "", cluster: str = "", service: str = ""
) -> Target:
    """The service named by ``stack`` and construct ``path``, or (ECS-native) by ``cluster`` and ``service``."""
    if cluster and service:
        return Target("ecs", cluster=cluster, service=service)
    if not (stack and path):
        raise CliError("Name the service: --stack STACK --path CONSTRUCT_PATH, or --cluster CLUSTER --service SERVICE.")
    resources = clients["cloudformation"].describe_stack_resources(StackName=stack)["StackResources"]
    prefix = logical_prefix(path.split("/", 1)[1] if path.startswith(f"{stack}/") else path)

    def one(kind: str, child: str) -> dict[str, Any] | None:
        pattern = re.compile(rf"^{re.escape(prefix)}{child}[0-9A-F]{{8}}$")
        found = [r for r in resources if r["ResourceType"] == kind and pattern.match(r["LogicalResourceId"])]
        return found[0] if len(found) == 1 else None

    ecs_service = one("AWS::ECS::Service", "Service")
    if ecs_service is None:
        raise CliError(f"No blue/green service at construct path {path!r} in stack {stack!r}.")
    arn = ecs_service["PhysicalResourceId"]  # the service ARN: .../service/<cluster>/<name>
    cluster_name, service_name = arn.split("/")[-2:]
    group = one("AWS::CodeDeploy::DeploymentGroup", "DeploymentGroup")
    if group is None:
        return Target("ecs", cluster=cluster_name, service=service_name)
    # The application is shared by the stack's services (BlueGreenEcs/Application): the stack's only one.
    applications = [r for r in resources if r["ResourceType"] == "AWS::CodeDeploy::Application"]
    if len(applications) != 1:
        raise CliError(
            f"Stack {stack!r} has {len(applications)} CodeDeploy applications; cannot tell which one holds "
            f"deployment group {group['PhysicalResourceId']!r}."
        )
    return Target(
        "codedeploy",
        cluster=cluster_name,
        service=service_name,
        application=applications[0]["PhysicalResourceId"],
        group=group["PhysicalResourceId"],
    )


def _active_codedeploy(clients: Mapping[str, Any], target: Target) -> dict[str, Any] | None:
    ids = clients["codedeploy"].list_deployments(
        applicationName=target.application, deploymentGroupName=target.group, includeOnlyStatuses=ACTIVE
    )["deployments"]
    if not ids:
        return None
    info: dict[str, Any] = clients["codedeploy"].get_deployment(deploymentId=ids[0])["deploymentInfo"]
    return info


def _active_ecs(clients: Mapping[str, Any], target: Target) -> str | None:
    arns = clients["ecs"].list_service_deployments(cluster=target.cluster, service=target.service, status=ECS_ACTIVE)[
        "serviceDeployments"
    ]
    return str(arns[0]["serviceDeploymentArn"]) if arns else None


def status(clients: Mapping[str, Any], target: Target, *, now: Clock = utc_now) -> tuple[list[str], str | None]:
    """Lines describing the current deployment, and its status (``None``: no deployment in flight).

    The lines include the time to the next step (``next_step``), measured against ``now()``.
    """
    if target.engine == "ecs":
        arn = _active_ecs(clients, target)
        if arn is None:
            return [f"ECS service {target.service} in cluster {target.cluster}: no deployment in progress"], None
        [deployment] = clients["ecs"].describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
        lines = [f"deployment {arn.rsplit('/', 1)[-1]}: {deployment.get('status')}"]
        if deployment.get("lifecycleStage"):
            lines.append(f"  stage: {deployment['lifecycleStage']}")
        lines += next_step.ecs_lines(deployment, now())
        alarms = deployment.get("alarms") or {}
        if alarms:
            triggered = ", ".join(alarms.get("triggeredAlarmNames") or []) or "none"
            lines.append(f"  alarms: {alarms.get('status')} (triggered: {triggered})")
        return lines, str(deployment.get("status"))
    info = _active_codedeploy(clients, target)
    if info is None:
        return [f"deployment group {target.group}: no deployment in progress"], None
    deployment_id = info["deploymentId"]
    lines = [f"deployment {deployment_id}: {info['status']}"]
    codedeploy = clients["codedeploy"]
    targets = codedeploy.list_deployment_targets(deploymentId=deployment_id).get("targetIds", [])
    if targets:
        found = codedeploy.batch_get_deployment_targets(deploymentId=deployment_id, targetIds=targets[:25])
        for item in found.get("deploymentTargets", []):
            ecs_target = item.get("ecsTarget") or {}
            for task_set in ecs_target.get("taskSetsInfo", []):
                lines.append(
                    f"  {task_set.get('taskSetLabel', '?')}: {task_set.get('trafficWeight', 0):g}% of production "
                    f"traffic, {task_set.get('runningCount', 0)} running, {task_set.get('status')}"
                )
            for event in ecs_target.get("lifecycleEvents", []):
                lines.append(f"  {event.get('lifecycleEventName')}: {event.get('status')}")
            routing = None
            if next_step.shifting(ecs_target) and info.get("deploymentConfigName"):
                config = codedeploy.get_deployment_config(deploymentConfigName=info["deploymentConfigName"])
                routing = next_step.codedeploy_routing(config.get("deploymentConfigInfo") or {})
            upcoming = next_step.codedeploy_next(info, ecs_target, routing, now())
            if upcoming is not None:
                lines.append(upcoming)
    if info["status"] == "Ready":
        lines.append(f"  waiting for approval: blue-green-ecs approve (or rollback); deployment {deployment_id}")
    group = codedeploy.get_deployment_group(applicationName=target.application, deploymentGroupName=target.group)
    names = [a["name"] for a in group["deploymentGroupInfo"].get("alarmConfiguration", {}).get("alarms", [])]
    if names:
        # Without AlarmTypes DescribeAlarms answers metric alarms only (CloudWatch API Reference, DescribeAlarms).
        alarms = clients["cloudwatch"].describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for alarm in [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]:
            lines.append(f"  alarm {alarm['AlarmName']}: {alarm['StateValue']}")
    return lines, str(info["status"])


def approve(clients: Mapping[str, Any], target: Target) -> str:
    """Continue a CodeDeploy deployment waiting for approval (status Ready)."""
    if target.engine != "codedeploy":
        raise CliError("approve is for the CodeDeploy engine: ECS-native deployments have no approval wait.")
    info = _active_codedeploy(clients, target)
    if info is None or info["status"] != "Ready":
        state = (
            "no deployment in progress" if info is None else f"deployment {info['deploymentId']} is {info['status']}"
        )
        raise CliError(f"Nothing to approve: {state}; approve continues a deployment in status Ready.", NOTHING_TO_DO)
    clients["codedeploy"].continue_deployment(deploymentId=info["deploymentId"], deploymentWaitType="READY_WAIT")
    return f"approved deployment {info['deploymentId']}: traffic shifting continues"


def rollback(clients: Mapping[str, Any], target: Target) -> str:
    """Stop the deployment in flight and roll back to the previous version."""
    if target.engine == "ecs":
        arn = _active_ecs(clients, target)
        if arn is None:
            raise CliError("Nothing to roll back: no deployment in progress.", NOTHING_TO_DO)
        clients["ecs"].stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        return f"rolling back deployment {arn.rsplit('/', 1)[-1]}"
    info = _active_codedeploy(clients, target)
    if info is None:
        raise CliError("Nothing to roll back: no deployment in progress.", NOTHING_TO_DO)
    clients["codedeploy"].stop_deployment(deploymentId=info["deploymentId"], autoRollbackEnabled=True)
    return f"stopped deployment {info['deploymentId']} with rollback to the previous task set"


def watch(
    clients: Mapping[str, Any],
    target: Target,
    *,
    interval: float = 10,
    out: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Clock = utc_now,
) -> int:
    """Print the status until no deployment is in flight; a redrawn view on a terminal, plain lines otherwise.

    Plain lines are printed again only when something other than a countdown changed.
    """
    out = out or sys.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    last: str | None = None
    seen = ""
    while True:
        lines, state = status(clients, target, now=now)
        seen = lines[0].split(":")[0].removeprefix("deployment ") if state is not None else seen
        if state is None and seen:
            state = _final(clients, target, seen)
            lines = [f"deployment {seen}: {state}"]
        if tty:
            out.write("\x1b[2J\x1b[H" + "\n".join(lines) + "\n")
        elif last is None or _without_countdowns(lines) != _without_countdowns(last.split("\n")):
            out.write("\n".join(lines) + "\n")
        out.flush()
        last = "\n".join(lines)
        if state is None or state in ("Succeeded", "Failed", "Stopped", "SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL"):
            return 0 if state in (None, "Succeeded", "SUCCESSFUL") else NOT_SUCCEEDED
        sleep(interval)


_COUNTDOWN = re.compile(r"\b(?:\d+h\d{2}m|\d+m\d{2}s|\d+s)\b")


def _without_countdowns(lines: list[str]) -> list[str]:
    return [_COUNTDOWN.sub("...", line) for line in lines]


def _final(clients: Mapping[str, Any], target: Target, deployment: str) -> str:
    """How the watched deployment ended, once it is no longer in flight."""
    if target.engine == "codedeploy":
        return str(clients["codedeploy"].get_deployment(deploymentId=deployment)["deploymentInfo"]["status"])
    arns = clients["ecs"].list_service_deployments(cluster=target.cluster, service=target.service)["serviceDeployments"]
    arn = next((a["serviceDeploymentArn"] for a in arns if a["serviceDeploymentArn"].endswith(f"/{deployment}")), None)
    if arn is None:
        return "UNKNOWN"
    [found] = clients["ecs"].describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    return str(found.get("status"))


COMMANDS = {
    "status": "the current deployment: status, traffic split, time to the next step, lifecycle hooks, alarm states",
    "approve": "continue a CodeDeploy deployment waiting for approval (deployment_approval_wait_time)",
    "rollback": "stop the deployment in flight and roll back to the previous version",
    "watch": "show the status until the deployment ends (exit 3 when it did not succeed)",
}


def add_commands(commands: Any) -> None:
    """The four commands and their shared way of naming a service."""
    for name, summary in COMMANDS.items():
        parser = commands.add_parser(name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.")
        parser.add_argument("--stack", default="", help="stack name (with --path)")
        parser.add_argument("--path", default="", help="construct path of the service, e.g. Shop/Web or Web")
        parser.add_argument("--cluster", default="", help="ECS-native engine: cluster name (with --service)")
        parser.add_argument("--service", default="", help="ECS-native engine: service name (with --cluster)")
        parser.add_argument(
            "--region",
            default=None,
            help="AWS region (default: the stack's, when the cloud assembly gives one; else AWS_REGION, "
            "AWS_DEFAULT_REGION, the profile's region)",
        )
        parser.add_argument("--profile", default=None, help="AWS profile (default: AWS_PROFILE, else the default one)")
        parser.add_argument(
            "--assembly",
            default=None,
            metavar="DIR",
            help="cloud assembly to check --stack and --path against (default: cdk.json's output or cdk.out, "
            "when there is one)",
        )
        parser.add_argument("--no-assembly", action="store_true", help="check --stack and --path against no assembly")
        if name == "watch":
            parser.add_argument("--interval", type=float, default=10, help="seconds between polls (default: 10)")


def run(args: Any, clients: Mapping[str, Any] | None = None) -> int:
    """Run one of the four commands; returns the exit code.

    Nothing reaches AWS before the service's names are checked (the options, then the cloud assembly) and a
    region is found; botocore's errors about credentials are explained (``access``).
    """
    where: access.Where | None = None
    try:
        stack = access.checked_names(args)
        clients, where = (clients, access.given(clients)) if clients else access.connect(args, stack)
        target = resolve(clients, stack=args.stack, path=args.path, cluster=args.cluster, service=args.service)
        if args.command == "status":
            print("\n".join(status(clients, target)[0]))
        elif args.command == "approve":
            print(approve(clients, target))
        elif args.command == "rollback":
            print(rollback(clients, target))
        else:
            return watch(clients, target, interval=args.interval)
    except CliError as error:
        print(f"blue-green-ecs: {'error: ' if error.exit_code == 1 else ''}{error}", file=sys.stderr)
        return error.exit_code
    except access.aws_errors() as error:
        print(f"blue-green-ecs: error: {access.explain(error, where, args)}", file=sys.stderr)
        return 1
    return 0
