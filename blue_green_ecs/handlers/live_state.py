"""Reading what runs and what CodeDeploy does, and comparing it with the request.

The live state is read from ECS and CodeDeploy, never remembered: the PRIMARY task set of the service (or
the service itself when it has no task sets) is compared with the request (task definition, network
configuration, platform version unless LATEST, container name/port, capacity provider strategy), and a
request's own deployment is found by the marker in its description (see ``request.marker``).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import appspec, messages
    from .aws import Aws
    from .request import DeploymentRequest, task_definition_key
else:
    # Top-level modules inside the Lambda asset, blue_green_ecs.handlers.* in the library.
    messages = importlib.import_module(f"{__package__}.messages" if __package__ else "messages")
    _request = importlib.import_module(f"{__package__}.request" if __package__ else "request")
    task_definition_key = _request.task_definition_key

ACTIVE_STATUSES: tuple[str, ...] = ("Created", "Queued", "InProgress", "Baking", "Ready")
# Clocks of Lambda and CodeDeploy are not the same clock; a margin keeps our own deployment inside the
# createTimeRange filter.
CLOCK_SKEW = timedelta(minutes=5)
_BATCH_SIZE = 25  # BatchGetDeployments limit


def live_configuration(service: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    """Return (source, configuration) of what the service runs: its PRIMARY task set, else the service."""
    for task_set in service.get("taskSets") or []:
        if task_set.get("status") == "PRIMARY":
            return f"PRIMARY task set {task_set.get('id', '?')}", task_set
    return "service", service


def differences(target: appspec.AppSpecTarget, live: Mapping[str, Any]) -> list[str]:
    """List what the live configuration lacks of the request; empty means no deployment is needed."""
    found = []
    live_task_definition = str(live.get("taskDefinition") or "")
    if task_definition_key(live_task_definition) != task_definition_key(target.task_definition):
        found.append(f"task definition {live_task_definition or '(none)'} -> {target.task_definition}")
    if target.subnets:
        awsvpc = (live.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        if sorted(awsvpc.get("subnets") or []) != sorted(target.subnets):
            found.append(f"subnets {sorted(awsvpc.get('subnets') or [])} -> {sorted(target.subnets)}")
        live_groups = sorted(awsvpc.get("securityGroups") or [])
        if live_groups != sorted(target.security_groups):
            found.append(f"security groups {live_groups} -> {sorted(target.security_groups)}")
        live_public_ip = awsvpc.get("assignPublicIp") or "DISABLED"
        if live_public_ip != target.assign_public_ip:
            found.append(f"assign public IP {live_public_ip} -> {target.assign_public_ip}")
    # ECS reports the resolved version (e.g. 1.4.0) for LATEST, so LATEST cannot be compared.
    if target.platform_version and target.platform_version.upper() != "LATEST":
        live_platform = live.get("platformVersion")
        if live_platform != target.platform_version:
            found.append(f"platform version {live_platform} -> {target.platform_version}")
    live_containers = {(lb.get("containerName"), lb.get("containerPort")) for lb in live.get("loadBalancers") or []}
    if live_containers and (target.container_name, target.container_port) not in live_containers:
        found.append(
            f"load balancer container {sorted(live_containers, key=str)} -> "
            f"({target.container_name!r}, {target.container_port})"
        )
    if target.capacity_provider_strategy:
        live_strategy = sorted(
            (item.get("capacityProvider", ""), item.get("base", 0), item.get("weight", 0))
            for item in live.get("capacityProviderStrategy") or []
        )
        wanted = sorted(item.comparable() for item in target.capacity_provider_strategy)
        if live_strategy != wanted:
            found.append(f"capacity provider strategy {live_strategy} -> {wanted}")
    return found


def describe_service(aws: Aws, request: DeploymentRequest) -> Mapping[str, Any]:
    """The ECS service, which must exist, be ACTIVE and use the CODE_DEPLOY deployment controller."""
    response = aws.ecs("describe_services", cluster=request.cluster, services=[request.service])
    services = response.get("services") or []
    if not services:
        failures = response.get("failures") or [{}]
        reason = failures[0].get("reason") or "not returned"
        raise messages.DeploymentError(
            f"{request.service_label} was not found (ecs:DescribeServices reported {reason}). "
            "Check ClusterName and ServiceName."
        )
    service: Mapping[str, Any] = services[0]
    if service.get("status") != "ACTIVE":
        raise messages.DeploymentError(f"{request.service_label} is {service.get('status')}, not ACTIVE.")
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "CODE_DEPLOY":
        raise messages.DeploymentError(
            f"{request.service_label} uses the {controller} deployment controller; blue/green "
            "deployments through CodeDeploy need the CODE_DEPLOY deployment controller."
        )
    return service


def list_deployments(aws: Aws, request: DeploymentRequest, **filters: Any) -> list[str]:
    """Ids of the group's deployments matching ``filters`` (ListDeployments, every page)."""
    ids: list[str] = []
    params: dict[str, Any] = {
        "applicationName": request.application_name,
        "deploymentGroupName": request.deployment_group_name,
        **filters,
    }
    while True:
        response = aws.codedeploy("list_deployments", **params)
        ids.extend(response.get("deployments") or [])
        token = response.get("nextToken")
        if not token:
            return ids
        params["nextToken"] = token


def find_own(aws: Aws, request: DeploymentRequest, marker: str, since: datetime | None) -> Mapping[str, Any] | None:
    """The deployment whose description holds ``marker``, created since ``since`` (less the clock skew)."""
    filters: dict[str, Any] = {}
    if since is not None:
        filters["createTimeRange"] = {"start": since - CLOCK_SKEW}
    mine: list[Mapping[str, Any]] = []
    for chunk in _chunks(list_deployments(aws, request, **filters), _BATCH_SIZE):
        infos = aws.codedeploy("batch_get_deployments", deploymentIds=chunk).get("deploymentsInfo") or []
        mine.extend(info for info in infos if marker in (info.get("description") or ""))
    if not mine:
        return None
    # Several only after a retried create; the active one (else the newest) is the one that counts.
    return max(
        mine,
        key=lambda info: (
            info.get("status") in ACTIVE_STATUSES,
            as_utc(info.get("createTime")) or datetime.min.replace(tzinfo=UTC),
        ),
    )


def as_utc(value: Any) -> datetime | None:
    """A datetime from botocore, aware; anything else is None."""
    if not isinstance(value, datetime):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
