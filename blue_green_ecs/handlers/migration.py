"""Built-in migration task: a lifecycle hook that runs the NEW task definition once, with a command override.

Before the replacement (green) tasks take traffic, this hook runs one task of the deployment's new task
definition (the green revision's, not the one the stack had before) with ``COMMAND`` in place of the
container's command, in the service's cluster, subnets and security groups, waits for it to stop and fails
the deployment when the essential container exits non-zero or the task never ran (its ``stopCode`` and
``stoppedReason``), with the container's CloudWatch Logs link (awslogs: the stream is
``prefix/container/task-id``) in the reason.

Which task definition: under CodeDeploy, ``GetDeployment``'s ``revision.appSpecContent`` (the AppSpec the
deployment handler sent: JSON, ``Resources[0].*.Properties.TaskDefinition``); under Amazon ECS native
blue/green, ``DescribeServiceRevisions`` of the event's ``executionDetails.targetServiceRevisionArn``
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html).

Once per deployment: the task is started with ``startedBy`` naming the deployment (CodeDeploy's deployment id,
or a digest of the target service revision under ECS); every invocation first looks for it with ``ListTasks``
(running and stopped), so a re-invocation polls the task it started instead of starting another.

Waiting: under ECS the hook returns ``{"hookStatus": "IN_PROGRESS", "callBackDelay": POLL_SECONDS}`` while the
task runs, and ECS invokes it again after that delay
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html). Under
CodeDeploy the function polls until less than a minute of its own time is left, then invokes itself again
asynchronously with the same event (``lambda:InvokeFunction`` on its own ARN), so a migration may take up to
``TIMEOUT_SECONDS`` (at most CodeDeploy's one-hour hook limit) although a Lambda runs 15 minutes at most.
A task still running after ``TIMEOUT_SECONDS`` is stopped (``StopTask``) and fails the deployment.

Environment variables: ``CLUSTER``, ``SUBNETS`` and ``SECURITY_GROUPS`` (comma separated), ``ASSIGN_PUBLIC_IP``
(``ENABLED``/``DISABLED``, default ``DISABLED``), ``PLATFORM_VERSION`` (default ``LATEST``),
``CAPACITY_PROVIDER_STRATEGY`` (JSON list as RunTask takes it; default: launch type ``FARGATE``),
``CONTAINER_NAME``, ``COMMAND`` (JSON list of strings), ``ENVIRONMENT`` (JSON object, default ``{}``),
``TIMEOUT_SECONDS`` (default 3000), ``POLL_SECONDS`` (default 15).
"""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    lifecycle_hook = importlib.import_module(f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook")

# startedBy: up to 128 letters, numbers, hyphens and underscores (ECS RunTask API reference).
_STARTED_BY_PREFIX = "blue-green-ecs-migration-"
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Under CodeDeploy, hand over to a fresh invocation when less than this much of the function's time is left.
_HANDOVER_MARGIN_MS = 60_000


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.migration", "action": action, **fields}, default=str))


def _json(environ: Mapping[str, str], name: str, default: str, kind: type) -> Any:
    raw = environ.get(name, "").strip() or default
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(f"Environment variable {name} must be JSON, got {raw!r}") from None
    if not isinstance(value, kind):
        raise ValueError(f"Environment variable {name} must be a JSON {kind.__name__}, got {raw!r}")
    return value


def _list(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in environ.get(name, "").split(",") if part.strip())


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"Environment variable {name} must be an integer, got {raw!r}") from None
    if value < 1:
        raise ValueError(f"Environment variable {name} must be at least 1, got {raw!r}")
    return value


@dataclass(frozen=True)
class MigrationConfig:
    """Where and what to run."""

    cluster: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    container_name: str
    command: tuple[str, ...]
    environment: Mapping[str, str] = field(default_factory=dict)
    assign_public_ip: str = "DISABLED"
    platform_version: str = "LATEST"
    capacity_provider_strategy: tuple[Mapping[str, Any], ...] = ()
    timeout_seconds: int = 3000
    poll_seconds: int = 15

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> MigrationConfig:
        """Read the configuration; a ValueError names the faulty variable."""
        for name in ("CLUSTER", "SUBNETS", "CONTAINER_NAME", "COMMAND"):
            if not environ.get(name, "").strip():
                raise ValueError(f"Environment variable {name} must be set")
        command = _json(environ, "COMMAND", "[]", list)
        if not command or not all(isinstance(part, str) for part in command):
            raise ValueError(f"Environment variable COMMAND must be a non-empty JSON list of strings, got {command!r}")
        environment = _json(environ, "ENVIRONMENT", "{}", dict)
        if not all(isinstance(value, str) for value in environment.values()):
            raise ValueError("Environment variable ENVIRONMENT must map names to strings")
        assign = environ.get("ASSIGN_PUBLIC_IP", "").strip() or "DISABLED"
        if assign not in ("ENABLED", "DISABLED"):
            raise ValueError(f"Environment variable ASSIGN_PUBLIC_IP must be ENABLED or DISABLED, got {assign!r}")
        return cls(
            cluster=environ["CLUSTER"].strip(),
            subnets=_list(environ, "SUBNETS"),
            security_groups=_list(environ, "SECURITY_GROUPS"),
            container_name=environ["CONTAINER_NAME"].strip(),
            command=tuple(command),
            environment=environment,
            assign_public_ip=assign,
            platform_version=environ.get("PLATFORM_VERSION", "").strip() or "LATEST",
            capacity_provider_strategy=tuple(_json(environ, "CAPACITY_PROVIDER_STRATEGY", "[]", list)),
            timeout_seconds=_int(environ, "TIMEOUT_SECONDS", 3000),
            poll_seconds=_int(environ, "POLL_SECONDS", 15),
        )


@dataclass(frozen=True)
class Outcome:
    """``done`` False: the task still runs. Otherwise ``passed`` and the reason."""

    done: bool
    passed: bool = False
    reason: str = ""


def started_by(deployment_key: str) -> str:
    """The task's ``startedBy``, unique to the deployment (CodeDeploy id or ECS target revision)."""
    if re.fullmatch(r"d-[A-Z0-9]+", deployment_key):
        return _STARTED_BY_PREFIX + deployment_key
    return _STARTED_BY_PREFIX + hashlib.sha256(deployment_key.encode()).hexdigest()[:40]


def task_definition_from_appspec(content: str) -> str:
    """The TaskDefinition of the AppSpec CodeDeploy holds for the deployment (JSON, as the library sends it)."""
    try:
        appspec = json.loads(content)
        resources = appspec["Resources"]
        (properties,) = (next(iter(resource.values()))["Properties"] for resource in resources[:1])
        task_definition = properties["TaskDefinition"]
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, StopIteration, AttributeError):
        raise lifecycle_hook.HookFailedError(
            "The deployment's AppSpec names no TaskDefinition the migration could read (a JSON AppSpec with "
            "Resources[0].<name>.Properties.TaskDefinition is expected)"
        ) from None
    if not isinstance(task_definition, str) or not task_definition:
        raise lifecycle_hook.HookFailedError("The deployment's AppSpec has an empty TaskDefinition")
    return task_definition


def codedeploy_task_definition(codedeploy: Any, deployment_id: str) -> str:
    """The new task definition of a CodeDeploy deployment (its AppSpec revision)."""
    revision = codedeploy.get_deployment(deploymentId=deployment_id)["deploymentInfo"].get("revision", {})
    content = revision.get("appSpecContent", {}).get("content") or revision.get("string", {}).get("content")
    if not content:
        raise lifecycle_hook.HookFailedError(
            f"Deployment {deployment_id} has no inline AppSpec (revision type {revision.get('revisionType')!r}): "
            "the migration reads the task definition from AppSpecContent"
        )
    return task_definition_from_appspec(content)


def ecs_task_definition(ecs: Any, target_revision_arn: str) -> str:
    """The task definition of the service revision an ECS deployment moves to."""
    revisions = ecs.describe_service_revisions(serviceRevisionArns=[target_revision_arn])["serviceRevisions"]
    if not revisions or not revisions[0].get("taskDefinition"):
        raise lifecycle_hook.HookFailedError(f"Service revision {target_revision_arn} was not found")
    return str(revisions[0]["taskDefinition"])


def find_task(ecs: Any, config: MigrationConfig, tag: str) -> Mapping[str, Any] | None:
    """The task this deployment started, running or stopped, if any."""
    arns: list[str] = []
    for status in ("RUNNING", "STOPPED"):
        paginator = ecs.get_paginator("list_tasks")
        for page in paginator.paginate(cluster=config.cluster, startedBy=tag, desiredStatus=status):
            arns.extend(page.get("taskArns", []))
    if not arns:
        return None
    tasks = ecs.describe_tasks(cluster=config.cluster, tasks=arns[:100])["tasks"]
    # Oldest first: if two ever ran, the first one decides.
    tasks = sorted(tasks, key=lambda task: str(task.get("createdAt", "")))
    return tasks[0] if tasks else None


def run_task(ecs: Any, config: MigrationConfig, task_definition: str, tag: str) -> Mapping[str, Any]:
    """Start the one migration task."""
    override: dict[str, Any] = {"name": config.container_name, "command": list(config.command)}
    if config.environment:
        override["environment"] = [{"name": k, "value": v} for k, v in sorted(config.environment.items())]
    placement: dict[str, Any] = (
        {"capacityProviderStrategy": [dict(item) for item in config.capacity_provider_strategy]}
        if config.capacity_provider_strategy
        else {"launchType": "FARGATE"}
    )
    network: dict[str, Any] = {"subnets": list(config.subnets), "assignPublicIp": config.assign_public_ip}
    if config.security_groups:
        network["securityGroups"] = list(config.security_groups)
    response = ecs.run_task(
        cluster=config.cluster,
        taskDefinition=task_definition,
        count=1,
        startedBy=tag,
        platformVersion=config.platform_version,
        networkConfiguration={"awsvpcConfiguration": network},
        overrides={"containerOverrides": [override]},
        **placement,
    )
    if not response.get("tasks"):
        failures = "; ".join(
            f"{f.get('arn', '')}: {f.get('reason', '')} {f.get('detail', '')}".strip()
            for f in response.get("failures", [])
        )
        raise lifecycle_hook.HookFailedError(f"RunTask started no migration task: {failures or 'no reason given'}")
    task: Mapping[str, Any] = response["tasks"][0]
    log("started", task_arn=task.get("taskArn"), task_definition=task_definition, started_by=tag)
    return task


def log_link(ecs: Any, task: Mapping[str, Any], container_name: str, region: str) -> str:
    """The CloudWatch Logs console link of the container's awslogs stream, or "" without awslogs."""
    described = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])["taskDefinition"]
    for container in described.get("containerDefinitions", []):
        if container.get("name") != container_name:
            continue
        logging = container.get("logConfiguration") or {}
        options = logging.get("options") or {}
        if logging.get("logDriver") != "awslogs" or "awslogs-group" not in options:
            return ""
        task_id = str(task["taskArn"]).rsplit("/", 1)[-1]
        prefix = options.get("awslogs-stream-prefix")
        stream = f"{prefix}/{container_name}/{task_id}" if prefix else ""
        group_region = options.get("awslogs-region") or region

        def escape(text: str) -> str:
            # The console's fragment encodes twice and writes % as $.
            return urllib.parse.quote(urllib.parse.quote(text, safe=""), safe="").replace("%", "$")

        url = (
            f"https://{group_region}.console.aws.amazon.com/cloudwatch/home?region={group_region}"
            f"#logsV2:log-groups/log-group/{escape(options['awslogs-group'])}"
        )
        return f"{url}/log-events/{escape(stream)}" if stream else url
    return ""


def judge(task: Mapping[str, Any], config: MigrationConfig, now: datetime.datetime) -> Outcome:
    """Pass, fail or still running, from DescribeTasks' view of the task."""
    arn = task.get("taskArn", "")
    if task.get("lastStatus") != "STOPPED":
        created = task.get("createdAt")
        if isinstance(created, datetime.datetime) and (now - created).total_seconds() > config.timeout_seconds:
            return Outcome(True, False, f"Migration task {arn} still ran after {config.timeout_seconds} s")
        return Outcome(False)
    container = next((c for c in task.get("containers", []) if c.get("name") == config.container_name), None)
    exit_code = container.get("exitCode") if container else None
    if exit_code == 0:
        return Outcome(True, True, f"Migration task {arn} exited 0")
    if exit_code is not None:
        return Outcome(True, False, f"Migration task {arn}: container {config.container_name} exited {exit_code}")
    detail = (container or {}).get("reason") or ""
    return Outcome(
        True,
        False,
        f"Migration task {arn} stopped without an exit code of container {config.container_name} "
        f"(stopCode {task.get('stopCode', 'none')}: {task.get('stoppedReason', 'no reason given')}"
        f"{'; ' + detail if detail else ''})",
    )


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def step(
    ecs: Any,
    config: MigrationConfig,
    task_definition: Callable[[], str],
    tag: str,
    region: str,
    now: Callable[[], datetime.datetime] = _utc_now,
) -> Outcome:
    """One look at the migration: start it if this deployment has not, else judge the task (at ``now()``)."""
    task = find_task(ecs, config, tag)
    if task is None:
        run_task(ecs, config, task_definition(), tag)
        return Outcome(False)
    outcome = judge(task, config, now())
    if outcome.done and not outcome.passed and task.get("lastStatus") != "STOPPED":
        ecs.stop_task(cluster=config.cluster, task=task["taskArn"], reason="Migration timed out (blue-green-ecs)")
    if outcome.done and not outcome.passed:
        link = log_link(ecs, task, config.container_name, region)
        if link:
            return Outcome(True, False, f"{outcome.reason}. Logs: {link}")
    return outcome


def make_handler(
    *,
    environ: Mapping[str, str] | None = None,
    client: Callable[[str], Any] | None = None,
    now: Callable[[], datetime.datetime] = _utc_now,
    sleep: Callable[[float], None] = time.sleep,
) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    """The Lambda handler; the configuration is read on each invocation from ``environ`` (default os.environ).

    ``client`` makes a service's client (default: ``lifecycle_hook.hook_client``, looked up on each invocation);
    ``now`` and ``sleep`` are the clock the task's timeout and the polling run on."""

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        config = MigrationConfig.from_env(os.environ if environ is None else environ)
        make = client if client is not None else lifecycle_hook.hook_client
        ecs = make("ecs")
        region = str(ecs.meta.region_name)
        if isinstance(event, Mapping) and "LifecycleEventHookExecutionId" in event:
            return _codedeploy(event, context, config, ecs, region, make, now, sleep)
        if isinstance(event, Mapping) and isinstance(event.get("executionDetails"), Mapping):
            return _ecs(event, config, ecs, region, now)
        raise ValueError(
            "This function is a deployment lifecycle hook: its event must carry DeploymentId and "
            "LifecycleEventHookExecutionId (CodeDeploy) or executionDetails (Amazon ECS)"
        )

    return handler


def _guarded(run: Callable[[], Outcome]) -> Outcome:
    try:
        return run()
    except lifecycle_hook.HookFailedError as exc:
        return Outcome(True, False, str(exc))
    except Exception as exc:
        log("hook-error", error=f"{type(exc).__name__}: {exc}")
        return Outcome(True, False, f"{type(exc).__name__}: {exc}")


def _ecs(
    event: Mapping[str, Any],
    config: MigrationConfig,
    ecs: Any,
    region: str,
    now: Callable[[], datetime.datetime] = _utc_now,
) -> dict[str, Any]:
    target = str(event["executionDetails"].get("targetServiceRevisionArn") or "")
    if not target:
        outcome = Outcome(True, False, "The ECS hook event has no executionDetails.targetServiceRevisionArn")
    else:
        outcome = _guarded(
            lambda: step(ecs, config, lambda: ecs_task_definition(ecs, target), started_by(target), region, now)
        )
    if not outcome.done:
        log("waiting", engine="ecs", target_service_revision_arn=target, call_back_delay=config.poll_seconds)
        return {"hookStatus": "IN_PROGRESS", "callBackDelay": config.poll_seconds}
    status = "SUCCEEDED" if outcome.passed else "FAILED"
    log("reported", engine="ecs", target_service_revision_arn=target, status=status, reason=outcome.reason)
    return {"hookStatus": status}


def _codedeploy(
    event: Mapping[str, Any],
    context: Any,
    config: MigrationConfig,
    ecs: Any,
    region: str,
    client: Callable[[str], Any],
    now: Callable[[], datetime.datetime],
    sleep: Callable[[float], None],
) -> dict[str, Any]:
    deployment_id = str(event.get("DeploymentId") or "")
    execution_id = str(event["LifecycleEventHookExecutionId"])
    codedeploy = client("codedeploy")
    tag = started_by(deployment_id)
    while True:
        outcome = _guarded(
            lambda: step(ecs, config, lambda: codedeploy_task_definition(codedeploy, deployment_id), tag, region, now)
        )
        if outcome.done:
            break
        remaining = context.get_remaining_time_in_millis() if context is not None else 0
        if remaining < _HANDOVER_MARGIN_MS + config.poll_seconds * 1000:
            # Lambda runs 15 minutes at most; CodeDeploy waits an hour for the report: a fresh invocation
            # carries on polling the same task (found again by its startedBy).
            client("lambda").invoke(
                FunctionName=context.invoked_function_arn, InvocationType="Event", Payload=json.dumps(dict(event))
            )
            log("handed-over", engine="codedeploy", deployment_id=deployment_id)
            return {"DeploymentId": deployment_id, "Status": "InProgress", "Reason": "handed over"}
        sleep(config.poll_seconds)
    status = "Succeeded" if outcome.passed else "Failed"
    lifecycle_hook.report_status(codedeploy, deployment_id, execution_id, status)
    log("reported", engine="codedeploy", deployment_id=deployment_id, status=status, reason=outcome.reason)
    return {"DeploymentId": deployment_id, "Status": status, "Reason": outcome.reason}


handler = make_handler()
