"""What every deployment engine implements, and the parts of a service it is handed.

The construct builds the engine-neutral parts (network, task, load balancer, alarms, service) and
asks the engine, at fixed points, for what differs: the listeners' default action, the listener
rules, the service's deployment settings, and what to attach once the service exists. Everything an
engine adds stays on the engine object, typed for what it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_events as events
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_sns as sns
    from constructs import Construct

    from ..deployment.built_in_hooks import BuiltInHooks
    from ..load_balancing.parts import LoadBalancerParts
    from ..load_balancing.test_traffic import TestTrafficRouter
    from ..props import ServiceProps
    from . import DeploymentEngine


@dataclass(frozen=True)
class ServiceParts:
    """The engine-neutral parts of one service, as the engine's ``attach`` receives them."""

    scope: Construct
    props: ServiceProps
    service: ecs.FargateService
    task_definition: ecs.FargateTaskDefinition
    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    assign_public_ip: bool
    load_balancing: LoadBalancerParts
    alarms: Sequence[cloudwatch.IAlarm]
    # The built-in hooks, and every hook by AppSpec event.
    built_in: BuiltInHooks

    @property
    def hooks(self) -> Mapping[str, lambda_.IFunction]:
        """AppSpec event -> function, in lifecycle order, the built-in hooks' included."""
        return self.built_in.by_event

    @property
    def test_traffic_router(self) -> TestTrafficRouter | None:
        """With test_traffic_header: the hook the engine's header rule is handed to (it may modify the rule)."""
        return self.built_in.test_traffic_router


class Engine(Protocol):
    """A deployment engine: who moves traffic from blue to green, and what it needs in the template."""

    kind: DeploymentEngine
    # Whether the service resource names its lifecycle hook functions (which then cannot name it back).
    service_names_its_hooks: bool

    def validate(self, props: ServiceProps) -> None:
        """Reject props this engine cannot honour, naming the prop and the fix."""

    def listener_defaults(self, target_group: elbv2.IApplicationTargetGroup) -> dict[str, Any]:
        """Keyword arguments for a listener's default action, ``target_group`` being its initial target."""

    def route(self, scope: Construct, load_balancing: LoadBalancerParts) -> None:
        """Anything the listeners need before the alarms read the target groups' metrics."""

    def service_options(self, props: ServiceProps, alarm_names: Callable[[], list[str]]) -> dict[str, Any]:
        """The ``ecs.FargateService`` keyword arguments that make this engine the deployer."""

    def attach(self, parts: ServiceParts) -> None:
        """Wire the created service to the engine (registrations, roles, hooks, the trigger)."""

    def add_rollback_alarm(self, alarm: cloudwatch.IAlarm) -> None:
        """Roll back on ``alarm`` too (the alarm list given to ``attach`` already holds it)."""

    def notifications(self, scope: Construct, topic: sns.ITopic, service: ecs.FargateService) -> events.Rule:
        """Send this engine's deployment state changes to ``topic``."""
