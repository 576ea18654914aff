"""The deployment in flight, per engine: its statuses, how it is found, the approval it may wait at, and the exit
codes ``watch``, ``approve``, ``reject`` and ``rollback`` end with (docs/cli.md); cli/deployments.py re-exports them.

Found through the deployment APIs: CodeDeploy's ``ListDeployments`` (filtered by group and the statuses in
flight) and ``GetDeployment``; ECS's ``ListServiceDeployments`` (filtered by the statuses in flight) and
``DescribeServiceDeployments``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import CliError

# CodeDeploy's DeploymentStatus values of a deployment in flight; the others (Succeeded, Failed, Stopped) are final.
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
# ECS's ServiceDeployment status values by stage (ECS Developer Guide, "View service history using Amazon ECS
# service deployments"): Pending (PENDING) and Ongoing (IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED,
# ROLLBACK_IN_PROGRESS) are in flight; Completed, "successfully or unsuccessfully", are the keys of ECS_EXIT.
ECS_ACTIVE = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
ECS_ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
# Exit codes (docs/cli.md): 0 done, 1 error, 2 nothing to act on, 3 watched deployment did not succeed (failed,
# stopped or rolled back), 4 its rollback did not succeed either.
NOTHING_TO_DO = 2
NOT_SUCCEEDED = 3
ROLLBACK_NOT_SUCCEEDED = 4
ECS_EXIT = {
    "SUCCESSFUL": 0,
    "STOPPED": NOT_SUCCEEDED,
    "ROLLBACK_SUCCESSFUL": NOT_SUCCEEDED,
    "ROLLBACK_FAILED": ROLLBACK_NOT_SUCCEEDED,
}


@dataclass(frozen=True)
class Target:
    """A deployed service: its engine and what the APIs need."""

    engine: str  # "codedeploy" or "ecs"
    cluster: str = ""
    service: str = ""
    application: str = ""
    group: str = ""


def get_deployment(clients: Mapping[str, Any], deployment_id: str) -> dict[str, Any]:
    """CodeDeploy's ``deploymentInfo`` of ``deployment_id``."""
    info: dict[str, Any] = clients["codedeploy"].get_deployment(deploymentId=deployment_id)["deploymentInfo"]
    return info


def active_codedeploy(clients: Mapping[str, Any], target: Target) -> dict[str, Any] | None:
    """The ``deploymentInfo`` of the group's deployment in flight, or ``None``."""
    ids = clients["codedeploy"].list_deployments(
        applicationName=target.application, deploymentGroupName=target.group, includeOnlyStatuses=ACTIVE
    )["deployments"]
    if not ids:
        return None
    return get_deployment(clients, ids[0])


def active_ecs(clients: Mapping[str, Any], target: Target) -> dict[str, Any] | None:
    """The summary (ARN and status) of the service deployment in flight."""
    summaries = clients["ecs"].list_service_deployments(
        cluster=target.cluster, service=target.service, status=ECS_ACTIVE
    )["serviceDeployments"]
    return dict(summaries[0]) if summaries else None


def ecs_deployment(clients: Mapping[str, Any], arn: str) -> dict[str, Any]:
    """The service deployment ``arn`` as ``DescribeServiceDeployments`` describes it."""
    found = clients["ecs"].describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"]
    if not found:
        raise CliError(f"ECS does not describe service deployment {arn} (DescribeServiceDeployments).")
    deployment: dict[str, Any] = found[0]
    return deployment


def awaiting_approval(deployment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``PAUSE`` lifecycle hook of an ECS service deployment that awaits an answer (``AWAITING_ACTION``).

    ECS API Reference, DeploymentLifecycleHookDetail
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHookDetail.html);
    ``deployment_approval_wait_time`` is such a hook (engines/ecs_native.py).
    """
    for hook in deployment.get("lifecycleHookDetails") or []:
        if hook.get("targetType") == "PAUSE" and hook.get("status") == "AWAITING_ACTION":
            return dict(hook)
    return None


def tail(arn: str) -> str:
    """The last part of an ARN: a service deployment's id."""
    return arn.rsplit("/", 1)[-1]
