"""What a service runs: the Fargate task definition, the application container, its log group, and the service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Annotations, CfnResource
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import ignore_cfn_lint
from ..configuration.validation import check_int, invalid, unresolved
from ..functions.log_groups import log_group as new_log_group

if TYPE_CHECKING:
    from ..props import ServiceProps


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
    ("container_cpu", None),
    ("container_memory_limit_mib", None),
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
        _check_container_size(props)
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


def _check_container_size(props: ServiceProps) -> None:
    """What the container reserves fits in its task (ECS API Reference, ContainerDefinition ``cpu`` and ``memory``;
    Docker reserves at least 6 MiB for a container)."""
    for name, value, task, size, least, unit in (
        ("container_cpu", props.container_cpu, "cpu", props.cpu, 0, "CPU units"),
        (
            "container_memory_limit_mib",
            props.container_memory_limit_mib,
            "memory_limit_mib",
            props.memory_limit_mib,
            6,
            "MiB",
        ),
    ):
        if value is not None and not unresolved(size):
            check_int(name, value, minimum=least, maximum=int(size), unit=f"{unit} (at most the task's {task})")


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
        cpu=props.container_cpu,
        memory_limit_mib=props.container_memory_limit_mib,
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
    warn_that_desired_count_is_initial(scope, props)
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
        cloud_map_options=props.cloud_map_options,
        enable_ecs_managed_tags=props.enable_ecs_managed_tags,
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


def warn_that_desired_count_is_initial(scope: Construct, props: ServiceProps) -> None:
    """aws-ecs-patterns' services scale to a new ``desired_count`` on a stack update; this one keeps the running
    count (the live-state lookup reads it back, so autoscaling and operators are not undone): say so."""
    count = props.desired_count
    if unresolved(count) or count == defaults.DESIRED_COUNT:
        return
    scale = (
        "auto_scaling's policies set the running count between min_capacity and max_capacity: change those to scale"
        if props.auto_scaling
        else "scale a running service with auto_scaling=AutoScaling(...) or "
        "`aws ecs update-service --cluster <cluster> --service <service> --desired-count <n>`"
    )
    Annotations.of(scope).add_warning_v2(
        "blue-green-ecs:desiredCountIsInitial",
        f"desired_count={count} is the task count a new service starts with: a stack update keeps the running count "
        "(the live-state lookup reads it back), so changing desired_count later does not scale the service; "
        f"{scale}.",
    )
