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
from datetime import timedelta
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
    weighted,
    weights_of,
)

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
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    pair = _pair(aws, group)
    weights = weights_of(aws.listeners[group.prod_listeners[0]].actions)
    live = [arn for arn, weight in weights.items() if weight > 0]
    if len(live) != 1 or live[0] not in pair:
        # Not documented: CodeDeploy needs production on exactly one of the group's target groups.
        _fail(aws, deployment, "INVALID_TARGET_GROUP_PAIR", f"production listener forwards to {weights}")
        return
    deployment.original = live[0]
    deployment.replacement = next(arn for arn in pair if arn != live[0])
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
    for arn in group.test_listeners:
        aws.listeners[arn].actions = [forward(deployment.replacement)]
    deployment.step, deployment.step_time = "testing", aws.now + READY


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
    """Move an InProgress deployment on to what ``aws.now`` allows."""
    group = deployment.group
    if deployment.step != "terminating" and aws.alarming & set(group.alarms):
        _roll_back(aws, deployment, "ALARM_ACTIVE", sorted(aws.alarming & set(group.alarms)))
        return
    if aws.now < deployment.step_time:
        return
    service = aws.service(group.cluster, group.service)
    if deployment.step == "testing":
        percent, minutes = step_of(group.config_name)
        if percent < 100:
            for arn in group.prod_listeners:
                aws.listeners[arn].actions = [
                    weighted({deployment.original: 100 - percent, deployment.replacement: percent})
                ]
            deployment.step, deployment.step_time = "shifting", aws.now + timedelta(minutes=minutes)
            return
        deployment.step = "shifting"
    if deployment.step == "shifting":
        # CodeDeploy leaves the original target group behind the listeners at weight 0, "(TG2: 100, TG1: 0)", as
        # its service team announced (quoted in traveloka/terraform-aws-alb-single-listener #47).
        for arn in group.prod_listeners + group.test_listeners:
            aws.listeners[arn].actions = [weighted({deployment.replacement: 100, deployment.original: 0})]
        for task_set in service.task_sets:
            task_set.status = "PRIMARY" if task_set.target_group == deployment.replacement else "ACTIVE"
        [primary] = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
        service.task_definition = primary.task_definition
        deployment.step = "terminating"
        deployment.step_time = aws.now + timedelta(minutes=group.termination_wait)
        return
    if deployment.step == "terminating":
        service.task_sets = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
        deployment.status, deployment.step = "Succeeded", "done"


def stop(aws: Aws, deployment: Deployment, rollback: bool) -> None:
    """StopDeployment (https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_StopDeployment.html)."""
    if deployment.status not in ACTIVE:
        raise AwsError("DeploymentAlreadyCompletedException", f"Deployment {deployment.id} has already completed.")
    if rollback:
        _roll_back(aws, deployment, "DEPLOYMENT_STOPPED", [])
    else:
        deployment.status = "Stopped"
        deployment.error = {"code": "DEPLOYMENT_STOPPED", "message": "The deployment was stopped by the user."}


def _fail(aws: Aws, deployment: Deployment, code: str, message: str) -> None:
    deployment.status, deployment.step = "Failed", "done"
    deployment.error = {"code": code, "message": message}


def _roll_back(aws: Aws, deployment: Deployment, code: str, alarms: list[str]) -> None:
    group = deployment.group
    service = aws.service(group.cluster, group.service)
    for arn in group.prod_listeners + group.test_listeners:
        aws.listeners[arn].actions = [weighted({deployment.original: 100, deployment.replacement: 0})]
    service.task_sets = [ts for ts in service.task_sets if ts.target_group == deployment.original]
    for task_set in service.task_sets:
        task_set.status = "PRIMARY"
    service.task_definition = service.task_sets[0].task_definition
    rollback_id = f"d-SIM{aws.next_id():06d}"
    aws.deployments[rollback_id] = Deployment(
        id=rollback_id,
        group=group,
        description=f"Rollback of {deployment.id}",
        appspec=deployment.appspec,
        create_time=aws.now,
        status="Succeeded",
        step="done",
    )
    # AWS documents the code ALARM_ACTIVE, not this message (ErrorInformation, CodeDeploy API Reference). Its form is
    # as CodeDeploy wrote it in recorded GetDeployment answers: each alarm in its own brackets, separated by a space
    # ("Activated alarms: <a-5xx> <a-errors>"; docs/cli.md, "How `watch` ends").
    message = (
        "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the "
        f"affected deployments have been stopped. Activated alarms: {' '.join(f'<{name}>' for name in alarms)}"
        if alarms
        else "The deployment was stopped by the user."
    )
    deployment.status, deployment.step = "Stopped", "done"
    deployment.error = {"code": code, "message": message}
    deployment.rollback = {
        "rollbackDeploymentId": rollback_id,
        "rollbackMessage": f"Deployment {deployment.id} was rolled back by {rollback_id}.",
    }
