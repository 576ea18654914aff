"""``BlueGreenLoadBalancer``: one load balancer that several blue/green services share.

The load balancer, its production listener (HTTPS with the port-80 redirect when a certificate is
given), the test listener closed to the internet, and the access logs are those a service creates for
itself (``load_balancing.build_edge``), with one difference: both listeners answer 404 by default.

A service takes its place on it in one of two ways:

- ``routing=Routing(...)``: a production and a test rule on the shared listeners, whose weights ECS shifts
  (``ECS_NATIVE``). CodeDeploy is documented to reroute a listener's default action only (see
  ``engines/codedeploy.py``), so it does not take rules on a shared listener.
- ``listener_port=`` and ``test_listener_port=``: a listener pair of the service's own on the load balancer
  (``listener_pair.py``), which either engine shifts as it would the service's own load balancer's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import Duration, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from ..configuration import defaults
from ..configuration.validation import invalid
from .edge import EdgeProps, Routing
from .listener_pair import check_listener_pair
from .load_balancing import build_edge
from .test_traffic import check_test_traffic_header

if TYPE_CHECKING:
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_s3 as s3

    from ..props import ServiceProps
    from .edge import IBlueGreenLoadBalancer

__all__ = ["BlueGreenLoadBalancer", "Routing"]


def _not_found() -> dict[str, elbv2.ListenerAction]:
    # A request no service's rule matches: nothing to forward to.
    return {
        "default_action": elbv2.ListenerAction.fixed_response(404, content_type="text/plain", message_body="Not found")
    }


class _Claims:
    """What the services of one shared load balancer take of it, by service path: rule priorities on its
    listeners, and the ports of their own listener pairs (with the load balancer's own, and ELB's quota)."""

    def __init__(self, owner: str, own_ports: dict[int, str], own_listeners: int) -> None:
        self._owner = owner
        self._priorities: dict[int, str] = {}
        self._ports: dict[int, str] = dict(own_ports)
        self._listeners = own_listeners

    def claim_priority(self, priority: int, service_path: str) -> None:
        taken = self._priorities.get(priority)
        if taken is not None and taken != service_path:
            raise invalid(
                "routing.priority",
                priority,
                f"service {taken!r} already has this priority on the shared load balancer {self._owner!r} "
                f"({service_path!r} asks for it too); give each service its own.",
            )
        self._priorities[priority] = service_path

    def claim_port(self, port: int, *, prop: str, service_path: str) -> int:
        who = f"{service_path!r} ({prop})"
        if not Token.is_unresolved(port):
            taken = self._ports.get(port)
            if taken is not None:
                raise invalid(
                    prop,
                    port,
                    f"{taken} already listens on this port of the shared load balancer {self._owner!r} ({who} "
                    "asks for it too); give each listener a port of its own.",
                )
        if not Token.is_unresolved(port):
            self._ports[port] = who
        self._listeners += 1
        return self._listeners


class BlueGreenLoadBalancer(Construct):
    """An Application Load Balancer with a production and a test listener, shared by blue/green services.

    Attributes:
        load_balancer: the ``elbv2.ApplicationLoadBalancer``.
        prod_listener: the production listener (443 with a certificate, else 80); 404 unless a
            service's rule matches.
        listener: ``prod_listener``, as aws-ecs-patterns names it.
        test_listener: the test listener (8443 with a certificate, else 8080), closed to the internet.
        redirect_listener: the port-80 listener that redirects to HTTPS, or ``None``.
        access_logs_bucket: the bucket receiving access logs, or ``None`` with ``access_logs=False``.
        security_group: the load balancer's security group: its listeners' ports in, all outbound (ELB
            sends only to registered targets), so a service adds no egress rule to it.
        listener_port: the effective production listener port.
        test_listener_port: the effective test listener port.
        https: whether the listeners are HTTPS (a certificate was given).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        certificate: acm.ICertificate | None = None,
        ssl_policy: elbv2.SslPolicy | None = None,
        redirect_http: bool = True,
        listener_port: int | None = None,
        test_listener_port: int | None = None,
        test_listener_allowed_peers: Sequence[ec2.IPeer] | None = None,
        public_load_balancer: bool = True,
        open_listener: bool = True,
        load_balancer_name: str | None = None,
        idle_timeout: Duration | None = None,
        deletion_protection: bool = False,
        access_logs: bool = True,
        access_logs_bucket: s3.IBucket | None = None,
        access_logs_prefix: str | None = None,
        access_logs_retention: Duration = defaults.ACCESS_LOGS_RETENTION,
    ) -> None:
        """Create the load balancer and its listeners.

        :param vpc: the VPC of the load balancer and of the services behind it. Required.
        :param certificate: ACM certificate; makes both listeners HTTPS. Default: none, HTTP.
        :param ssl_policy: TLS policy of HTTPS listeners. Default: ``SslPolicy.RECOMMENDED_TLS``.
        :param redirect_http: with a certificate, listen on port 80 and redirect to HTTPS. Default: true.
        :param listener_port: production listener port. Default: 443 with a certificate, else 80.
        :param test_listener_port: test listener port. Default: 8443 with a certificate, else 8080.
        :param test_listener_allowed_peers: who may reach the test listener. Default: the VPC's CIDR
            block only.
        :param public_load_balancer: internet-facing load balancer. Default: true.
        :param open_listener: open the production listener (and the redirect) to the world. Default: true.
        :param load_balancer_name: physical load balancer name. Default: generated.
        :param idle_timeout: idle timeout. Default: 60 seconds (ELB's).
        :param deletion_protection: protect the load balancer from deletion. Default: false.
        :param access_logs: write access logs to S3. Default: true.
        :param access_logs_bucket: where access logs go. Default: the stack's shared bucket.
        :param access_logs_prefix: key prefix of the access logs. Default: this construct's path below
            its stack.
        :param access_logs_retention: lifetime of access logs in the stack's shared bucket. Default: 90 days.
        """
        super().__init__(scope, construct_id)
        props = EdgeProps(
            public_load_balancer=public_load_balancer,
            open_listener=open_listener,
            load_balancer_name=load_balancer_name,
            idle_timeout=idle_timeout,
            deletion_protection=deletion_protection,
            access_logs=access_logs,
            access_logs_bucket=access_logs_bucket,
            access_logs_prefix=access_logs_prefix,
            access_logs_retention=access_logs_retention,
            certificate=certificate,
            ssl_policy=ssl_policy,
            redirect_http=redirect_http,
            listener_port=listener_port,
            test_listener_port=test_listener_port,
            test_listener_allowed_peers=test_listener_allowed_peers,
        )
        # Outbound open: ELB sends only to the targets it has registered and their health checks. aws-cdk-lib's
        # own group would instead take one egress rule per service's tasks, a resource each, and together
        # against the group's quota of rules (60 outbound by default), a cap on the services sharing it.
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            allow_all_outbound=True,
            description="blue-green-ecs shared load balancer: listener ports in, tasks of the services out",
        )
        edge = build_edge(
            self,
            props,
            vpc,
            prod_default=_not_found(),
            test_default=_not_found(),
            security_group=self.security_group,
        )
        self.load_balancer: elbv2.ApplicationLoadBalancer = edge.load_balancer
        self.prod_listener: elbv2.ApplicationListener = edge.prod_listener
        self.test_listener: elbv2.ApplicationListener = edge.test_listener
        self.redirect_listener: elbv2.ApplicationListener | None = edge.redirect_listener
        self.access_logs_bucket: s3.IBucket | None = edge.access_logs_bucket
        self.listener_port: int | None = props.prod_port
        self.test_listener_port: int | None = props.test_port
        self.https: bool | None = props.https
        own = {props.prod_port: "its production listener", props.test_port: "its test listener"}
        if props.redirect:
            own[defaults.HTTP_PORT] = "its redirect listener"
        self._claims = _Claims(
            self.node.path, {port: f"{self.node.path!r} ({what})" for port, what in own.items()}, len(own)
        )

    @property
    def listener(self) -> elbv2.ApplicationListener:
        """The production listener (aws-ecs-patterns' name for it)."""
        return self.prod_listener

    def claim_priority(self, priority: int, service_path: str) -> None:
        """Record a service's rule priority; a ValueError naming both services when another has it."""
        self._claims.claim_priority(priority, service_path)

    def claim_port(self, port: int, *, prop: str, service_path: str) -> int:
        """Record a service's listener port (a ValueError naming the listener that has it); the listeners the load
        balancer has with it."""
        return self._claims.claim_port(port, prop=prop, service_path=service_path)

    @classmethod
    def from_existing(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        prod_listener: elbv2.IApplicationListener,
        test_listener: elbv2.IApplicationListener,
    ) -> ExistingBlueGreenLoadBalancer:
        """A load balancer and listeners made elsewhere (another stack, or imported by ARN), for services to share.

        The listeners keep their own default actions; each service adds its rules. Access logs are
        the load balancer's own business.
        """
        return ExistingBlueGreenLoadBalancer(
            scope, construct_id, load_balancer=load_balancer, prod_listener=prod_listener, test_listener=test_listener
        )


class ExistingBlueGreenLoadBalancer(Construct):
    """``BlueGreenLoadBalancer.from_existing``: the same attributes, for resources this construct did not create."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        load_balancer: elbv2.IApplicationLoadBalancer,
        prod_listener: elbv2.IApplicationListener,
        test_listener: elbv2.IApplicationListener,
    ) -> None:
        super().__init__(scope, construct_id)
        self.load_balancer = load_balancer
        self.prod_listener = prod_listener
        self.test_listener = test_listener
        self.access_logs_bucket: s3.IBucket | None = None
        # Imported listeners do not tell their port or protocol.
        self.listener_port: int | None = None
        self.test_listener_port: int | None = None
        self.https: bool | None = None
        # The listeners' ports are unknown: only the services' own pairs are checked against each other.
        self._claims = _Claims(self.node.path, {}, 2)

    @property
    def listener(self) -> elbv2.IApplicationListener:
        """The production listener (aws-ecs-patterns' name for it)."""
        return self.prod_listener

    def claim_priority(self, priority: int, service_path: str) -> None:
        """Record a service's rule priority; a ValueError naming both services when another has it."""
        self._claims.claim_priority(priority, service_path)

    def claim_port(self, port: int, *, prop: str, service_path: str) -> int:
        """Record a service's listener port (a ValueError naming the listener that has it); the listeners the load
        balancer has with it."""
        return self._claims.claim_port(port, prop=prop, service_path=service_path)


# Props of a service's own load balancer, and the value that means "not given": with a shared load
# balancer they belong to the BlueGreenLoadBalancer.
_OWN_LOAD_BALANCER_PROPS: tuple[tuple[str, object], ...] = (
    ("public_load_balancer", True),
    ("open_listener", True),
    ("load_balancer_name", None),
    ("idle_timeout", None),
    ("deletion_protection", False),
    ("access_logs", True),
    ("access_logs_bucket", None),
    ("access_logs_prefix", None),
    ("certificate", None),
    ("ssl_policy", None),
    ("redirect_http", True),
    ("listener_port", None),
    ("test_listener_port", None),
    ("test_listener_allowed_peers", None),
    ("domain_name", None),
    ("domain_zone", None),
)


# What a listener pair of the service's own on a shared load balancer takes from the service's props.
_LISTENER_PAIR_PROPS = frozenset(
    {"open_listener", "certificate", "ssl_policy", "listener_port", "test_listener_port", "test_listener_allowed_peers"}
)

_PAIR_HINT = (
    "; the service's own listener pair takes listener_port, test_listener_port, certificate, ssl_policy, "
    "open_listener and test_listener_allowed_peers"
)


def check_sharing(props: ServiceProps, service_path: str) -> None:
    """``routing`` needs ``shared_load_balancer``; on one, the service takes either rules on its listeners
    (``routing``) or a listener pair of its own (``listener_port`` and ``test_listener_port``), the load balancer's
    props stay on it, and no two services take the same rule priority or port (``test_traffic_header``'s rule
    included: its checks run here, since on a shared listener they claim a priority too)."""
    shared, routing = props.shared_load_balancer, props.routing
    check_test_traffic_header(
        props.test_traffic_header,
        routing=routing,
        shared=props.shared_listeners,
        hooks=props.hooks,
        service_path=service_path,
    )
    if shared is None:
        if routing is not None:
            raise invalid(
                "routing",
                routing,
                "routing places the service's rules on a shared load balancer; pass shared_load_balancer= too, "
                "or drop routing= for a load balancer of the service's own.",
            )
        return
    if routing is not None:
        routing.validate()
    own_listeners = routing is None
    for name, not_given in _OWN_LOAD_BALANCER_PROPS:
        if own_listeners and name in _LISTENER_PAIR_PROPS:
            continue
        value = getattr(props, name)
        if value is not not_given and value != not_given:
            raise invalid(
                name,
                value if isinstance(value, str | int | bool) else f"<{type(value).__name__}>",
                f"with shared_load_balancer the load balancer is {shared.node.path!r}'s; set it there (a "
                f"BlueGreenLoadBalancer prop){_PAIR_HINT if own_listeners else ''}, or drop shared_load_balancer= "
                "for a load balancer of the service's own.",
            )
    if routing is None:
        check_listener_pair(props, shared, service_path)
        return
    _check_smoke_test(props, shared, routing)
    shared.claim_priority(routing.priority, service_path)


def _check_smoke_test(props: ServiceProps, shared: IBlueGreenLoadBalancer, routing: Routing) -> None:
    """On a shared load balancer the smoke test requests the test listener with the routing's host and a path
    the routing matches, so the service's own test rule answers."""
    if props.smoke_test is None:
        return
    if shared.test_listener_port is None:
        raise invalid(
            "smoke_test",
            "SmokeTest(...)",
            f"the test listener of {shared.node.path!r} (from_existing) has no known port or protocol for the smoke "
            "test to request; share a BlueGreenLoadBalancer, or run your own test as "
            "hooks=DeploymentHooks(after_allow_test_traffic=...).",
        )
    if not routing.matches_path(props.smoke_test.path):
        raise invalid(
            "smoke_test.path",
            props.smoke_test.path,
            f"routing.path_patterns {list(routing.path_patterns or [])} do not match it, so the smoke test would "
            "reach another service's rule or the 404 default; request a path they match.",
        )
