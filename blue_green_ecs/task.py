"""What a service runs: the Fargate task definition, the application container, its log group, and the service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from . import defaults
from .acknowledgements import ignore_cfn_lint
from .log_groups import log_group as new_log_group
from .validation import invalid

if TYPE_CHECKING:
    from .props import ServiceProps


@dataclass(frozen=True)
class TaskParts:
    """The task definition, the container that receives traffic, and the log group (``None`` with
    a given ``log_driver``)."""

    task_definition: ecs.FargateTaskDefinition
    container: ecs.ContainerDefinition
    log_group: logs.ILogGroup | None


# Props that build the task definition and its container: a given task_definition already says all of them.
# (name, the value that means "not given").
_TASK_PROPS: tuple[tuple[str, object], ...] = (
    ("cpu", defaults.CPU),
    ("memory_limit_mib", defaults.MEMORY_LIMIT_MIB),
    ("runtime_platform", None),
    ("ephemeral_storage_gib", None),
    ("family", None),
    ("task_role", None),
    ("execution_role", None),
    ("environment", None),
    ("secrets", None),
    ("command", None),
    ("entry_point", None),
    ("docker_labels", None),
    ("readonly_root_filesystem", False),
    ("log_driver", None),
    ("log_encryption_key", None),
)


def check_task_source(props: ServiceProps) -> None:
    """``image`` (the construct builds the task definition) or ``task_definition`` (the user's): exactly one."""
    given = props.task_definition
    if given is None:
        if props.image is None:
            raise invalid(
                "image",
                None,
                "pass image= (the construct builds the task definition), or task_definition= with container_name=.",
            )
        return
    if props.image is not None:
        raise invalid(
            "task_definition",
            given.node.path,
            "image is given too; the task definition's containers have their images: drop image=, "
            "or drop task_definition= to let the construct build one.",
        )
    for name, not_given in _TASK_PROPS:
        value = getattr(props, name)
        if value is not not_given and value != not_given:
            raise invalid(
                name,
                value if isinstance(value, str | int | bool) else f"<{type(value).__name__}>",
                f"task_definition {given.node.path!r} is given, and it says this itself; set it there, or drop "
                "task_definition=.",
            )
    names = ", ".join(c.container_name for c in given.node.children if isinstance(c, ecs.ContainerDefinition))
    container = given.find_container(props.container_name)
    if container is None:
        raise invalid(
            "container_name",
            props.container_name,
            f"task_definition {given.node.path!r} has no container of that name (it has: {names or 'none'}); "
            "name the container that receives the load balancer's traffic.",
        )
    if container.find_port_mapping(props.container_port, ecs.Protocol.TCP) is None:
        raise invalid(
            "container_port",
            props.container_port,
            f"container {props.container_name!r} of task_definition {given.node.path!r} maps no such TCP port; "
            "add port_mappings=[ecs.PortMapping(container_port=...)] to it, or pass the port it maps.",
        )


def build_task(scope: Construct, props: ServiceProps) -> TaskParts:
    """One container, logging to a new log group unless ``log_driver`` says otherwise; or the given task
    definition, with ``container_name`` as the container that receives traffic."""
    if props.task_definition is not None:
        container = props.task_definition.find_container(props.container_name)
        assert container is not None  # check_task_source said so
        return TaskParts(props.task_definition, container, None)
    assert props.image is not None  # check_task_source said so
    task_definition = ecs.FargateTaskDefinition(
        scope,
        "TaskDefinition",
        cpu=props.cpu,
        memory_limit_mib=props.memory_limit_mib,
        runtime_platform=props.runtime_platform,
        ephemeral_storage_gib=props.ephemeral_storage_gib,
        family=props.family,
        task_role=props.task_role,
        execution_role=props.execution_role,
    )
    log_driver, log_group = props.log_driver, None
    if log_driver is None:
        log_group = new_log_group(scope, "Logs", retention=props.log_retention, encryption_key=props.log_encryption_key)
        log_driver = ecs.LogDrivers.aws_logs(stream_prefix=props.container_name, log_group=log_group)
    container = task_definition.add_container(
        "Container",
        image=props.image,
        container_name=props.container_name,
        port_mappings=[ecs.PortMapping(container_port=props.container_port, protocol=ecs.Protocol.TCP)],
        environment=dict(props.environment) if props.environment else None,
        secrets=dict(props.secrets) if props.secrets else None,
        command=list(props.command) if props.command else None,
        entry_point=list(props.entry_point) if props.entry_point else None,
        docker_labels=dict(props.docker_labels) if props.docker_labels else None,
        readonly_root_filesystem=props.readonly_root_filesystem,
        privileged=False,
        logging=log_driver,
    )
    return TaskParts(task_definition, container, log_group)


def build_service(
    scope: Construct,
    props: ServiceProps,
    *,
    cluster: ecs.ICluster,
    task_definition: ecs.FargateTaskDefinition,
    subnets: ec2.SubnetSelection,
    assign_public_ip: bool,
    engine_options: dict[str, Any],
) -> ecs.FargateService:
    """The Fargate service; ``engine_options`` (from the engine) make it deploy blue/green."""
    strategies = props.capacity_provider_strategies
    service = ecs.FargateService(
        scope,
        "Service",
        cluster=cluster,
        task_definition=task_definition,
        desired_count=props.desired_count,
        vpc_subnets=subnets,
        assign_public_ip=assign_public_ip,
        security_groups=list(props.security_groups) if props.security_groups else None,
        platform_version=props.platform_version,
        capacity_provider_strategies=list(strategies) if strategies else None,
        health_check_grace_period=props.grace,
        enable_execute_command=props.enable_execute_command,
        propagate_tags=props.propagate_tags,
        service_name=props.service_name,
        service_connect_configuration=props.service_connect,
        **engine_options,
    )
    if strategies:
        # CreateService fails with "capacity provider ... is not associated with the cluster" when it
        # runs before the cluster's capacity provider association (aws/containers-roadmap #631).
        # aws-cdk-lib creates that association inside the cluster construct, at synthesis (an Aspect),
        # so the dependency is on the construct; W3005: it includes the cluster, which Ref implies.
        service.node.add_dependency(cluster)
        resource = service.node.default_child
        assert isinstance(resource, CfnResource)
        ignore_cfn_lint(resource, "W3005")
    return service
