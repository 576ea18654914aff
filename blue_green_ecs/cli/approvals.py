"""``approve`` and ``reject``: the answer to a deployment waiting for approval (``deployment_approval_wait_time``).

CodeDeploy engine: the deployment waits in status ``Ready`` (``deploymentReadyOption``). ``approve`` is
``ContinueDeployment`` with ``READY_WAIT``; ``reject`` is ``StopDeployment`` with ``autoRollbackEnabled``, CodeDeploy's
one documented way to end a deployment before it reroutes traffic: ``ContinueDeployment`` only goes on
(``deploymentWaitType`` ``READY_WAIT`` or ``TERMINATION_WAIT``), and the wait's own end is its ``actionOnTimeout``
(CodeDeploy API Reference, https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_ContinueDeployment.html,
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_StopDeployment.html,
https://docs.aws.amazon.com/codedeploy/latest/APIReference/API_DeploymentReadyOption.html).

ECS-native engine: the deployment waits at a ``PAUSE`` lifecycle hook in status ``AWAITING_ACTION``, whose
``hookId`` ``DescribeServiceDeployments`` gives in ``lifecycleHookDetails``; both commands are
``ContinueServiceDeployment`` on it, ``approve`` with action ``CONTINUE``, ``reject`` with ``ROLLBACK``, and only while
the deployment is ``IN_PROGRESS`` (ECS Developer Guide, "Continuing Amazon ECS service deployments",
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/continue-service-deployment.html; ECS API Reference,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContinueServiceDeployment.html,
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html).

Nothing waiting is exit code 2 (``NOTHING_TO_DO``) with the state the deployment is in; a deployment in flight that
waits for nothing is ``rollback``'s to stop, which ``reject`` says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import CliError
from .states import NOTHING_TO_DO, Target, active_codedeploy, active_ecs, awaiting_approval, ecs_deployment, tail

_PAUSED = "a deployment IN_PROGRESS whose pause hook is AWAITING_ACTION"
# What each command does, to what: the end of its refusal.
_DOES = {
    ("approve", "codedeploy"): "continues a deployment in status Ready",
    ("reject", "codedeploy"): "stops a deployment in status Ready",
    ("approve", "ecs"): f"continues {_PAUSED}",
    ("reject", "ecs"): f"rolls back {_PAUSED}",
}


def approve(clients: Mapping[str, Any], target: Target) -> str:
    """Let a deployment waiting for approval go on: CodeDeploy ``ContinueDeployment`` (``READY_WAIT``) of a
    deployment in status Ready; ECS ``ContinueServiceDeployment`` (``CONTINUE``) of its PAUSE hook awaiting action."""
    if target.engine == "ecs":
        arn, hook = _paused(clients, target, "approve")
        _answer(clients, arn, hook, "CONTINUE")
        return f"approved deployment {tail(arn)} (hook {hook['hookId']}): it continues to its next lifecycle stage"
    deployment_id = _ready(clients, target, "approve")
    clients["codedeploy"].continue_deployment(deploymentId=deployment_id, deploymentWaitType="READY_WAIT")
    return f"approved deployment {deployment_id}: traffic shifting continues"


def reject(clients: Mapping[str, Any], target: Target) -> str:
    """Roll back a deployment waiting for approval: CodeDeploy ``StopDeployment`` with ``autoRollbackEnabled`` of a
    deployment in status Ready; ECS ``ContinueServiceDeployment`` (``ROLLBACK``) of its PAUSE hook awaiting action."""
    if target.engine == "ecs":
        arn, hook = _paused(clients, target, "reject")
        _answer(clients, arn, hook, "ROLLBACK")
        return f"rejected deployment {tail(arn)} (hook {hook['hookId']}): ECS rolls it back to the previous revision"
    deployment_id = _ready(clients, target, "reject")
    clients["codedeploy"].stop_deployment(deploymentId=deployment_id, autoRollbackEnabled=True)
    return f"rejected deployment {deployment_id}: stopped with rollback to the previous task set"


def _nothing(verb: str, engine: str, state: str, *, stoppable: bool) -> CliError:
    # A deployment that waits for nothing can still be stopped, unless it is a rollback: that is rollback's work.
    hint = "; to stop it, use blue-green-ecs rollback" if verb == "reject" and stoppable else ""
    return CliError(f"Nothing to {verb}: {state}; {verb} {_DOES[verb, engine]}{hint}.", NOTHING_TO_DO)


def _ready(clients: Mapping[str, Any], target: Target, verb: str) -> str:
    """The id of the group's deployment in status Ready; otherwise the refusal naming its state."""
    info = active_codedeploy(clients, target)
    if info is None:
        raise _nothing(verb, "codedeploy", "no deployment in progress", stoppable=False)
    if info["status"] != "Ready":
        rollback_of = (info.get("rollbackInfo") or {}).get("rollbackTriggeringDeploymentId")
        state = f"deployment {info['deploymentId']} is {info['status']}"
        if rollback_of:
            state += f" (rollback of deployment {rollback_of})"
        raise _nothing(verb, "codedeploy", state, stoppable=not rollback_of)
    return str(info["deploymentId"])


def _paused(clients: Mapping[str, Any], target: Target, verb: str) -> tuple[str, dict[str, Any]]:
    """The service deployment in flight and its PAUSE hook awaiting action; otherwise the refusal naming its state."""
    summary = active_ecs(clients, target)
    if summary is None:
        raise _nothing(verb, "ecs", "no deployment in progress", stoppable=False)
    arn = str(summary["serviceDeploymentArn"])
    deployment = ecs_deployment(clients, arn)
    hook = awaiting_approval(deployment)
    if hook is not None and deployment.get("status") == "IN_PROGRESS":
        return arn, hook
    stoppable = deployment.get("status") in ("PENDING", "IN_PROGRESS")  # what rollback stops (deployments.rollback)
    raise _nothing(verb, "ecs", f"deployment {tail(arn)} is {_ecs_state(deployment, hook)}", stoppable=stoppable)


def _ecs_state(deployment: Mapping[str, Any], awaiting: Mapping[str, Any] | None) -> str:
    """Where the deployment is and what became of its pause hook: ``IN_PROGRESS (stage BAKE_TIME), its pause hook
    ecs-pause-1 SUCCEEDED``."""
    state = str(deployment.get("status"))
    if deployment.get("lifecycleStage"):
        state += f" (stage {deployment['lifecycleStage']})"
    if awaiting is not None:
        return f"{state}, its pause hook {awaiting['hookId']} awaiting action"
    pauses = [h for h in deployment.get("lifecycleHookDetails") or [] if h.get("targetType") == "PAUSE"]
    if not pauses:
        return f"{state}, with no pause hook awaiting action"
    return state + ", " + ", ".join(f"its pause hook {h.get('hookId')} {h.get('status')}" for h in pauses)


def _answer(clients: Mapping[str, Any], arn: str, hook: Mapping[str, Any], action: str) -> None:
    clients["ecs"].continue_service_deployment(serviceDeploymentArn=arn, hookId=str(hook["hookId"]), action=action)
