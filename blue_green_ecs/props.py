"""The props of ``BlueGreenFargateService`` as one object: what was given, its effective values, its checks.

The constructor's docstring documents every prop (and ``docs/props.md`` is generated from it); this
module holds them once they are given, so each step of the construction reads what it needs from
one place, and the cross-prop checks run before anything is created (as AWS Solutions Constructs'
``CheckProps`` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_cdk import CfnResource, Duration
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from .configuration import defaults, limits
from .configuration.validation import (
    check_distinct_ports,
    check_duration,
    check_fargate_size,
    check_health_check,
    check_int,
    check_names,
    check_path,
    check_strings,
    invalid,
)
from .deployment.traffic_shift import TrafficShift
from .load_balancing.edge import EdgeProps
from .monitoring.rollback_alarms import RollbackAlarmOptions

if TYPE_CHECKING:
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_codedeploy as codedeploy
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_iam as iam
    from aws_cdk import aws_kms as kms
    from aws_cdk import aws_logs as logs
    from aws_cdk import aws_route53 as route53
    from aws_cdk import aws_s3 as s3
    from aws_cdk import aws_sns as sns

    from .deployment.hooks import DeploymentHooks, SmokeTest
    from .deployment.preflight import PreflightCheck
    from .engines import DeploymentEngine
    from .fargate.auto_scaling import AutoScaling
    from .load_balancing.edge import IBlueGreenLoadBalancer, Routing
    from .load_balancing.test_traffic import TestTrafficHeader


@dataclass(frozen=True)
class ServiceProps:
    """Every keyword argument of ``BlueGreenFargateService``, as given (``None``: not given)."""

    image: ecs.ContainerImage | None
    task_definition: ecs.FargateTaskDefinition | None
    engine: DeploymentEngine
    vpc: ec2.IVpc | None
    cluster: ecs.ICluster | None
    task_subnets: ec2.SubnetSelection | None
    assign_public_ip: bool | None
    security_groups: Sequence[ec2.ISecurityGroup] | None
    cpu: int
    memory_limit_mib: int
    container_cpu: int | None
    container_memory_limit_mib: int | None
    runtime_platform: ecs.RuntimePlatform | None
    ephemeral_storage_gib: int | None
    family: str | None
    task_role: iam.IRole | None
    execution_role: iam.IRole | None
    container_name: str
    container_port: int
    environment: Mapping[str, str] | None
    secrets: Mapping[str, ecs.Secret] | None
    command: Sequence[str] | None
    entry_point: Sequence[str] | None
    docker_labels: Mapping[str, str] | None
    readonly_root_filesystem: bool
    log_driver: ecs.LogDriver | None
    log_retention: logs.RetentionDays
    log_encryption_key: kms.IKey | None
    desired_count: int
    auto_scaling: AutoScaling | None
    platform_version: ecs.FargatePlatformVersion | None
    capacity_provider_strategies: Sequence[ecs.CapacityProviderStrategy] | None
    health_check_grace_period: Duration | None
    enable_execute_command: bool
    propagate_tags: ecs.PropagatedTagSource | None
    enable_ecs_managed_tags: bool
    service_name: str | None
    public_load_balancer: bool
    open_listener: bool
    load_balancer_name: str | None
    idle_timeout: Duration | None
    deletion_protection: bool
    access_logs: bool
    access_logs_bucket: s3.IBucket | None
    access_logs_prefix: str | None
    access_logs_retention: Duration
    certificate: acm.ICertificate | None
    ssl_policy: elbv2.SslPolicy | None
    redirect_http: bool
    listener_port: int | None
    test_listener_port: int | None
    test_listener_allowed_peers: Sequence[ec2.IPeer] | None
    health_check_path: str | None
    health_check: elbv2.HealthCheck | None
    deregistration_delay: Duration | None
    protocol_version: elbv2.ApplicationProtocolVersion | None
    traffic_shift: TrafficShift | None
    termination_wait: Duration | None
    deployment_approval_wait_time: Duration | None
    alarms: Sequence[cloudwatch.IAlarm] | None
    rollback_alarm_options: RollbackAlarmOptions | None
    application: codedeploy.IEcsApplication | None
    deployment_group_name: str | None
    deploy_on_update: bool
    deployment_timeout: Duration | None
    hooks: DeploymentHooks | None
    smoke_test: SmokeTest | None
    preflight_check: PreflightCheck | None
    shared_load_balancer: IBlueGreenLoadBalancer | None
    routing: Routing | None
    test_traffic_header: TestTrafficHeader | None
    service_connect: ecs.ServiceConnectProps | None
    cloud_map_options: ecs.CloudMapOptions | None
    outputs: bool
    dashboard: bool
    notifications_topic: sns.ITopic | None
    domain_name: str | None
    domain_zone: route53.IHostedZone | None

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any]) -> ServiceProps:
        """The props from the constructor's ``locals()``, read before it assigns anything: one line in the
        constructor instead of one per prop, and a prop missing here fails every test (``KeyError``)."""
        return cls(**{field.name: arguments[field.name] for field in dataclasses.fields(cls)})

    # The effective values: the given one, or the documented default.

    @cached_property
    def shift(self) -> TrafficShift:
        return self.traffic_shift or TrafficShift.canary(
            percent=defaults.CANARY_PERCENT, interval=defaults.CANARY_INTERVAL
        )

    @cached_property
    def wait(self) -> Duration:
        return self.termination_wait if self.termination_wait is not None else defaults.TERMINATION_WAIT

    @cached_property
    def alarm_options(self) -> RollbackAlarmOptions:
        return self.rollback_alarm_options or RollbackAlarmOptions()

    @cached_property
    def edge(self) -> EdgeProps:
        """The props of the service's own load balancer and listeners."""
        return EdgeProps(**{field.name: getattr(self, field.name) for field in dataclasses.fields(EdgeProps)})

    @property
    def protocol(self) -> elbv2.ApplicationProtocol:
        return self.edge.protocol

    @property
    def https(self) -> bool:
        return self.edge.https

    @property
    def prod_port(self) -> int:
        return self.edge.prod_port

    @property
    def test_port(self) -> int:
        return self.edge.test_port

    @property
    def redirect(self) -> bool:
        return self.edge.redirect

    @cached_property
    def drain(self) -> Duration:
        return self.deregistration_delay if self.deregistration_delay is not None else defaults.DEREGISTRATION_DELAY

    @cached_property
    def grace(self) -> Duration:
        given = self.health_check_grace_period
        return given if given is not None else defaults.HEALTH_CHECK_GRACE_PERIOD

    @cached_property
    def full_health_check(self) -> elbv2.HealthCheck:
        return merged_health_check(self.health_check, self.health_check_path, grpc=self.grpc)

    @property
    def target_protocol_version(self) -> elbv2.ApplicationProtocolVersion | None:
        """The target groups' protocol version as written: ``None`` for HTTP1, ELB's default (writing it would
        change a create-only property of target groups created without it, and replace them)."""
        version = self.protocol_version
        return None if version is None or version == elbv2.ApplicationProtocolVersion.HTTP1 else version

    @property
    def grpc(self) -> bool:
        return self.protocol_version == elbv2.ApplicationProtocolVersion.GRPC

    @property
    def extra_alarms(self) -> list[cloudwatch.IAlarm]:
        return list(self.alarms or [])

    @property
    def built_in_alarm_count(self) -> int:
        return self.alarm_options.alarm_count


def merged_health_check(
    health_check: elbv2.HealthCheck | None, path: str | None, *, grpc: bool = False
) -> elbv2.HealthCheck:
    """The user's health check with this library's defaults filled in where it is silent (a gRPC target group's:
    ELB's gRPC path and codes)."""
    given = health_check or elbv2.HealthCheck()
    default_path = defaults.GRPC_HEALTH_CHECK_PATH if grpc else defaults.HEALTH_CHECK_PATH
    return elbv2.HealthCheck(
        enabled=True,
        path=given.path or path or default_path,
        interval=given.interval or defaults.HEALTH_CHECK_INTERVAL,
        timeout=given.timeout or defaults.HEALTH_CHECK_TIMEOUT,
        healthy_threshold_count=given.healthy_threshold_count or defaults.HEALTHY_THRESHOLD_COUNT,
        unhealthy_threshold_count=given.unhealthy_threshold_count or defaults.UNHEALTHY_THRESHOLD_COUNT,
        healthy_http_codes=None if grpc else given.healthy_http_codes or defaults.HEALTHY_HTTP_CODES,
        healthy_grpc_codes=(given.healthy_grpc_codes or defaults.HEALTHY_GRPC_CODES) if grpc else None,
        port=given.port,
        protocol=given.protocol,
    )


def check_props(props: ServiceProps) -> None:
    """The checks every engine needs, before anything is created, so a bad value fails with its own message."""
    _check_types(props)
    if props.vpc is not None and props.cluster is not None:
        raise invalid(
            "vpc", props.vpc.node.path, "give either vpc or cluster, not both (the service uses the cluster's VPC)."
        )
    if props.health_check_path is not None:
        if props.health_check is not None and props.health_check.path is not None:
            raise invalid(
                "health_check_path",
                props.health_check_path,
                "health_check.path is also set; give the path in one place only.",
            )
        check_path("health_check_path", props.health_check_path)
    _check_protocol_version(props)
    check_health_check(props.full_health_check)
    check_fargate_size(props.cpu, props.memory_limit_mib)
    if props.ephemeral_storage_gib is not None:
        check_int("ephemeral_storage_gib", props.ephemeral_storage_gib, minimum=21, maximum=200, unit="GiB")
    check_names(
        container_name=props.container_name,
        family=props.family,
        service_name=props.service_name,
        load_balancer_name=props.load_balancer_name,
        deployment_group_name=props.deployment_group_name,
        access_logs_prefix=props.access_logs_prefix,
    )
    _check_pairs(props)
    _check_public_subnets(props)
    _check_numbers(props)
    props.alarm_options.validate()
    if props.auto_scaling is not None:
        props.auto_scaling.validate(props.desired_count)
    _check_smoke_test(props)
    _check_preflight(props)


def _check_pairs(props: ServiceProps) -> None:
    """Props that only make sense together."""
    if (props.domain_name is None) != (props.domain_zone is None):
        named = "domain_name" if props.domain_name is not None else "domain_zone"
        raise invalid(
            named,
            props.domain_name if props.domain_name is not None else "<hosted zone>",
            "domain_name and domain_zone go together; pass both, or neither.",
        )
    if props.ssl_policy is not None and props.certificate is None:
        raise invalid(
            "ssl_policy",
            f"SslPolicy.{props.ssl_policy.name}",
            "a TLS policy needs HTTPS listeners; pass certificate= as well, or drop ssl_policy.",
        )
    if not props.access_logs and (props.access_logs_bucket is not None or props.access_logs_prefix is not None):
        raise invalid(
            "access_logs",
            props.access_logs,
            "access_logs_bucket or access_logs_prefix is set too; drop them or enable access logs.",
        )


def _check_numbers(props: ServiceProps) -> None:
    """Ports, counts and durations within what AWS accepts."""
    check_int("container_port", props.container_port, minimum=1, maximum=65535)
    check_int("desired_count", props.desired_count, minimum=0, maximum=5000, unit="tasks")
    for name, port in (("listener_port", props.prod_port), ("test_listener_port", props.test_port)):
        check_int(name, port, minimum=1, maximum=65535)
    ports: dict[str, float] = {"listener_port": props.prod_port, "test_listener_port": props.test_port}
    if props.redirect:
        ports = {"redirect_http (port 80)": defaults.HTTP_PORT, **ports}
    check_distinct_ports(ports)
    check_duration("deregistration_delay", props.drain, minimum_seconds=0, maximum_seconds=3600)
    check_duration("health_check_grace_period", props.grace, minimum_seconds=0, maximum_seconds=2_147_483_647)
    check_duration(
        "termination_wait",
        props.wait,
        minimum_seconds=0,
        maximum_seconds=defaults.MAX_TERMINATION_WAIT_MINUTES * 60,
        whole_minutes=True,
    )
    if props.deployment_approval_wait_time is not None:
        check_duration(
            "deployment_approval_wait_time",
            props.deployment_approval_wait_time,
            minimum_seconds=60,
            maximum_seconds=limits.MAX_APPROVAL_MINUTES[props.engine.value] * 60,
            whole_minutes=True,
        )
    if props.idle_timeout is not None:
        check_duration("idle_timeout", props.idle_timeout, minimum_seconds=1, maximum_seconds=4000)


def _check_protocol_version(props: ServiceProps) -> None:
    """Health check codes of the target groups' protocol version; HTTP/2 and gRPC only behind HTTPS listeners."""
    codes = props.health_check
    for name, wrong in (("healthy_http_codes", props.grpc), ("healthy_grpc_codes", not props.grpc)):
        if wrong and codes is not None and getattr(codes, name) is not None:
            raise invalid(
                f"health_check.{name}",
                getattr(codes, name),
                "a target group matches gRPC codes with protocol_version=ApplicationProtocolVersion.GRPC, HTTP codes "
                "otherwise (ELB's Matcher); give the other one, or change protocol_version.",
            )
    version = props.target_protocol_version
    if version is None:
        return
    shown = f"ApplicationProtocolVersion.{version.name}"
    shared = props.shared_load_balancer
    if (shared.https if shared is not None else props.https) is False:
        raise invalid(
            "protocol_version",
            shown,
            "an Application Load Balancer sends HTTP/2 and gRPC to targets only from HTTPS listeners (ELB "
            "Application Load Balancers Guide, 'Protocol version'); pass certificate= (with shared_load_balancer: "
            "the BlueGreenLoadBalancer's), or use HTTP1.",
        )
    if props.smoke_test is not None:
        raise invalid(
            "smoke_test",
            "SmokeTest(...)",
            f"the smoke test requests green over HTTP/1.1, which the load balancer does not send to {version.name} "
            "targets; run your own test as hooks=DeploymentHooks(after_allow_test_traffic=...), or drop smoke_test=.",
        )


def _check_smoke_test(props: ServiceProps) -> None:
    if props.smoke_test is None:
        return
    props.smoke_test.validate()
    if props.hooks is not None and props.hooks.after_allow_test_traffic is not None:
        raise invalid(
            "smoke_test",
            "SmokeTest(...)",
            "hooks.after_allow_test_traffic is also set and a deployment runs one function per "
            "lifecycle event; call your tests from one function or drop one of the two.",
        )


def _check_preflight(props: ServiceProps) -> None:
    check = props.preflight_check
    if check is None:
        return
    if isinstance(check, bool):
        raise TypeError(f"Invalid preflight_check={check!r}: use PreflightCheck() to turn it on, or None.")
    check.validate()
    if props.hooks is not None and props.hooks.before_install is not None:
        raise invalid(
            "preflight_check",
            "PreflightCheck(...)",
            "hooks.before_install is also set and a deployment runs one function per lifecycle event (CodeDeploy's "
            "AppSpec names one per event); move your function to hooks.after_install, or drop one of the two.",
        )


# Props whose value is a Duration: a bare number has no unit (and would fail deep inside aws-cdk-lib).
_DURATION_PROPS = (
    "health_check_grace_period",
    "idle_timeout",
    "access_logs_retention",
    "deregistration_delay",
    "termination_wait",
    "deployment_approval_wait_time",
    "deployment_timeout",
)


def _check_types(props: ServiceProps) -> None:
    """Values of the wrong kind, each named with the kind to pass, before anything reads them."""
    check_strings("command", props.command)
    check_strings("entry_point", props.entry_point)
    for name in _DURATION_PROPS:
        value = getattr(props, name)
        if value is not None and not isinstance(value, Duration):
            example = f"Duration.minutes({value})" if isinstance(value, int | float) else "Duration.minutes(5)"
            raise TypeError(f"Invalid {name}={value!r}: use a Duration, e.g. {example} (a number has no unit).")
    if props.traffic_shift is not None and not isinstance(props.traffic_shift, TrafficShift):
        raise TypeError(
            f"Invalid traffic_shift={props.traffic_shift!r}: use TrafficShift.canary(...), TrafficShift.linear(...) "
            "or TrafficShift.all_at_once()."
        )
    for name, interface in (("vpc", "ec2.IVpc"), ("cluster", "ecs.ICluster")):
        value = getattr(props, name)
        if isinstance(value, CfnResource):
            # An L1 has no .vpc, .select_subnets, ...: it is a CloudFormation resource, not the interface.
            kind = type(value).__name__
            imported = (
                "ec2.Vpc.from_vpc_attributes(...)" if name == "vpc" else "ecs.Cluster.from_cluster_attributes(...)"
            )
            raise TypeError(
                f"Invalid {name}={value.node.path!r}: an L1 {kind} is not an {interface}; pass the L2 construct, "
                f"or {imported} with its ids (e.g. cluster_name=cfn.ref) and its VPC."
            )


def _check_public_subnets(props: ServiceProps) -> None:
    """An internet-facing load balancer needs public subnets; say so before aws-cdk-lib's subnet lookup does."""
    vpc = props.vpc or (props.cluster.vpc if props.cluster is not None else None)
    if vpc is None or not props.public_load_balancer or vpc.public_subnets:
        return
    raise invalid(
        "public_load_balancer",
        True,
        f"the VPC {vpc.node.path!r} has no public subnets, and an internet-facing load balancer needs them "
        "(the default). Pass public_load_balancer=False for an internal load balancer in the private subnets, "
        "or a VPC with public subnets.",
    )
