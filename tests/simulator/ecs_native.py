"""ECS's own blue/green deployment (ECS controller with advancedConfiguration), step by step.

Per "Amazon ECS blue/green deployments"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html) and "Application
Load Balancer resources for blue/green, linear, and canary deployments"
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html): the new service
revision starts in the alternate target group, the test listener rule is shifted to it, production shifts
(canary percent for the canary bake time, then all), both revisions run for ``BakeTimeInMinutes``, then the
old revision is stopped and the service's target group and alternate target group swap roles. An alarm in
ALARM during the deployment rolls the rules back to the old revision (the service's alarms with rollback,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..authorization.service_calls import ecs_native_deployment_calls, lambda_hook_invocation
from .aws import READY, Aws, Service, TaskSet, weighted


@dataclass
class Revision:
    service: Service
    new: TaskSet
    old: TaskSet
    primary: str
    alternate: str
    prod_rule: str
    test_rule: str
    step: str
    step_time: datetime
    outcome: str = ""  # SUCCESSFUL or ROLLBACK_SUCCESSFUL once finished


def start_revision(aws: Aws, service: Service, changes: Mapping[str, Any]) -> Revision:
    """A new revision of ``service`` (task definition, network or platform version changed)."""
    [entry] = service.load_balancers
    advanced = entry["advancedConfiguration"]
    [old] = [ts for ts in service.task_sets if ts.status == "PRIMARY"]
    new = TaskSet(
        id=f"rev-{aws.next_id()}",
        status="ACTIVE",
        task_definition=changes.get("taskDefinition", old.task_definition),
        target_group=advanced["alternateTargetGroupArn"],
        network=changes.get("networkConfiguration", old.network),
        platform_version=changes.get("platformVersion", old.platform_version),
        container=old.container,
    )
    service.task_sets.append(new)
    for key in ("networkConfiguration", "platformVersion"):
        if key in changes:
            setattr(service, "network" if key == "networkConfiguration" else "platform_version", changes[key])
    revision = Revision(
        service=service,
        new=new,
        old=old,
        primary=entry["targetGroupArn"],
        alternate=advanced["alternateTargetGroupArn"],
        prod_rule=advanced["productionListenerRule"],
        test_rule=advanced["testListenerRule"],
        step="testing",
        step_time=aws.now + READY,
    )
    # ECS shifts traffic with the infrastructure role, and invokes each lifecycle hook with the hook's role
    # (tests/authorization/service_calls.py documents each call).
    routes = [revision.prod_rule, revision.test_rule]
    shifting = ecs_native_deployment_calls(
        traffic_routes=routes, target_group_arns=[revision.primary, revision.alternate]
    )
    aws.authorize(str(advanced.get("roleArn", "")), "ECS (ECS-native blue/green deployment)", shifting)
    for hook in service.deployment_configuration.get("lifecycleHooks") or []:
        invoke = lambda_hook_invocation(function_arn=str(hook["hookTargetArn"]))
        aws.authorize(str(hook.get("roleArn", "")), "ECS (lifecycle hook)", invoke)
    aws.rules[revision.test_rule].actions = [weighted({revision.primary: 0, revision.alternate: 100})]
    aws.revisions.append(revision)
    return revision


def progress(aws: Aws, revision: Revision) -> None:
    """Move a revision on to what ``aws.now`` allows."""
    service = revision.service
    configuration = service.deployment_configuration
    alarms = set((configuration.get("alarms") or {}).get("alarmNames") or [])
    if revision.step != "cleanup" and aws.alarming & alarms:
        for rule in (revision.prod_rule, revision.test_rule):
            aws.rules[rule].actions = [weighted({revision.primary: 100, revision.alternate: 0})]
        service.task_sets.remove(revision.new)
        service.task_definition = revision.old.task_definition
        _finish(aws, revision, "ROLLBACK_SUCCESSFUL")
        return
    if aws.now < revision.step_time:
        return
    if revision.step == "testing":
        canary = configuration.get("canaryConfiguration") or {}
        percent = int(canary.get("canaryPercent", 100)) if configuration.get("strategy") == "CANARY" else 100
        if percent < 100:
            aws.rules[revision.prod_rule].actions = [
                weighted({revision.primary: 100 - percent, revision.alternate: percent})
            ]
            minutes = int(canary.get("canaryBakeTimeInMinutes", 0))
            revision.step, revision.step_time = "shifting", aws.now + timedelta(minutes=minutes)
            return
        revision.step = "shifting"
    if revision.step == "shifting":
        aws.rules[revision.prod_rule].actions = [weighted({revision.primary: 0, revision.alternate: 100})]
        revision.step = "cleanup"
        revision.step_time = aws.now + timedelta(minutes=int(configuration.get("bakeTimeInMinutes", 0)))
        return
    if revision.step == "cleanup":
        service.task_sets.remove(revision.old)
        revision.new.status = "PRIMARY"
        service.task_definition = revision.new.task_definition
        [entry] = service.load_balancers
        entry["targetGroupArn"], entry["advancedConfiguration"]["alternateTargetGroupArn"] = (
            revision.alternate,
            revision.primary,
        )
        _finish(aws, revision, "SUCCESSFUL")


def _finish(aws: Aws, revision: Revision, outcome: str) -> None:
    revision.outcome = outcome
    aws.revisions.remove(revision)
    aws.finished_revisions.append(revision)
