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

Lifecycle hooks run at their stages, in the order "How Amazon ECS blue/green deployments work" gives
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html):
PRE_SCALE_UP, scale up, POST_SCALE_UP, the test traffic shift, TEST_TRAFFIC_SHIFT, POST_TEST_TRAFFIC_SHIFT, then
before each production step PRE_PRODUCTION_TRAFFIC_SHIFT, after the last PRODUCTION_TRAFFIC_SHIFT and
POST_PRODUCTION_TRAFFIC_SHIFT, then the bake time and the clean-up. A Lambda hook is invoked with the documented
event and answers SUCCEEDED, FAILED or IN_PROGRESS (invoked again after ``callBackDelay`` seconds, 30 without one,
with the ``hookDetails`` it returned; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html);
a function error fails the hook. A PAUSE hook waits in AWAITING_ACTION until ContinueServiceDeployment (CONTINUE
or ROLLBACK) or its TimeoutConfiguration's end, when its Action applies
(https://docs.aws.amazon.com/AmazonECS/latest/developerguide/continue-service-deployment.html). A failed hook rolls
the deployment back. The hooks of one stage run one after the other, in the service's order (a model choice).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..authorization.service_calls import ecs_native_deployment_calls, lambda_hook_invocation
from .aws import ACCOUNT, READY, REGION, Aws, AwsError, Service, TaskSet, until_it_waits, weighted
from .hooks import FunctionError

ACTIVE = ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")
# ECS invokes an IN_PROGRESS hook again after 30 seconds when it gives no callBackDelay.
DEFAULT_CALLBACK_SECONDS = 30


@dataclass
class HookRun:
    """The hooks of one lifecycle stage, one at a time."""

    stage: str
    hooks: list[dict[str, Any]]
    index: int = 0
    execution_id: str = ""
    due: datetime | None = None
    details: Any = None  # hookDetails: the hook's own, then what its last IN_PROGRESS answer returned
    running: bool = False
    hook_id: str = ""
    expires: datetime | None = None  # a PAUSE hook's end (TimeoutConfiguration)
    action: str = ""  # ContinueServiceDeployment's action for the awaiting PAUSE hook


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
    arn: str = ""  # the service deployment's ARN
    created: datetime | None = None
    finished: datetime | None = None
    reason: str = ""  # why it rolled back
    hook: HookRun | None = None
    percent: int = 0  # production's share on the new revision


def revision_arn(service: Service, task_set: TaskSet) -> str:
    """The service revision's ARN (arn:aws:ecs:region:account:service-revision/cluster/service/id)."""
    return f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-revision/{service.cluster}/{service.name}/{task_set.id.rsplit('/', 1)[-1]}"


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
        step="PRE_SCALE_UP",
        step_time=aws.now,
        arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:service-deployment/{service.cluster}/{service.name}/sd-{aws.next_id()}",
        created=aws.now,
    )
    # ECS shifts traffic with the infrastructure role, and invokes each lifecycle hook with the hook's role
    # (tests/authorization/service_calls.py documents each call).
    routes = [revision.prod_rule, revision.test_rule]
    shifting = ecs_native_deployment_calls(
        traffic_routes=routes, target_group_arns=[revision.primary, revision.alternate]
    )
    aws.authorize(str(advanced.get("roleArn", "")), "ECS (ECS-native blue/green deployment)", shifting)
    for hook in _hooks(service):
        if hook.get("targetType", "AWS_LAMBDA") == "AWS_LAMBDA":
            invoke = lambda_hook_invocation(function_arn=str(hook["hookTargetArn"]))
            aws.authorize(str(hook.get("roleArn", "")), "ECS (lifecycle hook)", invoke)
    aws.revisions.append(revision)
    _run(aws, revision)
    return revision


def _hooks(service: Service) -> list[dict[str, Any]]:
    return list(service.deployment_configuration.get("lifecycleHooks") or [])


def progress(aws: Aws, revision: Revision) -> None:
    """Move a revision on to what ``aws.now`` allows."""
    service = revision.service
    configuration = service.deployment_configuration
    alarms = set((configuration.get("alarms") or {}).get("alarmNames") or [])
    if revision.step != "cleanup" and aws.alarming & alarms:
        if revision.hook is not None and revision.hook.running:
            return  # seen once the hook's invocation returns (the model runs one thing at a time)
        _roll_back(aws, revision, f"CloudWatch alarms in ALARM: {', '.join(sorted(aws.alarming & alarms))}")
        return
    _run(aws, revision)


def _run(aws: Aws, revision: Revision) -> None:
    until_it_waits(
        lambda: revision in aws.revisions, lambda: (revision.step, revision.percent), lambda: _step(aws, revision)
    )


def _step(aws: Aws, revision: Revision) -> None:
    service = revision.service
    configuration = service.deployment_configuration
    step = revision.step
    if step == "PRE_SCALE_UP":
        _stage(aws, revision, "PRE_SCALE_UP", then="scale_up")
    elif step == "scale_up":
        service.task_sets.append(revision.new)
        revision.step, revision.step_time = "scaling", aws.now + READY
    elif step == "scaling":
        if aws.now >= revision.step_time:
            revision.step = "POST_SCALE_UP"
    elif step == "POST_SCALE_UP":
        _stage(aws, revision, "POST_SCALE_UP", then="test_shift")
    elif step == "test_shift":
        aws.rules[revision.test_rule].actions = [weighted({revision.primary: 0, revision.alternate: 100})]
        revision.step = "TEST_TRAFFIC_SHIFT"
    elif step == "TEST_TRAFFIC_SHIFT":
        _stage(aws, revision, "TEST_TRAFFIC_SHIFT", then="POST_TEST_TRAFFIC_SHIFT")
    elif step == "POST_TEST_TRAFFIC_SHIFT":
        _stage(aws, revision, "POST_TEST_TRAFFIC_SHIFT", then="PRE_PRODUCTION_TRAFFIC_SHIFT")
    elif step == "PRE_PRODUCTION_TRAFFIC_SHIFT":
        _stage(aws, revision, "PRE_PRODUCTION_TRAFFIC_SHIFT", then="shift")
    elif step == "shift":
        canary = configuration.get("canaryConfiguration") or {}
        first = int(canary.get("canaryPercent", 100)) if configuration.get("strategy") == "CANARY" else 100
        percent = first if revision.percent == 0 and first < 100 else 100
        aws.rules[revision.prod_rule].actions = [
            weighted({revision.primary: 100 - percent, revision.alternate: percent})
        ]
        revision.percent = percent
        if percent < 100:
            minutes = int(canary.get("canaryBakeTimeInMinutes", 0))
            revision.step, revision.step_time = "canary", aws.now + timedelta(minutes=minutes)
        else:
            revision.step = "PRODUCTION_TRAFFIC_SHIFT"
    elif step == "canary":
        if aws.now >= revision.step_time:
            revision.step = "PRE_PRODUCTION_TRAFFIC_SHIFT"  # its hooks run before every step
    elif step == "PRODUCTION_TRAFFIC_SHIFT":
        _stage(aws, revision, "PRODUCTION_TRAFFIC_SHIFT", then="POST_PRODUCTION_TRAFFIC_SHIFT")
    elif step == "POST_PRODUCTION_TRAFFIC_SHIFT":
        _stage(aws, revision, "POST_PRODUCTION_TRAFFIC_SHIFT", then="bake")
    elif step == "bake":
        revision.step = "cleanup"
        revision.step_time = aws.now + timedelta(minutes=int(configuration.get("bakeTimeInMinutes", 0)))
    elif step == "cleanup" and aws.now >= revision.step_time:
        service.task_sets.remove(revision.old)
        revision.new.status = "PRIMARY"
        service.task_definition = revision.new.task_definition
        [entry] = service.load_balancers
        entry["targetGroupArn"], entry["advancedConfiguration"]["alternateTargetGroupArn"] = (
            revision.alternate,
            revision.primary,
        )
        _finish(aws, revision, "SUCCESSFUL")


def _stage(aws: Aws, revision: Revision, stage: str, *, then: str) -> None:
    """Run the stage's hooks one by one; ``then`` once each succeeded."""
    run = revision.hook
    if run is None or run.stage != stage:
        hooks = [h for h in _hooks(revision.service) if stage in (h.get("lifecycleStages") or [])]
        if not hooks:
            revision.step = then
            return
        run = revision.hook = HookRun(stage, hooks)
        _begin(aws, revision, run)
        return  # a Lambda hook is invoked asynchronously, on the next step of the clock
    if run.running:
        return
    hook = run.hooks[run.index]
    if hook.get("targetType") == "PAUSE":
        action = run.action or ("" if run.expires is None or aws.now < run.expires else _timeout_action(hook))
        if not action:
            return
        passed = action == "CONTINUE"
        how = "answered by ContinueServiceDeployment" if run.action else "timed out"
        _done(aws, revision, run, then, passed, f"pause hook at {stage} {how}: {action}")
        return
    if run.due is None or aws.now < run.due:
        return
    run.running = True
    try:
        answer = aws.invoke_function(str(hook["hookTargetArn"]), _event(revision, run))
    finally:
        run.running = False
    if revision not in aws.revisions:
        return  # rolled back meanwhile
    if isinstance(answer, FunctionError):
        _done(
            aws,
            revision,
            run,
            then,
            False,
            f"lifecycle hook {hook['hookTargetArn']} at {stage} failed: {answer.message}",
        )
        return
    status = str((answer or {}).get("hookStatus"))
    if status == "IN_PROGRESS":
        run.details = answer.get("hookDetails", run.details)
        run.due = aws.now + timedelta(seconds=int(answer.get("callBackDelay") or DEFAULT_CALLBACK_SECONDS))
        return
    passed = status == "SUCCEEDED"
    _done(aws, revision, run, then, passed, f"lifecycle hook {hook['hookTargetArn']} at {stage} returned {status}")


def _timeout_action(hook: Mapping[str, Any]) -> str:
    return str((hook.get("timeoutConfiguration") or {}).get("action") or "ROLLBACK")


def _begin(aws: Aws, revision: Revision, run: HookRun) -> None:
    hook = run.hooks[run.index]
    run.execution_id = f"{aws.next_id():08d}-ecs-hook-execution"
    run.hook_id = f"hook-{aws.next_id()}"
    run.details, run.action, run.expires, run.due = hook.get("hookDetails"), "", None, aws.now
    if hook.get("targetType") == "PAUSE":
        minutes = int((hook.get("timeoutConfiguration") or {}).get("timeoutInMinutes") or 0)
        run.expires, run.due = aws.now + timedelta(minutes=minutes), None
        aws.hook_log.append(f"ECS_NATIVE {run.stage} PAUSE: AWAITING_ACTION")


def _done(aws: Aws, revision: Revision, run: HookRun, then: str, passed: bool, reason: str) -> None:
    hook = run.hooks[run.index]
    target = "PAUSE" if hook.get("targetType") == "PAUSE" else str(hook["hookTargetArn"])
    aws.hook_log.append(f"ECS_NATIVE {run.stage} {target}: {'SUCCEEDED' if passed else 'FAILED'}")
    if not passed:
        _roll_back(aws, revision, reason)
        return
    run.index += 1
    if run.index < len(run.hooks):
        _begin(aws, revision, run)
        return
    revision.hook, revision.step = None, then


def _event(revision: Revision, run: HookRun) -> dict[str, Any]:
    """The event ECS invokes a Lambda hook with (Lambda hooks for Amazon ECS service deployments)."""
    service = revision.service
    old, new = revision_arn(service, revision.old), revision_arn(service, revision.new)
    test = 100 if revision.step not in ("PRE_SCALE_UP", "POST_SCALE_UP") else 0
    event: dict[str, Any] = {
        "executionDetails": {
            "testTrafficWeights": {old: 100 - test, new: test},
            "productionTrafficWeights": {old: 100 - revision.percent, new: revision.percent},
            "serviceArn": service.arn,
            "targetServiceRevisionArn": new,
        },
        "executionId": run.execution_id,
        "lifecycleStage": run.stage,
        "resourceArn": revision.arn,
    }
    if run.details is not None:
        event["hookDetails"] = run.details
    return event


def continue_deployment(aws: Aws, arn: str, hook_id: str, action: str) -> None:
    """ContinueServiceDeployment (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html)."""
    revision = next((r for r in aws.revisions if r.arn == arn), None)
    if revision is None:
        raise AwsError("ServiceDeploymentNotFoundException", f"Service deployment {arn} is not in progress.")
    run = revision.hook
    awaiting = run is not None and run.hooks[run.index].get("targetType") == "PAUSE" and not run.action
    if not awaiting or run is None or run.hook_id != hook_id:
        raise AwsError("InvalidParameterException", f"Hook {hook_id} of {arn} is not awaiting action.")
    run.action = action
    _run(aws, revision)


def stop(aws: Aws, arn: str, stop_type: str) -> None:
    """StopServiceDeployment with stopType ROLLBACK (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopServiceDeployment.html)."""
    revision = next((r for r in aws.revisions if r.arn == arn), None)
    if revision is None:
        raise AwsError("ServiceDeploymentNotUpdatableException", f"Service deployment {arn} is not in progress.")
    _roll_back(aws, revision, f"stopped by StopServiceDeployment ({stop_type})")


def describe(revision: Revision, aws: Aws) -> dict[str, Any]:
    """DescribeServiceDeployments' serviceDeployments[] entry."""
    service = revision.service
    state = revision.outcome or "IN_PROGRESS"
    described: dict[str, Any] = {
        "serviceDeploymentArn": revision.arn,
        "serviceArn": service.arn,
        "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{service.cluster}",
        "createdAt": revision.created,
        "startedAt": revision.created,
        "status": state,
        "targetServiceRevision": {"arn": revision_arn(service, revision.new)},
        "sourceServiceRevisions": [{"arn": revision_arn(service, revision.old)}],
    }
    if revision.finished is not None:
        described["finishedAt"] = revision.finished
    if not revision.outcome:
        # Not in ECS's enum of a deployment's stages: the hook stage before each step is reported as the shift.
        stage = revision.step if revision.step != "PRE_PRODUCTION_TRAFFIC_SHIFT" else "PRODUCTION_TRAFFIC_SHIFT"
        described["lifecycleStage"] = stage if stage.isupper() else "SCALE_UP" if "scal" in stage else "CLEAN_UP"
    run = revision.hook
    if run is not None and not revision.outcome:
        hook = run.hooks[run.index]
        detail: dict[str, Any] = {"hookId": run.hook_id, "targetType": hook.get("targetType", "AWS_LAMBDA")}
        if hook.get("targetType") == "PAUSE":
            detail |= {"status": "AWAITING_ACTION", "expiresAt": run.expires, "timeoutAction": _timeout_action(hook)}
        else:
            detail |= {"targetArn": hook["hookTargetArn"], "status": "IN_PROGRESS"}
        described["lifecycleHookDetails"] = [detail]
    if revision.outcome == "ROLLBACK_SUCCESSFUL":
        described["statusReason"] = revision.reason
        described["rollback"] = {
            "reason": revision.reason,
            "startedAt": revision.finished,
            "serviceRevisionArn": revision_arn(service, revision.old),
        }
    return described


def _roll_back(aws: Aws, revision: Revision, reason: str) -> None:
    service = revision.service
    for rule in (revision.prod_rule, revision.test_rule):
        aws.rules[rule].actions = [weighted({revision.primary: 100, revision.alternate: 0})]
    if revision.new in service.task_sets:
        service.task_sets.remove(revision.new)
    service.task_definition = revision.old.task_definition
    revision.reason, revision.hook = reason, None
    _finish(aws, revision, "ROLLBACK_SUCCESSFUL")


def _finish(aws: Aws, revision: Revision, outcome: str) -> None:
    revision.outcome = outcome
    revision.finished = aws.now
    aws.revisions.remove(revision)
    aws.finished_revisions.append(revision)
