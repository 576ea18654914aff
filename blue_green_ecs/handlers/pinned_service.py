"""What CloudFormation created a CODE_DEPLOY service with (``Custom::BlueGreenEcsPinnedService``), kept for its updates.

ECS refuses UpdateService of a CODE_DEPLOY service's load balancers, network configuration and platform version
(ECS API Reference, UpdateService; "Unable to update load balancers on services with a CODE_DEPLOY deployment
controller", kayac/ecspresso #393). So the service's template must write them, on every update, as CloudFormation
applied them when it created the service (``PINNED_KEYS``); a change of them reaches the tasks through the
deployment trigger's AppSpec.

The live service does not tell them: CodeDeploy makes each deployment's task set PRIMARY
(UpdateServicePrimaryTaskSet), and "any parameters that are updated on the primary task set in a service will
transition to the service" (ECS API Reference, UpdateServicePrimaryTaskSet): after an odd number of deployments
DescribeServices names the green target group (kayac/ecspresso #936), and, assumed from "any parameters", the
network the AppSpec deployed. Nor does CloudFormation send a custom resource its previous ``Data``. What it does
send with every Update is the PhysicalResourceId the resource answered last; an answer with another one is a
replacement, and the old one gets a Delete (CloudFormation User Guide, custom resource response objects). When such
an update rolls back, the new one is deleted and the old one comes back with its ``Data``, as any replaced resource
does (the simulator's model).

So this resource holds the values in its physical id. Its properties name the service (cluster, name: CloudFormation
replaces the service when either changes) and carry the lookup's answer for a new service (``Candidate``: the
lookup reads where production is). For another service than the one its physical id names (its Create, a
replacement) it answers the candidate and holds it; for the same service, what it holds. It makes no AWS call, and
its ``Data`` holds nothing that a deployment moves: unlike the lookup's, it is right again when a rollback brings
it back. The lookup itself keeps its physical id, and is asked again on a rollback.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import messages
else:
    # Top-level modules inside the Lambda asset, blue_green_ecs.handlers.* in the library.
    messages = importlib.import_module(f"{__package__}.messages" if __package__ else "messages")

RESOURCE_TYPE = "Custom::BlueGreenEcsPinnedService"
TARGET_GROUP = "ServiceTargetGroupArn"
VALUE_KEYS = ("ContainerName", "ContainerPort", "Subnets", "SecurityGroups", "AssignPublicIp", "PlatformVersion")
PINNED_KEYS = (TARGET_GROUP, *VALUE_KEYS)
ROLES = ("blue", "green")  # the target group is held by its role in the pair: a shorter physical id
ID_PREFIX = "blue-green-ecs-pinned-service/"
SEPARATOR = "#"
# "can be up to 1 KB in size" (CloudFormation User Guide, custom resource response objects). The values of the
# largest configuration ECS takes (16 subnets, 5 security groups, a container name of 255 characters) fit:
# tests/handlers/test_live_lookup.py.
MAX_PHYSICAL_ID_BYTES = 1024


def on_event(event: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """(PhysicalResourceId, Data) of a Create, Update or Delete; invalid properties raise a DeploymentError."""
    known = str(event.get("PhysicalResourceId") or "")
    if event.get("RequestType") == "Delete":
        return known, {}
    properties = event.get("ResourceProperties") or {}
    pair = tuple(_text(properties, key) for key in ("BlueTargetGroupArn", "GreenTargetGroupArn"))
    identity = [_text(properties, "ClusterName"), str(properties.get("ServiceName") or ""), pair[0]]
    base = ID_PREFIX + hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    held_base, held = split(known) if event.get("RequestType") == "Update" else ("", None)
    pinned = held if held is not None and held_base == base else _candidate(properties, pair)
    physical_id = base + SEPARATOR + json.dumps({key: pinned[key] for key in PINNED_KEYS}, separators=(",", ":"))
    if len(physical_id.encode()) > MAX_PHYSICAL_ID_BYTES:
        raise messages.DeploymentError(
            f"The service's load balancer and network settings are longer than a physical id holds (1 KB): "
            f"{physical_id}. Give the service fewer subnets or security groups, or a shorter container_name."
        )
    return physical_id, {**pinned, TARGET_GROUP: pair[ROLES.index(pinned[TARGET_GROUP])]}


def split(physical_id: str) -> tuple[str, dict[str, str] | None]:
    """(the id's service part, the values it holds or None when it holds none this module wrote)."""
    base, separator, written = physical_id.partition(SEPARATOR)
    try:
        held = json.loads(written) if separator else None
    except ValueError:
        return base, None
    if not isinstance(held, dict) or sorted(held) != sorted(PINNED_KEYS) or held[TARGET_GROUP] not in ROLES:
        return base, None
    if not all(isinstance(value, str) for value in held.values()):
        return base, None
    return base, {str(key): str(value) for key, value in held.items()}


def _candidate(properties: Mapping[str, Any], pair: tuple[str, ...]) -> dict[str, str]:
    candidate = properties.get("Candidate")
    if not isinstance(candidate, Mapping) or any(key not in candidate for key in PINNED_KEYS):
        raise messages.DeploymentError(
            f"The pinned service's property 'Candidate' must hold {list(PINNED_KEYS)}, got {candidate!r}."
        )
    target_group = str(candidate[TARGET_GROUP])
    if target_group not in pair:
        raise messages.DeploymentError(
            f"The pinned service's candidate target group {target_group} is neither of its pair {list(pair)}."
        )
    return {**{key: str(candidate[key]) for key in VALUE_KEYS}, TARGET_GROUP: ROLES[pair.index(target_group)]}


def _text(properties: Mapping[str, Any], key: str) -> str:
    value = properties.get(key)
    if not value:
        raise messages.DeploymentError(f"The pinned service is missing the property '{key}' (got {value!r}).")
    return str(value)


def live(service: Mapping[str, Any], entry: Mapping[str, Any], data: Mapping[str, str]) -> dict[str, str]:
    """A CODE_DEPLOY service's values as DescribeServices reports them: the lookup's candidate for a service this
    resource does not hold yet (one created by a release without it): right while nothing the AppSpec deployed
    since the service's creation changed them."""
    awsvpc = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    return {
        "ContainerName": str(entry.get("containerName") or data["ContainerName"]),
        "ContainerPort": str(entry.get("containerPort") or data["ContainerPort"]),
        "Subnets": ",".join(awsvpc["subnets"]) if awsvpc.get("subnets") else data["Subnets"],
        "SecurityGroups": ",".join(awsvpc["securityGroups"])
        if awsvpc.get("securityGroups")
        else data["SecurityGroups"],
        "AssignPublicIp": str(awsvpc.get("assignPublicIp") or data["AssignPublicIp"]),
        "PlatformVersion": _platform_version(service.get("platformVersion"), data["PlatformVersion"]),
    }


def _platform_version(live: Any, configured: str) -> str:
    """The live platform version, except that LATEST stays LATEST: a CODE_DEPLOY service created with LATEST
    reports what LATEST resolved to (1.4.0), an ECS-controller service LATEST (aws/containers-roadmap #2840);
    answering 1.4.0 to a template that says LATEST is a change, which UpdateService refuses on CODE_DEPLOY."""
    if not live:
        return configured
    if configured.upper() == "LATEST" and str(live).upper() != "LATEST":
        return configured
    return str(live)
