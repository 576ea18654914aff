"""CodeDeploy's ECS blue/green deployment, step by step on the model's clock.

What happens, per "What happens during an Amazon ECS deployment"
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-steps-ecs.html):
1. a replacement task set is created with the AppSpec's task definition, network configuration and platform
   version, and its tasks are registered in the target group production does not use;
2. the test listener is rerouted to the replacement target group (AfterAllowTestTraffic);
3. production traffic shifts per the deployment configuration (canary: a weighted forward for the interval,
   then all; https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html);
4. after the termination wait the original task set is terminated and the deployment succeeds
   (``TerminateBlueInstancesOnDeploymentSuccess``,
   https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_BlueInstanceTerminationOption.html).
A rollback (an alarm in ALARM, or StopDeployment with autoRollbackEnabled) reroutes traffic to the original
task set and removes the replacement
(https://docs.aws.amazon.com/codedeploy/latest/userguide/deployments-rollback-and-redeploy.html); the
deployment ends Stopped with a rollback deployment that succeeds.
Assumption (not documented): after a rollback both listeners forward to the original target group only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..authorization.policy import Request
from ..authorization.service_calls import codedeploy_deployment_calls
from .aws import (
    ACCOUNT,
    READY,
    REGION,
    Aws,
    AwsError,
    Deployment,
    Group,
    TaskSet,
    forward,
    step_of,
    until_it_waits,
    weighted,
    weights_of,
)
from .hooks import FunctionError

# CodeDeploy waits an hour for a hook's status; Lambda retries a failed asynchronous invocation after 1, then 2 min.
HOOK_TIMEOUT = timedelta(hours=1)
LAMBDA_RETRY_SECONDS = (60, 120)

ACTIVE = ("Created", "Queued", "InProgress", "Baking", "Ready")


def camel(value: Any) -> Any:
    """AppSpec and CloudFormation spell keys in PascalCase, the ECS API in camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camel(item) for item in value]
    return value


def create(aws: Aws, group: Group, content: str, description: str) -> Deployment:
    """CreateDeployment: one active deployment per group
    (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_CreateDeployment.html, errors)."""
    active = [d for d in aws.deployments.values() if d.group is group and d.status in ACTIVE]
    if active:
        raise AwsError(
            "DeploymentLimitExceededException",
            f"The Deployment Group '{group.name}' already has an active Deployment '{active[0].id}'",
        )
    deployment = Deployment(
        id=f"d-SIM{aws.next_id():06d}",
        group=group,
        description=description,
        appspec=json.loads(content),
        create_time=aws.now,
        step_time=aws.now,
    )
    aws.deployments[deployment.id] = deployment
    _start(aws, deployment)
    return deployment


def _pair(aws: Aws, group: Group) -> list[str]:
    by_name = {name: arn for arn, name in aws.target_groups.items()}
    return [by_name[name] for name in group.target_group_names]


def _start(aws: Aws, deployment: Deployment) -> None:
    """What CreateDeployment checks before it answers: production on exactly one target group of the pair."""
    group = deployment.group
    pair = _pair(aws, group)
    weights = weights_of(aws.listeners[group.prod_listeners[0]].actions)
    live = [arn for arn, weight in weights.items() if weight > 0]
    if len(live) != 1 or live[0] not in pair:
        # Not documented: CodeDeploy needs production on exactly one of the group's target groups.
        _fail(aws, deployment, "INVALID_TARGET_GROUP_PAIR", f"production listener forwards to {weights}")
        return
    deployment.original = live[0]
    deployment.replacement = next(arn for arn in pair if arn != live[0])
    deployment.step = "BeforeInstall"
    _run(aws, deployment)


def _install(aws: Aws, deployment: Deployment) -> None:
    """Install: the replacement task set, registered in the target group production does not use."""
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    [primary] = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
    properties = deployment.appspec["Resources"][0]["TargetService"]["Properties"]
    info = properties["LoadBalancerInfo"]
    network = properties.get("NetworkConfiguration")
    service.task_sets.append(
        TaskSet(
            id=f"ecs-svc/{aws.next_id():019d}",
            status="ACTIVE",
            task_definition=properties["TaskDefinition"],
            target_group=deployment.replacement,
            network=camel(network) if network else primary.network,
            platform_version=properties.get("PlatformVersion") or primary.platform_version,
            container=(info["ContainerName"], int(info["ContainerPort"])),
            capacity_provider_strategy=camel(properties.get("CapacityProviderStrategy") or []),
        )
    )
    calls = _calls(aws, deployment, primary, service.task_sets[-1])
    refused = aws.authorize(group.service_role, "CodeDeploy (ECS blue/green deployment)", calls)
    if refused:
        # CodeDeploy's error code for a service role that lacks a permission (ErrorInformation, API reference).
        service.task_sets.pop()
        _fail(aws, deployment, "IAM_ROLE_PERMISSIONS", refused[0])
        return
    # Install ends when the replacement tasks are healthy.
    deployment.step, deployment.step_time = "installing", aws.now + READY


def _calls(aws: Aws, deployment: Deployment, original: TaskSet, replacement: TaskSet) -> list[Request]:
    """The calls CodeDeploy makes with the group's service role over the whole deployment, a rollback included
    (tests/authorization/service_calls.py documents each)."""
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    task_definition = replacement.task_definition
    listeners = group.prod_listeners + group.test_listeners
    # An AppSpec hook names a Lambda function by name or ARN; CodeDeploy invokes it in the deployment's region.
    hooks = [function for hook in deployment.appspec.get("Hooks", []) for function in hook.values()]
    return codedeploy_deployment_calls(
        cluster_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{service.cluster}",
        service_arn=service.arn,
        task_definition_arn=task_definition,
        original_task_set_arn=str(original.describe(service)["taskSetArn"]),
        replacement_task_set_arn=str(replacement.describe(service)["taskSetArn"]),
        task_definition_roles=aws.task_definition_roles.get(task_definition, []),
        listener_arns=listeners,
        rule_arns=[r.arn for r in aws.rules.values() if r.listener_arn in listeners],
        target_group_arns=[deployment.original, deployment.replacement],
        hook_function_arns=[
            h if h.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{h}" for h in hooks
        ],
        alarm_arns=[f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}" for name in group.alarms],
    )


def progress(aws: Aws, deployment: Deployment) -> None:
    """Move an InProgress (or Ready) deployment on to what ``aws.now`` allows."""
    group = deployment.group
    if deployment.step != "terminating" and aws.alarming & set(group.alarms):
        if deployment.hook is not None and deployment.hook.running:
            return  # the alarm is seen once the hook's invocation returns (the model runs one thing at a time)
        names = sorted(aws.alarming & set(group.alarms))
        # AWS documents the code ALARM_ACTIVE, not this message (ErrorInformation, CodeDeploy API Reference). Its form
        # is as CodeDeploy wrote it in recorded GetDeployment answers: each alarm in its own brackets, separated by a
        # space ("Activated alarms: <a-5xx> <a-errors>"; docs/cli.md, "How `watch` ends").
        message = (
            "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
            f"affected deployments have been stopped. Activated alarms: {' '.join(f'<{name}>' for name in names)}"
        )
        _roll_back(aws, deployment, "ALARM_ACTIVE", message)
        return
    _run(aws, deployment)


def _run(aws: Aws, deployment: Deployment) -> None:
    """Take the deployment's steps until one has to wait (for the clock, a hook, or an approval)."""
    until_it_waits(
        lambda: deployment.status in ("InProgress", "Ready"),
        lambda: (deployment.step, deployment.status),
        lambda: _step(aws, deployment),
    )


def _step(aws: Aws, deployment: Deployment) -> None:
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    step = deployment.step
    if step == "BeforeInstall":
        _hook(aws, deployment, "BeforeInstall", then="install")
    elif step == "install":
        _install(aws, deployment)
    elif step == "installing":
        if aws.now >= deployment.step_time:
            deployment.step = "AfterInstall"
    elif step == "AfterInstall":
        _hook(aws, deployment, "AfterInstall", then="AllowTestTraffic")
    elif step == "AllowTestTraffic":
        for arn in group.test_listeners:
            aws.listeners[arn].actions = [forward(deployment.replacement)]
        deployment.step = "AfterAllowTestTraffic"
    elif step == "AfterAllowTestTraffic":
        _hook(aws, deployment, "AfterAllowTestTraffic", then="ready")
    elif step == "ready":
        _ready(aws, deployment)
    elif step == "BeforeAllowTraffic":
        _hook(aws, deployment, "BeforeAllowTraffic", then="testing")
    elif step == "testing":
        percent, minutes = step_of(group.config_name)
        if percent < 100:
            for arn in group.prod_listeners:
                aws.listeners[arn].actions = [
                    weighted({deployment.original: 100 - percent, deployment.replacement: percent})
                ]
            deployment.step, deployment.step_time = "shifting", aws.now + timedelta(minutes=minutes)
            return
        deployment.step = "shifting"
    elif step == "shifting" and aws.now >= deployment.step_time:
        # CodeDeploy leaves the original target group behind the listeners at weight 0, "(TG2: 100, TG1: 0)", as
        # its service team announced (quoted in traveloka/terraform-aws-alb-single-listener #47).
        for arn in group.prod_listeners + group.test_listeners:
            aws.listeners[arn].actions = [weighted({deployment.replacement: 100, deployment.original: 0})]
        for task_set in service.task_sets:
            task_set.status = "PRIMARY" if task_set.target_group == deployment.replacement else "ACTIVE"
        [primary] = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
        service.task_definition = primary.task_definition
        deployment.step = "AfterAllowTraffic"
    elif step == "AfterAllowTraffic":
        _hook(aws, deployment, "AfterAllowTraffic", then="terminate")
    elif step == "terminate":
        deployment.step = "terminating"
        deployment.step_time = aws.now + timedelta(minutes=group.termination_wait)
    elif step == "terminating" and aws.now >= deployment.step_time:
        service.task_sets = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
        deployment.status, deployment.step, deployment.complete_time = "Succeeded", "done", aws.now


def _ready(aws: Aws, deployment: Deployment) -> None:
    """The group's DeploymentReadyOption: traffic reroutes at once, after the wait, or when continued.

    STOP_DEPLOYMENT: status Ready until ContinueDeployment (READY_WAIT) or the wait's end, which stops the
    deployment ("If traffic rerouting is not started before the end of the specified wait period, the deployment
    status is changed to Stopped": DeploymentReadyOption, CodeDeploy API Reference). Assumed, not documented: the
    replacement task set is removed and the test listener forwards to the original again, as in a rollback, and
    the error code is TIMEOUT.
    """
    group = deployment.group
    if deployment.ready_since is None:
        deployment.ready_since = aws.now
        if group.ready_wait and group.ready_action == "STOP_DEPLOYMENT":
            deployment.status = "Ready"
    if aws.now < deployment.ready_since + timedelta(minutes=group.ready_wait):
        return
    if deployment.status == "Ready":
        _roll_back(
            aws,
            deployment,
            "TIMEOUT",
            f"The deployment was not continued within the {group.ready_wait} minutes of its wait for approval.",
            rollback_deployment=False,
        )
        return
    deployment.step = "BeforeAllowTraffic"


def continue_deployment(aws: Aws, deployment: Deployment, wait_type: str) -> None:
    """ContinueDeployment (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_ContinueDeployment.html)."""
    if deployment.status != "Ready" or wait_type != "READY_WAIT":
        raise AwsError(
            "DeploymentIsNotInReadyStateException", f"The deployment {deployment.id} is not in the Ready state."
        )
    deployment.status, deployment.step = "InProgress", "BeforeAllowTraffic"
    _run(aws, deployment)


@dataclass
class HookRun:
    """One lifecycle event's hook: CodeDeploy invokes its function asynchronously and waits up to an hour for
    PutLifecycleEventHookExecutionStatus (AppSpec 'hooks' section for an Amazon ECS deployment,
    https://docs.aws.amazon.com/codedeploy/latest/userguide/reference-appspec-file-structure-hooks.html); Lambda
    retries an invocation that failed twice, one and then two minutes later
    (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html)."""

    event: str
    function: str
    execution_id: str
    due: datetime
    deadline: datetime
    attempts: int = 0
    running: bool = False
    status: str = ""  # what the function reported
    answers: list[Any] = field(default_factory=list)


def hook_function(deployment: Deployment, event: str) -> str | None:
    """The function the AppSpec names for ``event`` (one per event), or None."""
    for hook in deployment.appspec.get("Hooks", []):
        if event in hook:
            return str(hook[event])
    return None


def _hook(aws: Aws, deployment: Deployment, event: str, *, then: str) -> None:
    function = hook_function(deployment, event)
    if function is None:
        deployment.step = then
        return
    run = deployment.hook
    if run is None or run.event != event:
        run = deployment.hook = HookRun(
            event,
            function,
            f"{aws.next_id():08d}-0000-4000-8000-000000000000",
            due=aws.now,
            deadline=aws.now + HOOK_TIMEOUT,
        )
        deployment.executions[run.execution_id] = "InProgress"
        return  # invoked asynchronously: after the call that reached the event has been answered
    if run.running:
        return
    if not run.status and aws.now >= run.due and run.attempts <= len(LAMBDA_RETRY_SECONDS):
        run.attempts += 1
        run.running = True
        try:
            answer = aws.invoke_function(
                function, {"DeploymentId": deployment.id, "LifecycleEventHookExecutionId": run.execution_id}
            )
        finally:
            run.running = False
        run.answers.append(answer)
        if isinstance(answer, FunctionError) and run.attempts <= len(LAMBDA_RETRY_SECONDS):
            run.due = aws.now + timedelta(seconds=LAMBDA_RETRY_SECONDS[run.attempts - 1])
        if deployment.status not in ACTIVE:
            return  # rolled back meanwhile (an alarm while the hook ran)
    if run.status == "Succeeded":
        aws.hook_log.append(f"CODE_DEPLOY {event} {function}: Succeeded")
        deployment.events[event], deployment.hook, deployment.step = "Succeeded", None, then
        deployment.executions[run.execution_id] = "Succeeded"
    elif run.status == "Failed" or aws.now >= run.deadline:
        why = "reported Failed" if run.status else "reported no status within an hour"
        aws.hook_log.append(f"CODE_DEPLOY {event} {function}: Failed ({why})")
        deployment.events[event] = deployment.executions[run.execution_id] = "Failed"
        # Assumed: AWS documents neither the code nor the message of a failed ECS lifecycle event's deployment.
        _roll_back(
            aws,
            deployment,
            "HOOK_EXECUTION_FAILURE",
            f"The {event} lifecycle event hook {function} {why}.",
            status="Failed",
        )


def put_hook_status(aws: Aws, deployment: Deployment, execution_id: str, status: str) -> str:
    """PutLifecycleEventHookExecutionStatus
    (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_PutLifecycleEventHookExecutionStatus.html)."""
    run = deployment.hook
    if run is None or run.execution_id != execution_id:
        done = execution_id in deployment.executions
        code = "LifecycleEventAlreadyCompletedException" if done else "InvalidLifecycleEventHookExecutionIdException"
        raise AwsError(code, f"The lifecycle event hook execution {execution_id} is not in progress.")
    if run.status:
        raise AwsError("LifecycleEventAlreadyCompletedException", f"{execution_id} already has status {run.status}.")
    if status not in ("Succeeded", "Failed"):
        raise AwsError("InvalidLifecycleEventHookExecutionStatusException", f"Invalid status {status}.")
    run.status = status
    return execution_id


def stop(aws: Aws, deployment: Deployment, rollback: bool) -> None:
    """StopDeployment (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_StopDeployment.html)."""
    if deployment.status not in ACTIVE:
        raise AwsError("DeploymentAlreadyCompletedException", f"Deployment {deployment.id} has already completed.")
    if rollback:
        _roll_back(aws, deployment, "DEPLOYMENT_STOPPED", "The deployment was stopped by the user.")
    else:
        deployment.status, deployment.complete_time = "Stopped", aws.now
        deployment.error = {"code": "DEPLOYMENT_STOPPED", "message": "The deployment was stopped by the user."}


def _fail(aws: Aws, deployment: Deployment, code: str, message: str) -> None:
    deployment.status, deployment.step, deployment.complete_time = "Failed", "done", aws.now
    deployment.error = {"code": code, "message": message}


def _roll_back(
    aws: Aws,
    deployment: Deployment,
    code: str,
    message: str,
    *,
    status: str = "Stopped",
    rollback_deployment: bool = True,
) -> None:
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    if any(ts.target_group == deployment.replacement for ts in service.task_sets):  # installed: traffic may have moved
        for arn in group.prod_listeners + group.test_listeners:
            aws.listeners[arn].actions = [weighted({deployment.original: 100, deployment.replacement: 0})]
    service.task_sets = [ts for ts in service.task_sets if ts.target_group != deployment.replacement]
    for task_set in service.task_sets:
        task_set.status = "PRIMARY"
    service.task_definition = service.task_sets[0].task_definition
    deployment.status, deployment.step, deployment.hook = status, "done", None
    deployment.complete_time = aws.now
    deployment.error = {"code": code, "message": message}
    if not rollback_deployment:
        return
    rollback_id = f"d-SIM{aws.next_id():06d}"
    aws.deployments[rollback_id] = Deployment(
        id=rollback_id,
        group=group,
        description=f"Rollback of {deployment.id}",
        appspec=deployment.appspec,
        create_time=aws.now,
        status="Succeeded",
        step="done",
        complete_time=aws.now,
    )
    deployment.rollback = {
        "rollbackDeploymentId": rollback_id,
        "rollbackMessage": f"Deployment {deployment.id} was rolled back by {rollback_id}.",
    }
