"""The load balancer side of a blue/green service: load balancer, target groups, listeners and their access."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from ..configuration import defaults
from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from .access_logs import enable_access_logs
from .edge import EdgeProps, skip_http_listener_checks, warn_of_open_test_listener
from .listener_pair import build_listener_pair
from .parts import LoadBalancerParts
from .shared_resources import SharedAccessLogs

if TYPE_CHECKING:
    from aws_cdk import aws_route53 as route53
    from aws_cdk import aws_s3 as s3

    from ..props import ServiceProps

# The engine's say in a listener: its default action, given the listener's initial target group.
ListenerDefaults = Callable[[elbv2.IApplicationTargetGroup], dict[str, Any]]


@dataclass(frozen=True)
class EdgeParts:
    """The load balancer and its listeners, as :func:`build_edge` creates them."""

    load_balancer: elbv2.ApplicationLoadBalancer
    prod_listener: elbv2.ApplicationListener
    test_listener: elbv2.ApplicationListener
    redirect_listener: elbv2.ApplicationListener | None
    access_logs_bucket: s3.IBucket | None


def build_load_balancing(
    scope: Construct, props: ServiceProps, vpc: ec2.IVpc, listener_defaults: ListenerDefaults
) -> LoadBalancerParts:
    """The target group pair, and the service's own load balancer, listeners, access logs and alias record;
    or, with ``shared_load_balancer``, the shared one's: its listeners (with ``routing``: the engine adds the
    service's rules to them), or the service's own listener pair on it."""
    blue, green = (
        target_group(
            scope,
            construct_id,
            vpc=vpc,
            port=props.container_port,
            health_check=props.full_health_check,
            deregistration_delay=props.drain,
            protocol_version=props.target_protocol_version,
        )
        for construct_id in ("BlueTargetGroup", "GreenTargetGroup")
    )
    shared = props.shared_load_balancer
    if shared is not None and props.routing is None:
        prod, test = build_listener_pair(
            scope, props, shared, vpc, prod_default=listener_defaults(blue), test_default=listener_defaults(green)
        )
        return LoadBalancerParts(
            load_balancer=shared.load_balancer,
            blue_target_group=blue,
            green_target_group=green,
            prod_listener=prod,
            test_listener=test,
            redirect_listener=None,
            domain_record=None,
            access_logs_bucket=shared.access_logs_bucket,
        )
    if shared is not None:
        return LoadBalancerParts(
            load_balancer=shared.load_balancer,
            blue_target_group=blue,
            green_target_group=green,
            prod_listener=shared.prod_listener,
            test_listener=shared.test_listener,
            redirect_listener=None,
            domain_record=None,
            access_logs_bucket=shared.access_logs_bucket,
            routing=props.routing,
            shared_test_port=shared.test_listener_port,
            shared_https=shared.https,
        )
    edge = build_edge(
        scope, props.edge, vpc, prod_default=listener_defaults(blue), test_default=listener_defaults(green)
    )
    return LoadBalancerParts(
        load_balancer=edge.load_balancer,
        blue_target_group=blue,
        green_target_group=green,
        prod_listener=edge.prod_listener,
        test_listener=edge.test_listener,
        redirect_listener=edge.redirect_listener,
        domain_record=_domain_record(scope, props, edge.load_balancer),
        access_logs_bucket=edge.access_logs_bucket,
    )


def build_edge(
    scope: Construct,
    props: EdgeProps,
    vpc: ec2.IVpc,
    *,
    prod_default: dict[str, Any],
    test_default: dict[str, Any],
    security_group: ec2.ISecurityGroup | None = None,
) -> EdgeParts:
    """The load balancer with its production, test and redirect listeners and access logs; the listeners'
    default actions are the caller's (the engine's, or a shared load balancer's fixed 404). Without
    ``security_group`` aws-cdk-lib creates one that allows no outbound traffic but to the targets."""
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope,
        "LoadBalancer",
        vpc=vpc,
        security_group=security_group,
        internet_facing=props.public_load_balancer,
        load_balancer_name=props.load_balancer_name,
        idle_timeout=props.idle_timeout,
        deletion_protection=props.deletion_protection,
        drop_invalid_header_fields=True,
    )
    tls_policy = (props.ssl_policy or elbv2.SslPolicy.RECOMMENDED_TLS) if props.https else None
    certificates = (
        [elbv2.ListenerCertificate.from_certificate_manager(props.certificate)] if props.certificate else None
    )

    def listener(construct_id: str, port: int, *, is_open: bool, default: dict[str, Any]) -> Any:
        return elbv2.ApplicationListener(
            scope,
            construct_id,
            load_balancer=load_balancer,
            port=port,
            protocol=props.protocol,
            certificates=certificates,
            ssl_policy=tls_policy,
            open=is_open,
            **default,
        )

    prod_listener = listener("ProdListener", props.prod_port, is_open=props.open_listener, default=prod_default)
    test_listener = listener("TestListener", props.test_port, is_open=False, default=test_default)
    peers = props.test_listener_allowed_peers
    open_test_listener(scope, test_listener, list(peers) if peers is not None else [ec2.Peer.ipv4(vpc.vpc_cidr_block)])
    redirect_listener = None
    if props.redirect:
        redirect_listener = elbv2.ApplicationListener(
            scope,
            "RedirectListener",
            load_balancer=load_balancer,
            port=defaults.HTTP_PORT,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=props.open_listener,
            default_action=elbv2.ListenerAction.redirect(protocol="HTTPS", port=str(props.prod_port), permanent=True),
        )
        # Adding a certificate later moves port 80 from the production listener to this new one: the
        # production listener must leave port 80 before this one is created on it ("DuplicateListener").
        redirect_listener.node.add_dependency(prod_listener)
    parts = EdgeParts(
        load_balancer=load_balancer,
        prod_listener=prod_listener,
        test_listener=test_listener,
        redirect_listener=redirect_listener,
        access_logs_bucket=_access_logs(scope, props, load_balancer),
    )
    _acknowledge_listeners(parts, props)
    return parts


def _domain_record(
    scope: Construct, props: ServiceProps, load_balancer: elbv2.ApplicationLoadBalancer
) -> route53.ARecord | None:
    if props.domain_name is None or props.domain_zone is None:
        return None
    from aws_cdk import aws_route53 as route53  # optional feature, imported on use
    from aws_cdk import aws_route53_targets as route53_targets

    return route53.ARecord(
        scope,
        "DomainRecord",
        zone=props.domain_zone,
        record_name=props.domain_name,
        target=route53.RecordTarget.from_alias(route53_targets.LoadBalancerTarget(load_balancer)),
    )


def _access_logs(scope: Construct, props: EdgeProps, load_balancer: elbv2.ApplicationLoadBalancer) -> s3.IBucket | None:
    """The stack's shared bucket (or the given one), under this service's own prefix."""
    if not props.access_logs:
        return None
    bucket = props.access_logs_bucket or SharedAccessLogs.of(scope, retention=props.access_logs_retention).bucket
    enable_access_logs(load_balancer, bucket, props.access_logs_prefix or path_in_stack(scope))
    return bucket


def path_in_stack(scope: Construct) -> str:
    """``scope``'s path below its stack: unique in the stack, unlike its id."""
    stack_path = Stack.of(scope).node.path
    return scope.node.path[len(stack_path) + 1 :] if stack_path else scope.node.path


def _acknowledge_listeners(parts: EdgeParts, props: EdgeProps) -> None:
    """What a web service's entry point is by design, said once, next to the resources."""
    if props.open_listener:
        public = props.public_load_balancer
        entry = "public web entry point" if public else "entry point for every network routed to the VPC"
        group = parts.load_balancer.connections.security_groups[0]
        acknowledge_nag(group, "EC23", f"The production listener is the service's {entry} (open_listener=True).")
        skip_checkov(group, ("CKV_AWS_260", f"Port 80 serves, or redirects to HTTPS, the {entry}."))
    if not props.https:
        for listener in (parts.prod_listener, parts.test_listener):
            skip_http_listener_checks(listener)


def target_group(
    scope: Construct,
    construct_id: str,
    *,
    vpc: ec2.IVpc,
    port: float,
    health_check: elbv2.HealthCheck,
    deregistration_delay: Duration,
    protocol_version: elbv2.ApplicationProtocolVersion | None = None,
) -> elbv2.ApplicationTargetGroup:
    """One of the pair: type ``ip`` (Fargate's awsvpc tasks), sharing one health check and protocol version."""
    return elbv2.ApplicationTargetGroup(
        scope,
        construct_id,
        vpc=vpc,
        port=port,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
        health_check=health_check,
        deregistration_delay=deregistration_delay,
        protocol_version=protocol_version,
    )


def open_test_listener(
    scope: Construct,
    listener: elbv2.ApplicationListener,
    peers: Sequence[ec2.IPeer],
) -> None:
    """Admit only the named peers to the test listener, and flag any that is the whole internet."""
    for peer in peers:
        listener.connections.allow_default_port_from(peer, "Test traffic to the green task set")
    warn_of_open_test_listener(scope, peers)


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
