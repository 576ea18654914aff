"""The props of ``BlueGreenFargateService`` as one object: what was given and its effective values.

The constructor's docstring documents every prop (and ``docs/props.md`` is generated from it); this
module holds them once they are given, so each step of the construction reads what it needs from
one place. Their cross-prop checks are ``prop_checks.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from .configuration import defaults
from .deployment.step_analysis import StepAnalysis
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
    from .deployment.migration import MigrationTask
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
    step_analysis: StepAnalysis | None
    migration_task: MigrationTask | None
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

    @property
    def shared_listeners(self) -> IBlueGreenLoadBalancer | None:
        """The shared load balancer whose listeners carry the service's rules (``routing``); else ``None``."""
        return self.shared_load_balancer if self.routing is not None else None

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
    """The user's health check, this library's defaults where it is silent (gRPC: ELB's gRPC path and codes)."""
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
