"""The ECS AppSpec, from the deployment trigger's resource properties.

Standard library only: the deployment handler builds the AppSpec it sends to CodeDeploy with it, and
the library renders appspec.yaml for CodePipeline with it, so both always agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

HOOK_NAMES: tuple[str, ...] = (
    "BeforeInstall",
    "AfterInstall",
    "AfterAllowTestTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
)


def to_int(value: Any, name: str) -> int:
    """Convert a CloudFormation string number (or an int) to int, naming the property on failure."""
    if isinstance(value, bool):
        raise ValueError(f"Property '{name}' must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError(f"Property '{name}' must be an integer, got {value!r}")


def required_str(properties: Mapping[str, Any], name: str) -> str:
    value = properties.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"Missing required property '{name}' (got {value!r})")
    return value.strip()


def optional_str(properties: Mapping[str, Any], name: str) -> str | None:
    value = properties.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ValueError(f"Property '{name}' must be a string, got {value!r}")
    return value.strip()


def string_list(properties: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = properties.get(name)
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        # Tolerate a CommaDelimitedList that was passed through as one string.
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, Sequence) and all(isinstance(item, str) for item in value):
        return tuple(item for item in value if item)
    raise ValueError(f"Property '{name}' must be a list of strings, got {value!r}")


@dataclass(frozen=True)
class CapacityProviderItem:
    """One entry of a capacity provider strategy; Base and Weight stay None when not given."""

    capacity_provider: str
    base: int | None = None
    weight: int | None = None

    def to_appspec(self) -> dict[str, Any]:
        """Render the entry with the keys and order of the AppSpec documentation."""
        item: dict[str, Any] = {}
        if self.base is not None:
            item["Base"] = self.base
        item["CapacityProvider"] = self.capacity_provider
        if self.weight is not None:
            item["Weight"] = self.weight
        return item

    def comparable(self) -> tuple[str, int, int]:
        """Key with ECS's defaults applied, for comparing with what the service runs."""
        return (self.capacity_provider, self.base or 0, self.weight or 0)


@dataclass(frozen=True)
class AppSpecTarget:
    """The part of the resource properties that goes into the AppSpec."""

    task_definition: str
    container_name: str
    container_port: int
    platform_version: str | None = None
    subnets: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    assign_public_ip: str = "DISABLED"
    capacity_provider_strategy: tuple[CapacityProviderItem, ...] = ()
    hooks: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_properties(cls, properties: Mapping[str, Any]) -> AppSpecTarget:
        """Validate and convert the AppSpec-related properties (string numbers become ints)."""
        subnets = string_list(properties, "Subnets")
        security_groups = string_list(properties, "SecurityGroups")
        if security_groups and not subnets:
            # CodeDeploy takes all or none of the AwsvpcConfiguration settings.
            raise ValueError("Property 'SecurityGroups' needs 'Subnets' as well")
        assign_public_ip = (optional_str(properties, "AssignPublicIp") or "DISABLED").upper()
        if assign_public_ip not in ("ENABLED", "DISABLED"):
            raise ValueError(f"Property 'AssignPublicIp' must be ENABLED or DISABLED, got {assign_public_ip!r}")
        return cls(
            task_definition=required_str(properties, "TaskDefinitionArn"),
            container_name=required_str(properties, "ContainerName"),
            container_port=to_int(properties.get("ContainerPort"), "ContainerPort"),
            platform_version=optional_str(properties, "PlatformVersion"),
            subnets=subnets,
            security_groups=security_groups,
            assign_public_ip=assign_public_ip,
            capacity_provider_strategy=capacity_strategy(properties.get("CapacityProviderStrategy")),
            hooks=hooks_in_order(properties.get("Hooks")),
        )

    def appspec(self) -> dict[str, Any]:
        """Build the ECS AppSpec document exactly as CodeDeploy documents it."""
        properties: dict[str, Any] = {
            "TaskDefinition": self.task_definition,
            "LoadBalancerInfo": {"ContainerName": self.container_name, "ContainerPort": self.container_port},
        }
        if self.platform_version:
            properties["PlatformVersion"] = self.platform_version
        if self.subnets:
            properties["NetworkConfiguration"] = {
                "AwsvpcConfiguration": {
                    "Subnets": list(self.subnets),
                    "SecurityGroups": list(self.security_groups),
                    "AssignPublicIp": self.assign_public_ip,
                }
            }
        if self.capacity_provider_strategy:
            properties["CapacityProviderStrategy"] = [item.to_appspec() for item in self.capacity_provider_strategy]
        appspec: dict[str, Any] = {
            "version": 0.0,
            "Resources": [{"TargetService": {"Type": "AWS::ECS::Service", "Properties": properties}}],
        }
        if self.hooks:
            appspec["Hooks"] = [{name: function} for name, function in self.hooks]
        return appspec


def capacity_strategy(value: Any) -> tuple[CapacityProviderItem, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise ValueError(f"Property 'CapacityProviderStrategy' must be a list, got {value!r}")
    items = []
    for index, entry in enumerate(value):
        name = f"CapacityProviderStrategy[{index}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"Property '{name}' must be an object, got {entry!r}")
        base, weight = entry.get("Base"), entry.get("Weight")
        items.append(
            CapacityProviderItem(
                capacity_provider=required_str(entry, "CapacityProvider"),
                base=None if base in (None, "") else to_int(base, f"{name}.Base"),
                weight=None if weight in (None, "") else to_int(weight, f"{name}.Weight"),
            )
        )
    return tuple(items)


def hooks_in_order(value: Any) -> tuple[tuple[str, str], ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, Mapping):
        raise ValueError(f"Property 'Hooks' must be an object of hook name to Lambda function, got {value!r}")
    unknown = sorted(set(value) - set(HOOK_NAMES))
    if unknown:
        raise ValueError(f"Unknown hook(s) {', '.join(unknown)} in 'Hooks'; valid hooks: {', '.join(HOOK_NAMES)}")
    hooks = []
    # CodeDeploy runs hooks in lifecycle order whatever the order here; a fixed order keeps the AppSpec
    # (and its sha256) stable.
    for name in HOOK_NAMES:
        if name in value:
            function = value[name]
            if not isinstance(function, str) or not function:
                raise ValueError(f"Hook '{name}' must name a Lambda function, got {function!r}")
            hooks.append((name, function))
    return tuple(hooks)


def build_appspec(properties: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ECS AppSpec for the resource properties, with string numbers converted to ints.

    Only the AppSpec-related properties are read (TaskDefinitionArn, ContainerName, ContainerPort,
    PlatformVersion, Subnets, SecurityGroups, AssignPublicIp, CapacityProviderStrategy, Hooks), so the
    library can also render appspec.yaml for CodePipeline with a placeholder task definition.
    """
    return AppSpecTarget.from_properties(properties).appspec()
