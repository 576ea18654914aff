"""``status``, ``approve``, ``reject``, ``rollback`` and ``watch``: a hand on a deployment in flight (docs/cli.md).

A service is found through CloudFormation: ``DescribeStackResources`` of ``--stack`` and the resources
whose logical ids the construct path gives (CDK's logical id is the path below the stack, letters and
digits only, followed by an 8-character hash; the stack's construct metadata is not deployed, so the
ids are the key). Or, for an ECS-native service, ``--cluster`` and ``--service``.

CodeDeploy engine: the group's active deployment (``ListDeployments``/``GetDeployment``), its task sets'
traffic weights and lifecycle events (``ListDeploymentTargets``/``BatchGetDeploymentTargets``), the
group's alarms (``GetDeploymentGroup``, ``DescribeAlarms``); rollback is ``StopDeployment`` with
``autoRollbackEnabled``. ECS-native engine: the service deployments API (``ListServiceDeployments``,
``DescribeServiceDeployments``, ``StopServiceDeployment`` with ``stopType=ROLLBACK``). ``approve`` and ``reject``
answer a deployment waiting for approval, on either engine (cli/approvals.py).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from ..handlers import rollback_reason
from . import access, next_step
from .approvals import approve as approve  # re-exported: callers name every command of a deployment in flight here
from .approvals import reject as reject
from .assembly import logical_prefix
from .errors import CliError as CliError  # re-exported: callers catch deployments.CliError
from .states import ACTIVE as ACTIVE
from .states import ECS_ACTIVE as ECS_ACTIVE
from .states import ECS_EXIT as ECS_EXIT
from .states import ECS_ROLLING_BACK as ECS_ROLLING_BACK
from .states import NOT_SUCCEEDED as NOT_SUCCEEDED
from .states import NOTHING_TO_DO as NOTHING_TO_DO
from .states import ROLLBACK_NOT_SUCCEEDED as ROLLBACK_NOT_SUCCEEDED
from .states import Target as Target
from .states import active_codedeploy as _active_codedeploy
from .states import active_ecs as _active_ecs
from .states import ecs_deployment as _ecs_deployment
from .states import get_deployment as _get_deployment
from .states import tail as _tail

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The default clock of ``status`` and ``watch``; tests pass a fixed one."""
    return datetime.now(UTC)


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


def _rolls_back(info: Mapping[str, Any]) -> str | None:
    """The deployment a CodeDeploy rollback deployment rolls back (``rollbackTriggeringDeploymentId``)."""
    triggering = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
    return str(triggering) if triggering else None


def _ecs_lines(deployment: Mapping[str, Any], now: datetime) -> list[str]:
    """A service deployment: its status and stage, why, its rollback, what comes next while it rolls out, alarms."""
    state = str(deployment.get("status"))
    lines = [f"deployment {_tail(str(deployment.get('serviceDeploymentArn', '?')))}: {state}"]
    if deployment.get("lifecycleStage"):
        lines.append(f"  stage: {deployment['lifecycleStage']}")
    if deployment.get("statusReason"):
        lines.append(f"  reason: {deployment['statusReason']}")
    rollback = deployment.get("rollback") or {}
    if rollback:
        revision = f"service revision {_tail(str(rollback.get('serviceRevisionArn') or '?'))}"
        done = {
            "ROLLBACK_SUCCESSFUL": f"rolled back to {revision}",
            "ROLLBACK_FAILED": f"rollback to {revision} failed",
        }
        lines.append(f"  {done.get(state, f'rolling back to {revision}')}: {rollback.get('reason') or 'no reason'}")
    if state in ("PENDING", "IN_PROGRESS"):
        lines += next_step.ecs_lines(dict(deployment), now)
    alarms = deployment.get("alarms") or {}
    if alarms:
        triggered = ", ".join(alarms.get("triggeredAlarmNames") or []) or "none"
        lines.append(f"  alarms: {alarms.get('status')} (triggered: {triggered})")
    return lines


def _reason(info: Mapping[str, Any], indent: str = "  ") -> list[str]:
    """Why a CodeDeploy deployment failed or stopped (``errorInformation``); for alarms, the alarms' names."""
    error = info.get("errorInformation") or {}
    code, message = error.get("code"), str(error.get("message") or "")
    if not code and not message:
        return []
    names = rollback_reason.alarm_names(message) if code == "ALARM_ACTIVE" else []
    if names:
        return [f"{indent}reason: ALARM_ACTIVE (activated alarms: {', '.join(names)})"]
    return [f"{indent}reason: {code or 'no code'}: {message or 'no message'}"]


def _codedeploy_lines(clients: Mapping[str, Any], target: Target, info: Mapping[str, Any], now: datetime) -> list[str]:
    """A CodeDeploy deployment in flight: task sets, lifecycle events, the next step, the group's alarms."""
    deployment_id = info["deploymentId"]
    rolled_back = _rolls_back(info)
    of = f" (rollback of deployment {rolled_back})" if rolled_back else ""
    lines = [f"deployment {deployment_id}: {info['status']}{of}"]
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
            upcoming = next_step.codedeploy_next(dict(info), ecs_target, routing, now)
            if upcoming is not None:
                lines.append(upcoming)
    if info["status"] == "Ready":
        lines.append(f"  waiting for approval: blue-green-ecs approve (or reject); deployment {deployment_id}")
    group = codedeploy.get_deployment_group(applicationName=target.application, deploymentGroupName=target.group)
    names = [a["name"] for a in group["deploymentGroupInfo"].get("alarmConfiguration", {}).get("alarms", [])]
    if names:
        # Without AlarmTypes DescribeAlarms answers metric alarms only (CloudWatch API Reference, DescribeAlarms).
        alarms = clients["cloudwatch"].describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        for alarm in [*alarms.get("MetricAlarms", []), *alarms.get("CompositeAlarms", [])]:
            lines.append(f"  alarm {alarm['AlarmName']}: {alarm['StateValue']}")
    return lines


def _idle(target: Target) -> str:
    if target.engine == "ecs":
        return f"ECS service {target.service} in cluster {target.cluster}: no deployment in progress"
    return f"deployment group {target.group}: no deployment in progress"


def status(clients: Mapping[str, Any], target: Target, *, now: Clock = utc_now) -> tuple[list[str], str | None]:
    """Lines describing the current deployment, and its status (``None``: no deployment in flight).

    The lines include the time to the next step (``next_step``), measured against ``now()``; a rollback in
    flight says what it rolls back (CodeDeploy: a deployment of its own; ECS: the same service deployment).
    """
    if target.engine == "ecs":
        summary = _active_ecs(clients, target)
        if summary is None:
            return [_idle(target)], None
        deployment = _ecs_deployment(clients, str(summary["serviceDeploymentArn"]))
        return _ecs_lines(deployment, now()), str(deployment.get("status"))
    info = _active_codedeploy(clients, target)
    if info is None:
        return [_idle(target)], None
    return _codedeploy_lines(clients, target, info, now()), str(info["status"])


def rollback(clients: Mapping[str, Any], target: Target) -> str:
    """Stop the deployment in flight and roll back to the previous version; a rollback in flight is left alone."""
    if target.engine == "ecs":
        summary = _active_ecs(clients, target)
        if summary is None:
            raise CliError("Nothing to roll back: no deployment in progress.", NOTHING_TO_DO)
        arn, state = str(summary["serviceDeploymentArn"]), summary.get("status")
        if state in ECS_ROLLING_BACK:
            raise CliError(
                f"Nothing to roll back: deployment {_tail(arn)} is already rolling back ({state}).", NOTHING_TO_DO
            )
        if state == "STOP_REQUESTED":
            # StopServiceDeployment in STOP_REQUESTED: "The service deployment continues to stop." (ECS Developer
            # Guide, Stopping Amazon ECS service deployments)
            raise CliError(
                f"Nothing to roll back: deployment {_tail(arn)} is already being stopped (STOP_REQUESTED): ECS would "
                "only go on stopping it.",
                NOTHING_TO_DO,
            )
        clients["ecs"].stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
        return f"rolling back deployment {_tail(arn)}"
    info = _active_codedeploy(clients, target)
    if info is None:
        raise CliError("Nothing to roll back: no deployment in progress.", NOTHING_TO_DO)
    rolled_back = _rolls_back(info)
    if rolled_back:
        raise CliError(
            f"Nothing to roll back: deployment {info['deploymentId']} is already rolling back deployment "
            f"{rolled_back}.",
            NOTHING_TO_DO,
        )
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
    """Follow the deployment in flight to its end and return how it ended (the exit codes of docs/cli.md).

    The watched deployment is the one in flight when the watch starts (for a CodeDeploy rollback deployment,
    the deployment it rolls back). Its outcome is the exit code: a CodeDeploy rollback is a deployment of its
    own, which the watch follows to its end, still reporting the watched one (rolled back: 3; the rollback did
    not succeed: 4). A redrawn view on a terminal, plain lines otherwise, printed again only when something
    other than a countdown changed.
    """
    out = out or sys.stdout
    tty = bool(getattr(out, "isatty", lambda: False)())
    known: Mapping[str, Any] | None = None
    if target.engine == "ecs":
        summary = _active_ecs(clients, target)
        watched = str(summary["serviceDeploymentArn"]) if summary else None
    else:
        known = _active_codedeploy(clients, target)
        watched = (_rolls_back(known) or str(known["deploymentId"])) if known else None
    if watched is None:
        out.write(_idle(target) + "\n")
        out.flush()
        return 0
    last: list[str] | None = None
    while True:
        if target.engine == "ecs":
            lines, code = _poll_ecs(clients, watched, now())
        else:
            lines, code = _poll_codedeploy(clients, target, watched, now(), known)
            known = None  # an answer of the first poll only
        if tty:
            out.write("\x1b[2J\x1b[H" + "\n".join(lines) + "\n")
        elif last is None or next_step.without_countdowns(lines) != next_step.without_countdowns(last):
            out.write("\n".join(lines) + "\n")
        out.flush()
        last = lines
        if code is not None:
            return code
        sleep(interval)


def _poll_ecs(clients: Mapping[str, Any], arn: str, now: datetime) -> tuple[list[str], int | None]:
    """The watched service deployment's lines, and its exit code once it is no longer in flight."""
    deployment = _ecs_deployment(clients, arn)
    state = str(deployment.get("status"))
    # A status this code does not know (one ECS adds) is final and not known to have succeeded.
    code = None if state in ECS_ACTIVE else ECS_EXIT.get(state, NOT_SUCCEEDED)
    return _ecs_lines(deployment, now), code


def _poll_codedeploy(
    clients: Mapping[str, Any], target: Target, watched: str, now: datetime, known: Mapping[str, Any] | None
) -> tuple[list[str], int | None]:
    """The watched deployment's lines (while it rolls back, with its rollback's), and its exit code once it ended.

    ``known`` is a GetDeployment answer of this poll already fetched (the watched deployment or its rollback).
    """

    def get(deployment_id: str) -> Mapping[str, Any]:
        if known is not None and known["deploymentId"] == deployment_id:
            return known
        return _get_deployment(clients, deployment_id)

    info = get(watched)
    state = str(info["status"])
    if state in ACTIVE:
        return _codedeploy_lines(clients, target, info, now), None
    lines = [f"deployment {watched}: {state}"]
    if state == "Succeeded":
        return lines, 0
    lines += _reason(info)
    rollback_info = info.get("rollbackInfo") or {}
    rollback_id = rollback_info.get("rollbackDeploymentId")
    if not rollback_id:
        # No rollback deployment: the message says why (for example, that the deployment can't be rolled back).
        if rollback_info.get("rollbackMessage"):
            lines.append(f"  rollback: {rollback_info['rollbackMessage']}")
        return lines, NOT_SUCCEEDED
    rollback = get(str(rollback_id))
    rollback_state = str(rollback["status"])
    lines.append(f"  rollback: deployment {rollback_id} {rollback_state}")
    if rollback_state in ACTIVE:
        return lines + _codedeploy_lines(clients, target, rollback, now)[1:], None
    if rollback_state == "Succeeded":
        return lines, NOT_SUCCEEDED
    return lines + _reason(rollback, indent="    "), ROLLBACK_NOT_SUCCEEDED


COMMANDS = {
    "status": "the current deployment: status, traffic split, time to the next step, lifecycle hooks, alarm states",
    "approve": "continue a deployment waiting for approval (deployment_approval_wait_time)",
    "reject": "roll back a deployment waiting for approval (deployment_approval_wait_time)",
    "rollback": "stop the deployment in flight and roll back to the previous version",
    "watch": "show the status until the deployment ends (exit 3 when it did not succeed, 4 when its rollback did "
    "not either)",
}


def add_commands(commands: Any) -> None:
    """The commands and their shared way of naming a service."""
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
    """Run one of the commands of a deployment in flight; returns the exit code.

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
        elif args.command == "reject":
            print(reject(clients, target))
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
