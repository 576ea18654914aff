"""What one deployment custom resource asks for: its properties, validated, and how it names itself.

Standard library only (and ``appspec``). The marker ``[cfn-request:<RequestId>]`` that ends every
deployment description this trigger creates is defined here: it is how a later poll, or a repeated
delivery of the same request, recognises the deployment the request already started.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import appspec
else:
    # Top-level module inside the Lambda asset, blue_green_ecs.handlers.appspec in the library.
    appspec = importlib.import_module(f"{__package__}.appspec" if __package__ else "appspec")

_MAX_DESCRIPTION = 400


def name_from_arn(value: str) -> str:
    """ECS ARNs end with the name: cluster/NAME, service/NAME or service/CLUSTER/NAME."""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


def task_definition_key(value: str) -> str:
    """``family:revision``: a full ARN and that short form name the same revision."""
    return value.split(":task-definition/", 1)[-1]


def marker(event: Mapping[str, Any]) -> str:
    """The mark of this CloudFormation request in a deployment's description (RequestIds are unique)."""
    return f"[cfn-request:{event.get('RequestId', '')}]"


def _strings(properties: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """An optional list of non-empty strings; a ValueError names the property."""
    value = properties.get(name)
    if value is None or value == "":
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
        raise ValueError(f"Property {name!r} must be a list of non-empty strings, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class DeploymentRequest:
    """Everything one custom resource asks for, validated."""

    application_name: str
    deployment_group_name: str
    cluster: str
    service: str
    target: appspec.AppSpecTarget
    timeout_minutes: int
    description: str | None = None
    # The log groups of the library's own hooks of the service (hook_reason.py reads their reasons).
    hook_log_groups: tuple[str, ...] = ()

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> DeploymentRequest:
        """Validate the custom resource's properties; a ValueError names the faulty property."""
        # Required: the construct always sets it, below the 58 minutes after which the trigger gives up.
        timeout = properties.get("TimeoutMinutes")
        if timeout is None or timeout == "":
            raise ValueError(f"Missing required property 'TimeoutMinutes' (got {timeout!r})")
        timeout_minutes = appspec.to_int(timeout, "TimeoutMinutes")
        if timeout_minutes < 1:
            raise ValueError(f"Property 'TimeoutMinutes' must be at least 1, got {timeout_minutes}")
        return cls(
            application_name=appspec.required_str(properties, "ApplicationName"),
            deployment_group_name=appspec.required_str(properties, "DeploymentGroupName"),
            cluster=appspec.required_str(properties, "ClusterName"),
            service=appspec.required_str(properties, "ServiceName"),
            target=appspec.AppSpecTarget.from_properties(properties),
            timeout_minutes=timeout_minutes,
            description=appspec.optional_str(properties, "Description"),
            hook_log_groups=_strings(properties, "HookLogGroups"),
        )

    @property
    def physical_resource_id(self) -> str:
        """Stable per service, so an Update never makes CloudFormation delete the old resource."""
        return f"blue-green-ecs/{name_from_arn(self.cluster)}/{name_from_arn(self.service)}"

    @property
    def group_label(self) -> str:
        """How messages name the deployment group."""
        return f"CodeDeploy application '{self.application_name}', deployment group '{self.deployment_group_name}'"

    @property
    def service_label(self) -> str:
        """How messages name the ECS service."""
        return f"ECS service '{self.service}' in cluster '{self.cluster}'"

    def deployment_description(self, event: Mapping[str, Any]) -> str:
        """The deployment's description: the given Description, else stack/resource: revision; then the marker."""
        stack_id = str(event.get("StackId", ""))
        stack = stack_id.split("/")[1] if stack_id.count("/") >= 2 else stack_id
        text = self.description or (
            f"CloudFormation {stack}/{event.get('LogicalResourceId', '')}: "
            f"{task_definition_key(self.target.task_definition)}"
        )
        if len(text) > _MAX_DESCRIPTION:
            text = text[: _MAX_DESCRIPTION - 3] + "..."
        return f"{text} {marker(event)}"
