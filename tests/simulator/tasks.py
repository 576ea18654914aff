"""One-off ECS tasks (RunTask) and asynchronous Lambda invocations, for the built-in migration hook.

RunTask starts a task of a registered task definition in a cluster; it runs ``Aws.task_seconds`` of model time,
then stops with its essential container's exit code: ``Aws.exit_codes[command]`` for the command override it ran
(a model choice: the test says what a command exits with; 0 when not said), ``stopCode`` ``EssentialContainerExited``
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html). ListTasks finds tasks by ``startedBy`` and
``desiredStatus`` (a stopped task is listed for a while after it stopped: the model keeps it); DescribeTasks,
StopTask and DescribeTaskDefinition (the container definitions CloudFormation registered) answer from the same
state. DescribeServiceRevisions answers the ECS-native engine's revisions.

Lambda's Invoke with InvocationType Event queues the invocation; the model's clock runs it at its next step, as
Lambda runs an asynchronous invocation soon after accepting it
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .aws import ACCOUNT, REGION, Aws, AwsError
from .clients import Client, cluster_named


@dataclass
class Task:
    arn: str
    cluster: str
    task_definition: str
    started_by: str
    container: str
    command: tuple[str, ...]
    created: datetime
    stops: datetime
    stopped_reason: str = ""

    def describe(self, aws: Aws) -> dict[str, Any]:
        """The task as DescribeTasks answers it."""
        running = aws.now < self.stops and not self.stopped_reason
        described: dict[str, Any] = {
            "taskArn": self.arn,
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{self.cluster}",
            "taskDefinitionArn": self.task_definition,
            "startedBy": self.started_by,
            "createdAt": self.created,
            "lastStatus": "RUNNING" if running else "STOPPED",
            "desiredStatus": "RUNNING" if running else "STOPPED",
            "containers": [{"name": self.container, "lastStatus": "RUNNING" if running else "STOPPED"}],
        }
        if not running:
            if self.stopped_reason:
                described |= {"stopCode": "UserInitiated", "stoppedReason": self.stopped_reason}
            else:
                described |= {
                    "stopCode": "EssentialContainerExited",
                    "stoppedReason": "Essential container in task exited",
                }
                described["containers"][0]["exitCode"] = aws.exit_codes.get(self.command, 0)
            described["stoppedAt"] = min(self.stops, aws.now)
        return described


def add_operations(aws: Aws, operations: dict[str, Any], task_definitions: Mapping[str, Mapping[str, Any]]) -> None:
    """The task APIs on the ECS client's ``operations``; ``task_definitions``: ARN -> its registered definition."""

    def cluster_of(params: Mapping[str, Any]) -> str:
        return cluster_named(aws, params)

    def run_task(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster = cluster_of(params)
        definition = str(params["taskDefinition"])
        if definition not in task_definitions:
            raise AwsError("ClientException", f"Unable to find task definition '{definition}'.")
        [override] = (params.get("overrides") or {}).get("containerOverrides") or [{}]
        containers = task_definitions[definition].get("containerDefinitions") or [{}]
        container = str(override.get("name") or containers[0].get("name"))
        task = Task(
            arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/{cluster}/{aws.next_id():032x}",
            cluster=cluster,
            task_definition=definition,
            started_by=str(params.get("startedBy", "")),
            container=container,
            command=tuple(override.get("command") or containers[0].get("command") or ()),
            created=aws.now,
            stops=aws.now + timedelta(seconds=aws.task_seconds),
        )
        aws.tasks[task.arn] = task
        return {"tasks": [task.describe(aws)], "failures": []}

    def list_tasks(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster = cluster_of(params)
        wanted = params.get("desiredStatus", "RUNNING")
        found = [
            t.arn
            for t in aws.tasks.values()
            if t.cluster == cluster
            and (not params.get("startedBy") or t.started_by == params["startedBy"])
            and t.describe(aws)["desiredStatus"] == wanted
        ]
        return {"taskArns": found}

    def describe_tasks(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster_of(params)
        found = [aws.tasks[arn].describe(aws) for arn in params["tasks"] if arn in aws.tasks]
        failures = [{"arn": arn, "reason": "MISSING"} for arn in params["tasks"] if arn not in aws.tasks]
        return {"tasks": found, "failures": failures}

    def stop_task(params: Mapping[str, Any]) -> dict[str, Any]:
        cluster_of(params)
        task = aws.tasks.get(str(params["task"]))
        if task is None:
            raise AwsError("InvalidParameterException", "The referenced task was not found.")
        task.stopped_reason = str(params.get("reason") or "Task stopped by user")
        task.stops = min(task.stops, aws.now)  # stoppedAt: the model does not play the SIGTERM grace period
        return {"task": task.describe(aws)}

    def describe_task_definition(params: Mapping[str, Any]) -> dict[str, Any]:
        arn = str(params["taskDefinition"])
        if arn not in task_definitions:
            raise AwsError("ClientException", "Unable to describe task definition.")
        return {"taskDefinition": {"taskDefinitionArn": arn, **task_definitions[arn]}}

    def describe_service_revisions(params: Mapping[str, Any]) -> dict[str, Any]:
        from .ecs_native import revision_arn

        known: dict[str, str] = {}
        for revision in [*aws.revisions, *aws.finished_revisions]:
            for task_set in (revision.old, revision.new):
                known[revision_arn(revision.service, task_set)] = task_set.task_definition
        arns = params["serviceRevisionArns"]
        found = [{"serviceRevisionArn": a, "taskDefinition": known[a]} for a in arns if a in known]
        return {
            "serviceRevisions": found,
            "failures": [{"arn": a, "reason": "MISSING"} for a in arns if a not in known],
        }

    operations |= {
        "RunTask": run_task,
        "ListTasks": list_tasks,
        "DescribeTasks": describe_tasks,
        "StopTask": stop_task,
        "DescribeTaskDefinition": describe_task_definition,
        "DescribeServiceRevisions": describe_service_revisions,
    }


def lambda_client(aws: Aws) -> Any:
    """Invoke with InvocationType Event: queued, run at the clock's next step (``Aws.advance``)."""

    def invoke(params: Mapping[str, Any]) -> dict[str, Any]:
        if params.get("InvocationType") != "Event":
            raise AwsError("InvalidParameterValueException", "the simulator models asynchronous invocations only")
        payload = params.get("Payload") or b"{}"
        event = json.loads(payload if isinstance(payload, str | bytes) else payload.read())
        aws.queued_invocations.append((str(params["FunctionName"]), event))
        return {"StatusCode": 202}

    return Client(aws, "lambda", {"Invoke": invoke}).client
