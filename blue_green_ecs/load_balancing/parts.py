"""The parts a service is assembled from, as the steps of its construction hand them on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_route53 as route53
    from aws_cdk import aws_s3 as s3

    from .edge import Routing


@dataclass(frozen=True)
class LoadBalancerParts:
    """What :func:`load_balancing.build_load_balancing` creates; the service exposes each as an attribute."""

    load_balancer: elbv2.IApplicationLoadBalancer
    blue_target_group: elbv2.ApplicationTargetGroup
    green_target_group: elbv2.ApplicationTargetGroup
    prod_listener: elbv2.IApplicationListener
    test_listener: elbv2.IApplicationListener
    redirect_listener: elbv2.ApplicationListener | None
    access_logs_bucket: s3.IBucket | None
    domain_record: route53.ARecord | None
    # With a shared load balancer: the service's rules' conditions and priority (ECS_NATIVE), and its test
    # listener's port and protocol (None when unknown: from_existing).
    routing: Routing | None = None
    shared_test_port: int | None = None
    shared_https: bool | None = None

    @property
    def shared(self) -> bool:
        return self.routing is not None
