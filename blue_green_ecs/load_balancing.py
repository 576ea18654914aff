"""The load balancer side of a blue/green service: target groups, listeners and their access."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Annotations, Duration
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from . import defaults

_OPEN_TO_INTERNET = {"0.0.0.0/0", "::/0"}


def merged_health_check(health_check: elbv2.HealthCheck | None, path: str | None) -> elbv2.HealthCheck:
    """The user's health check with this library's defaults filled in where it is silent."""
    given = health_check or elbv2.HealthCheck()
    return elbv2.HealthCheck(
        enabled=True,
        path=given.path or path or defaults.HEALTH_CHECK_PATH,
        interval=given.interval or defaults.HEALTH_CHECK_INTERVAL,
        timeout=given.timeout or defaults.HEALTH_CHECK_TIMEOUT,
        healthy_threshold_count=given.healthy_threshold_count or defaults.HEALTHY_THRESHOLD_COUNT,
        unhealthy_threshold_count=given.unhealthy_threshold_count or defaults.UNHEALTHY_THRESHOLD_COUNT,
        healthy_http_codes=given.healthy_http_codes or defaults.HEALTHY_HTTP_CODES,
        port=given.port,
        protocol=given.protocol,
    )


def target_group(
    scope: Construct,
    construct_id: str,
    *,
    vpc: ec2.IVpc,
    port: float,
    health_check: elbv2.HealthCheck,
    deregistration_delay: Duration,
) -> elbv2.ApplicationTargetGroup:
    """One of the pair: type ``ip`` (Fargate's awsvpc tasks), sharing one health check."""
    return elbv2.ApplicationTargetGroup(
        scope,
        construct_id,
        vpc=vpc,
        port=port,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
        health_check=health_check,
        deregistration_delay=deregistration_delay,
    )


def open_test_listener(
    scope: Construct,
    listener: elbv2.ApplicationListener,
    peers: Sequence[ec2.IPeer],
) -> None:
    """Admit only the named peers to the test listener, and flag any that is the whole internet."""
    for peer in peers:
        listener.connections.allow_default_port_from(peer, "Test traffic to the green task set")
        if peer.unique_id in _OPEN_TO_INTERNET:
            Annotations.of(scope).add_warning_v2(
                "blue-green-ecs:testListenerOpen",
                f"test_listener_allowed_peers includes {peer.unique_id}: anyone on the internet can reach "
                "the green task set before it receives production traffic. Name the CIDRs or security "
                "groups of your testers instead.",
            )


def listener_protocol(certificate: acm.ICertificate | None) -> elbv2.ApplicationProtocol:
    """HTTPS when a certificate is given, HTTP otherwise."""
    return elbv2.ApplicationProtocol.HTTPS if certificate else elbv2.ApplicationProtocol.HTTP


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> ec2.SelectedSubnets:
    """``vpc.select_subnets`` for a SubnetSelection value (the jsii binding takes its fields as keywords)."""
    return vpc.select_subnets(
        availability_zones=selection.availability_zones,
        one_per_az=selection.one_per_az,
        subnet_filters=selection.subnet_filters,
        subnet_group_name=selection.subnet_group_name,
        subnets=selection.subnets,
        subnet_type=selection.subnet_type,
    )
