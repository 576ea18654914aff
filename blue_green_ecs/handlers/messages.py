"""The deployment trigger's words: the reasons CloudFormation shows, and its JSON log lines.

Standard library only. Every reason names the resource it concerns (the application and group, or the
service) and, where the user can act, says what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .request import DeploymentRequest

# The codes services answer a call IAM denies with (ECS, CodeDeploy, Step Functions: AccessDeniedException;
# ELBv2 and other Query APIs: AccessDenied; EC2: UnauthorizedOperation).
ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
_DENIED_ACTION = re.compile(r"not authorized to perform: ([A-Za-z0-9-]+:[A-Za-z0-9*]+)")


class DeploymentError(Exception):
    """A failure whose message is the reason CloudFormation shows for the resource."""


class DeploymentEndedError(DeploymentError):
    """The deployment failed, was stopped, or timed out and was stopped: there is nothing left to stop."""


def log(action: str, **fields: Any) -> None:
    """Write one JSON line to CloudWatch Logs; callers never pass secrets (no ResponseURL, no event)."""
    print(
        json.dumps({"logger": "blue_green_ecs.deployment", "action": action, **fields}, default=str),
        flush=True,
    )


def sentence(text: str) -> str:
    """``text`` on one line, ending with a full stop unless it already ends a sentence."""
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else f"{text}."


def explain_error(code: str, message: str, action: str, request: DeploymentRequest) -> str:
    """Turn an AWS error into a reason that names the resource and, if denied, the missing permission."""
    where = request.service_label if action.startswith("ecs:") else request.group_label
    if code in ACCESS_DENIED_CODES:
        denied = _DENIED_ACTION.search(message)
        permission = denied.group(1) if denied else action
        return (
            f"Access denied: the deployment handler's IAM role is not allowed to call {permission} "
            f"(while calling {action} for {where}). Grant {permission} to the role. "
            f"AWS said: {sentence(message)}"
        )
    if code == "DeploymentGroupDoesNotExistException":
        return (
            f"CodeDeploy deployment group '{request.deployment_group_name}' does not exist in application "
            f"'{request.application_name}' ({action}: {sentence(message)}) "
            "Check DeploymentGroupName and that the group exists in this account and region."
        )
    if code == "ApplicationDoesNotExistException":
        return (
            f"CodeDeploy application '{request.application_name}' does not exist "
            f"({action}: {sentence(message)}) "
            "Check ApplicationName and that the application exists in this account and region."
        )
    if code == "ClusterNotFoundException":
        return f"ECS cluster '{request.cluster}' was not found ({action}: {sentence(message)})"
    return f"{action} failed for {where}: {code}: {sentence(message)}"


def failure_message(info: Mapping[str, Any], rollback: Mapping[str, Any] | None) -> str:
    """Describe a Failed or Stopped deployment with CodeDeploy's error and the state of its rollback."""
    deployment_id = info.get("deploymentId", "?")
    error = info.get("errorInformation") or {}
    code = error.get("code") or "UNKNOWN_ERROR"
    detail = error.get("message") or "CodeDeploy gave no error message"
    if info.get("status") == "Stopped":
        verb = "was stopped by an alarm" if code == "ALARM_ACTIVE" else "was stopped"
    else:
        verb = "failed"
    text = f"CodeDeploy deployment {deployment_id} {verb} ({code}): {sentence(detail)}"
    rollback_info = info.get("rollbackInfo") or {}
    rollback_id = rollback_info.get("rollbackDeploymentId")
    rollback_message = rollback_info.get("rollbackMessage")
    if rollback_id:
        rollback_status = (rollback or {}).get("status")
        if rollback_status == "Succeeded":
            outcome = "restored the previous task set"
        elif rollback_status in ("Failed", "Stopped"):
            outcome = f"FAILED to restore the previous task set (status {rollback_status}); check the service"
        elif rollback_status:
            outcome = f"is restoring the previous task set (status {rollback_status})"
        else:
            outcome = "was started to restore the previous task set"
        text += f" Rollback: deployment {rollback_id} {outcome}."
        if rollback_message:
            text += f" {sentence(rollback_message)}"
    elif rollback_message:
        text += f" Rollback: {sentence(rollback_message)}"
    else:
        text += " No rollback deployment was started."
    return text


def timeout_message(deployment_id: str, status: Any, minutes: int) -> str:
    """The reason of a deployment stopped for exceeding TimeoutMinutes."""
    if status == "Ready":
        return (
            f"CodeDeploy deployment {deployment_id} exceeded the {minutes}-minute timeout "
            "(TimeoutMinutes) while waiting for approval: it was in status Ready, waiting for "
            f"'aws deploy continue-deployment --deployment-id {deployment_id} --deployment-wait-type "
            "READY_WAIT'. It was stopped with automatic rollback to the previous task set."
        )
    return (
        f"CodeDeploy deployment {deployment_id} exceeded the {minutes}-minute timeout "
        f"(TimeoutMinutes) in status {status} and was stopped with automatic rollback to the "
        "previous task set."
    )


def approval_hint(deployment_id: str) -> str:
    """What a deployment in status Ready waits for."""
    return (
        "the replacement task set is ready and waits to be continued: run "
        f"'aws deploy continue-deployment --deployment-id {deployment_id} "
        "--deployment-wait-type READY_WAIT' (or stop it); it is stopped with rollback once "
        "TimeoutMinutes is exceeded"
    )


def stopped(deployment_id: str) -> str:
    """The trigger gave up and stopped the deployment."""
    return f"CodeDeploy deployment {deployment_id} was stopped with automatic rollback to the previous task set."


def not_stopped(deployment_id: str, status: Any = None) -> str:
    """The trigger gave up, but the deployment had already finished."""
    state = f" (status {status})" if status else ""
    return f"CodeDeploy deployment {deployment_id} had already finished{state} and was not stopped."


def could_not_stop(deployment_id: str | None, problem: str) -> str:
    """The trigger gave up and could not stop the deployment (or not even find it)."""
    if deployment_id:
        return (
            f"CodeDeploy deployment {deployment_id} could not be stopped ({problem}); stop it with "
            f"'aws deploy stop-deployment --deployment-id {deployment_id} --auto-rollback-enabled'."
        )
    return (
        f"Its CodeDeploy deployment, if one was started, could not be looked up to stop it ({problem}); "
        "check the deployment group's deployments in CodeDeploy."
    )
