"""A service's own production and test listeners on a shared load balancer: the layout both engines deploy.

CodeDeploy's ECS deployment group takes one production listener and an optional test listener on the same
load balancer (CodeDeploy API Reference, ``TrafficRoute``: "exactly one listener"; ``TargetGroupPairInfo``),
and reroutes each listener's traffic by its default action, whose single rule "routes all traffic to a single
target group" (ECS Developer Guide, "Migrate CodeDeploy blue/green deployments to Amazon ECS blue/green
deployments"). Nothing limits a load balancer to one such pair: several services share one by each taking
listeners of their own, on their own ports, and no service's deployment touches another's listeners.

The listeners live in the service's scope (its stack), and so do the security group rules that open their
ports: a team's stack adds and, when deleted, removes its own ports, without changing the load balancer's
stack. An Application Load Balancer takes 50 listeners by default (ELB quotas, "Listeners per Application Load
Balancer", adjustable), so one holds its own two or three and 23 services' pairs before a quota increase; its 100
target groups (not adjustable) hold 50 services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from aws_cdk import Annotations, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct, IConstruct

from ..configuration.acknowledgements import acknowledge_nag
from ..configuration.validation import invalid
from .edge import skip_http_listener_checks, warn_of_open_test_listener

if TYPE_CHECKING:
    from ..props import ServiceProps
    from .edge import IBlueGreenLoadBalancer

# ELB quotas: listeners per Application Load Balancer, by default (adjustable in Service Quotas).
DEFAULT_LISTENERS_PER_LOAD_BALANCER = 50


def check_listener_pair(props: ServiceProps, shared: IBlueGreenLoadBalancer, service_path: str) -> None:
    """Both ports given, neither one the load balancer's own listeners' nor another service's."""
    ports = {"listener_port": props.listener_port, "test_listener_port": props.test_listener_port}
    for name, port in ports.items():
        if port is None:
            raise invalid(
                name,
                None,
                "on a shared load balancer without routing= the service takes a listener pair of its own: pass "
                "listener_port= and test_listener_port= (ports no other listener of the load balancer uses), or "
                "routing=Routing(...) for rules on the shared listeners (ECS_NATIVE).",
            )
    claims = [shared.claim_port(cast(int, port), prop=name, service_path=service_path) for name, port in ports.items()]
    listeners = max(claims)
    if listeners > DEFAULT_LISTENERS_PER_LOAD_BALANCER:
        # A warning, not an error: the quota is the account's, and adjustable.
        Annotations.of(cast(IConstruct, shared)).add_warning_v2(
            "blue-green-ecs:listenerQuota",
            f"{listeners} listeners on this load balancer with {service_path!r}'s pair: ELB's default quota is "
            f"{DEFAULT_LISTENERS_PER_LOAD_BALANCER} listeners per Application Load Balancer. CloudFormation fails "
            "to create the ones past the account's quota: request an increase (Service Quotas, Elastic Load "
            "Balancing, 'Listeners per Application Load Balancer'), or share another BlueGreenLoadBalancer.",
        )


def build_listener_pair(
    scope: Construct,
    props: ServiceProps,
    shared: IBlueGreenLoadBalancer,
    vpc: ec2.IVpc,
    *,
    prod_default: dict[str, Any],
    test_default: dict[str, Any],
) -> tuple[elbv2.ApplicationListener, elbv2.ApplicationListener]:
    """The service's production and test listeners on ``shared``'s load balancer, and their ports opened: the
    production port to the world with ``open_listener``, the test port to ``test_listener_allowed_peers``."""
    https = props.https
    certificates = (
        [elbv2.ListenerCertificate.from_certificate_manager(props.certificate)] if props.certificate else None
    )

    def listener(construct_id: str, port: int, default: dict[str, Any]) -> elbv2.ApplicationListener:
        created = elbv2.ApplicationListener(
            scope,
            construct_id,
            load_balancer=shared.load_balancer,
            port=port,
            protocol=props.protocol,
            certificates=certificates,
            ssl_policy=(props.ssl_policy or elbv2.SslPolicy.RECOMMENDED_TLS) if https else None,
            # The rules below open the port; aws-cdk-lib's would be written into the load balancer's own group,
            # in the load balancer's stack.
            open=False,
            **default,
        )
        if not https:
            skip_http_listener_checks(created)
        return created

    prod = listener("ProdListener", props.prod_port, prod_default)
    test = listener("TestListener", props.test_port, test_default)
    groups = shared.load_balancer.connections.security_groups
    if props.open_listener:
        for index, group in enumerate(groups):
            rule = _ingress(scope, f"ProdListenerIngress{index or ''}", group, ec2.Peer.any_ipv4(), props.prod_port)
            acknowledge_nag(rule, "EC23", "The production listener is the service's entry point (open_listener=True).")
    peers: Sequence[ec2.IPeer] = (
        props.test_listener_allowed_peers
        if props.test_listener_allowed_peers is not None
        else [ec2.Peer.ipv4(vpc.vpc_cidr_block)]
    )
    for index, group in enumerate(groups):
        for number, peer in enumerate(peers):
            rule = _ingress(scope, f"TestListenerIngress{index or ''}{number or ''}", group, peer, props.test_port)
            if Token.is_unresolved(rule.cidr_ip):
                acknowledge_nag(
                    rule,
                    "EC23",
                    "The test listener admits the VPC's CIDR block (a token at synthesis), not the internet.",
                )
    warn_of_open_test_listener(scope, peers)
    return prod, test


def _ingress(
    scope: Construct, construct_id: str, group: ec2.ISecurityGroup, peer: ec2.IPeer, port: int
) -> ec2.CfnSecurityGroupIngress:
    """One ingress rule of the load balancer's group, as a resource of the service's stack."""
    config = peer.to_ingress_rule_config()
    return ec2.CfnSecurityGroupIngress(
        scope,
        construct_id,
        group_id=group.security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=f"blue-green-ecs: {scope.node.path} listener port {port}",
        cidr_ip=config.cidr_ip,
        cidr_ipv6=config.cidr_ipv6,
        source_security_group_id=config.source_security_group_id,
        source_security_group_owner_id=config.source_security_group_owner_id,
        source_prefix_list_id=config.source_prefix_list_id,
    )
