"""What shapes a load balancer and its listeners, and a service's place on a shared one.

``EdgeProps`` are the props of a load balancer with a production and a test listener (a service's own,
or a ``BlueGreenLoadBalancer``); ``Routing`` is a service's listener rules on a shared one, and
``IBlueGreenLoadBalancer`` what a service needs of a shared load balancer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from aws_cdk import Annotations, Duration, Token
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from ..configuration import defaults
from ..configuration.acknowledgements import skip_checkov
from ..configuration.validation import check_strings, invalid

if TYPE_CHECKING:
    from aws_cdk import aws_certificatemanager as acm
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_s3 as s3
    from constructs import Construct, Node

# ELBv2's listener rule priorities.
MIN_PRIORITY, MAX_PRIORITY = 1, 50_000


@dataclass(frozen=True)
class EdgeProps:
    """What shapes a load balancer and its listeners: a service's own, or a ``BlueGreenLoadBalancer``."""

    public_load_balancer: bool = True
    open_listener: bool = True
    load_balancer_name: str | None = None
    idle_timeout: Duration | None = None
    deletion_protection: bool = False
    access_logs: bool = True
    access_logs_bucket: s3.IBucket | None = None
    access_logs_prefix: str | None = None
    access_logs_retention: Duration = defaults.ACCESS_LOGS_RETENTION
    certificate: acm.ICertificate | None = None
    ssl_policy: elbv2.SslPolicy | None = None
    redirect_http: bool = True
    listener_port: int | None = None
    test_listener_port: int | None = None
    test_listener_allowed_peers: Sequence[ec2.IPeer] | None = None

    @property
    def protocol(self) -> elbv2.ApplicationProtocol:
        return elbv2.ApplicationProtocol.HTTPS if self.certificate else elbv2.ApplicationProtocol.HTTP

    @property
    def https(self) -> bool:
        return self.certificate is not None

    @property
    def prod_port(self) -> int:
        if self.listener_port is not None:
            return self.listener_port
        return defaults.HTTPS_PORT if self.https else defaults.HTTP_PORT

    @property
    def test_port(self) -> int:
        if self.test_listener_port is not None:
            return self.test_listener_port
        return defaults.TEST_LISTENER_PORT_HTTPS if self.https else defaults.TEST_LISTENER_PORT_HTTP

    @property
    def redirect(self) -> bool:
        return self.https and self.redirect_http


@dataclass(frozen=True)
class Routing:
    """Which requests of a shared load balancer's listeners reach this service: its listener rules.

    :param priority: the rules' priority on the production and test listeners, 1-50000, unique
        among the services of the load balancer (lower is evaluated first). Required.
    :param host_headers: host names the rules match (``Host`` header), e.g. ``["api.example.com"]``.
        Default: any host.
    :param path_patterns: paths the rules match, e.g. ``["/web/*"]``. Default: any path.

    At least one of ``host_headers`` and ``path_patterns`` is required.
    """

    priority: int
    host_headers: Sequence[str] | None = None
    path_patterns: Sequence[str] | None = None

    def validate(self) -> None:
        check_strings("routing.host_headers", self.host_headers)
        check_strings("routing.path_patterns", self.path_patterns)
        if not Token.is_unresolved(self.priority) and not MIN_PRIORITY <= self.priority <= MAX_PRIORITY:
            raise invalid(
                "routing.priority", self.priority, f"use {MIN_PRIORITY}-{MAX_PRIORITY} (ELBv2's rule priorities)."
            )
        if not self.host_headers and not self.path_patterns:
            raise invalid(
                "routing",
                self,
                "give host_headers or path_patterns: a rule matching every request would take the whole "
                "shared load balancer.",
            )

    def request_host(self) -> str | None:
        """A host name the rules match, for requests made on the service's behalf (the smoke test): the first
        of ``host_headers``, its wildcards filled in; ``None`` when the rules match any host."""
        if not self.host_headers or Token.is_unresolved(self.host_headers[0]):
            return None
        return self.host_headers[0].replace("*", "smoke-test").replace("?", "x")

    def matches_path(self, path: str) -> bool:
        """Whether the rules match requests for ``path`` (ELB's wildcards: ``*`` any characters, ``?`` one)."""
        if not self.path_patterns:
            return True
        return any(
            Token.is_unresolved(pattern)
            or re.fullmatch("".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in pattern), path)
            for pattern in self.path_patterns
        )

    def conditions(self) -> list[elbv2.ListenerCondition]:
        found = []
        if self.host_headers:
            found.append(elbv2.ListenerCondition.host_headers(list(self.host_headers)))
        if self.path_patterns:
            found.append(elbv2.ListenerCondition.path_patterns(list(self.path_patterns)))
        return found


_OPEN_TO_INTERNET = frozenset({"0.0.0.0/0", "::/0"})


def warn_of_open_test_listener(scope: Construct, peers: Sequence[ec2.IPeer]) -> None:
    """Flag a test listener peer that is the whole internet: green is reachable before production moves."""
    for peer in peers:
        if peer.unique_id in _OPEN_TO_INTERNET:
            Annotations.of(scope).add_warning_v2(
                "blue-green-ecs:testListenerOpen",
                f"test_listener_allowed_peers includes {peer.unique_id}: anyone on the internet can reach "
                "the green task set before it receives production traffic. Name the CIDRs or security "
                "groups of your testers instead.",
            )


def skip_http_listener_checks(listener: elbv2.IApplicationListener) -> None:
    """checkov's HTTPS checks on a listener that is HTTP because no certificate was given."""
    skip_checkov(
        listener,
        ("CKV_AWS_2", "HTTP because no certificate was given; certificate= makes every listener HTTPS."),
        ("CKV_AWS_103", "No TLS without a certificate; with one, the policy is TLS 1.3 and 1.2."),
    )


class IBlueGreenLoadBalancer(Protocol):
    """What a service needs of a shared load balancer (``BlueGreenLoadBalancer``, or one ``from_existing``)."""

    @property
    def node(self) -> Node: ...

    @property
    def load_balancer(self) -> elbv2.IApplicationLoadBalancer: ...

    @property
    def prod_listener(self) -> elbv2.IApplicationListener: ...

    @property
    def test_listener(self) -> elbv2.IApplicationListener: ...

    @property
    def access_logs_bucket(self) -> s3.IBucket | None: ...

    @property
    def listener_port(self) -> int | None:
        """The production listener's port, ``None`` when unknown (a load balancer ``from_existing``)."""

    @property
    def test_listener_port(self) -> int | None:
        """The test listener's port, ``None`` when unknown (a load balancer ``from_existing``)."""

    @property
    def https(self) -> bool | None:
        """Whether the listeners are HTTPS, ``None`` when unknown."""

    def claim_priority(self, priority: int, service_path: str) -> None:
        """Record that ``service_path``'s rules take ``priority``; a ValueError naming both services if taken."""

    def claim_port(self, port: int, *, prop: str, service_path: str) -> int:
        """Record that ``service_path``'s listener pair takes ``port`` (its ``prop``), a ValueError naming the
        listener that has it; the number of listeners the load balancer has with it."""
