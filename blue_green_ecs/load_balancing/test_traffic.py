"""Testing green from outside the VPC: a header rule on the production listener.

The test listener admits only ``test_listener_allowed_peers`` (the VPC by default), so testers and CI
outside the VPC cannot reach green before users do. ``TestTrafficHeader`` adds, on the production
listener, a rule that forwards requests carrying a header (name and secret value) to the target group
green runs in, evaluated before the service's production route.

Where green runs changes with every deployment: CodeDeploy and ECS put the new tasks in the target group
that production does not use. The rule's target therefore comes from the live-state lookup
(``TestTargetGroupArn``: the target group production does not use, read when the stack is updated),
and the stack update that starts a deployment (the deployment trigger under CODE_DEPLOY, the service
update under ECS_NATIVE) waits for the rule, so the rule points at green before green starts. Neither
engine moves the rule itself: CodeDeploy reroutes listeners' default actions, ECS the rules named in the
service's load balancer entry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

import jsii
from aws_cdk import Annotations, CfnResource, Duration, IStableStringProducer, Lazy, Token
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from ..configuration import defaults
from ..configuration.acknowledgements import acknowledge_nag, skip_checkov
from ..configuration.validation import invalid
from ..functions.library_function import FunctionLogSettings, library_function
from .edge import MAX_PRIORITY, MIN_PRIORITY

if TYPE_CHECKING:
    from ..deployment.hooks import DeploymentHooks
    from ..engines import DeploymentEngine
    from .edge import IBlueGreenLoadBalancer, Routing
    from .parts import LoadBalancerParts

# ELBv2: a header name of up to 40 characters of RFC 7230's token characters, a value of up to 128.
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$")
MAX_VALUE_LENGTH = 128
# ELBv2 allows five comparison strings per rule, over all of its conditions.
MAX_RULE_VALUES = 5
# Shorter literal values are guessable: anyone who guesses one reaches green from wherever the
# production listener is open.
MIN_SECRET_LENGTH = 16


class LiveState(Protocol):
    """What the rule needs of the service's live-state lookup (``live_lookup.LiveLookup``)."""

    def attribute(self, name: str) -> str: ...

    def watch(self, rule: elbv2.ApplicationListenerRule, *, secret: str | None = None) -> None: ...

    def follow_revisions(self, task_definition: ecs.ITaskDefinition) -> None: ...


@dataclass(frozen=True)
class TestTrafficHeader:
    """A rule on the production listener that sends requests carrying a header to green.

    Requests with ``<name>: <value>`` reach the target group green runs in, through the production
    listener (public, with a public load balancer), before any user does; other requests are
    unaffected. Between deployments that target group has no tasks (ELB answers 503). The rule
    follows every deployment a stack update starts (``cdk deploy``); see docs/deployments.md for
    deployments started elsewhere.

    :param value: the header value to match, the shared secret of your testers and CI. Pass a
        dynamic reference (``SecretValue.secrets_manager(...).unsafe_unwrap()`` resolves to
        ``{{resolve:secretsmanager:...}}``) to keep it out of the template; ELB shows the resolved
        value to whoever may describe the rules. Required.
    :param name: the header name. Default: ``"x-blue-green"``.
    :param priority: the rule's priority on the production listener; it must be evaluated before the
        service's production route. Default: 1 on the service's own load balancer; required with
        ``shared_load_balancer``, lower than ``routing.priority`` and unique on the load balancer
        (the rule also carries the routing's host and path conditions).
    """

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    value: str
    name: str = defaults.TEST_TRAFFIC_HEADER_NAME
    priority: int | None = None

    def validate(self, *, routing: Routing | None) -> None:
        """ELBv2's limits on the condition; on a shared load balancer, a priority ahead of the routing's."""
        if not Token.is_unresolved(self.name) and not _HEADER_NAME.match(self.name):
            raise invalid(
                "test_traffic_header.name",
                self.name,
                "use 1-40 letters, digits or !#$%&'*+.^_`|~- (an HTTP header name, as ELB accepts it).",
            )
        if not Token.is_unresolved(self.value) and not 1 <= len(self.value) <= MAX_VALUE_LENGTH:
            raise invalid(
                "test_traffic_header.value",
                f"<{len(self.value)} characters>",
                f"use 1-{MAX_VALUE_LENGTH} characters (ELB's limit for a header condition value).",
            )
        if (
            self.priority is not None
            and not Token.is_unresolved(self.priority)
            and not MIN_PRIORITY <= self.priority <= MAX_PRIORITY
        ):
            raise invalid(
                "test_traffic_header.priority",
                self.priority,
                f"use {MIN_PRIORITY}-{MAX_PRIORITY} (ELBv2's rule priorities).",
            )
        if routing is None:
            return
        if self.priority is None:
            raise invalid(
                "test_traffic_header.priority",
                None,
                f"on a shared load balancer give the rule a priority lower than routing.priority ({routing.priority}) "
                "that no other service of the load balancer uses.",
            )
        if (
            not Token.is_unresolved(self.priority)
            and not Token.is_unresolved(routing.priority)
            and self.priority >= routing.priority
        ):
            raise invalid(
                "test_traffic_header.priority",
                self.priority,
                f"must be lower than routing.priority ({routing.priority}): ELB evaluates the lower first, and "
                "the service's production rule matches the header's requests too.",
            )
        values = len(routing.host_headers or ()) + len(routing.path_patterns or ()) + 1
        if values > MAX_RULE_VALUES:
            raise invalid(
                "test_traffic_header",
                self.name,
                f"the rule carries the routing's {values - 1} host and path values and the header's value, "
                f"{values} in all; ELB allows {MAX_RULE_VALUES} per rule. Route with fewer host_headers or "
                "path_patterns.",
            )

    def rule_priority(self) -> int:
        """The priority the rule takes (the own load balancer's default when none is given)."""
        return self.priority if self.priority is not None else defaults.TEST_TRAFFIC_RULE_PRIORITY


def check_test_traffic_header(
    header: TestTrafficHeader | None,
    *,
    routing: Routing | None,
    shared: IBlueGreenLoadBalancer | None,
    hooks: DeploymentHooks | None,
    service_path: str,
) -> None:
    """The header's own checks; on a shared load balancer its priority is claimed like the routing's."""
    if header is None:
        return
    header.validate(routing=routing)
    if hooks is not None and hooks.after_install is not None:
        raise invalid(
            "hooks.after_install",
            hooks.after_install.node.path,
            "test_traffic_header runs a built-in AfterInstall hook (it points the header rule at green); run your "
            "check at another event (before_install, after_allow_test_traffic), or drop test_traffic_header.",
        )
    if shared is not None and header.priority is not None and not Token.is_unresolved(header.priority):
        shared.claim_priority(header.priority, f"{service_path} (test_traffic_header)")


def add_test_traffic_rule(
    scope: Construct,
    header: TestTrafficHeader,
    load_balancing: LoadBalancerParts,
    live_state: LiveState,
    task_definition: ecs.ITaskDefinition,
    *,
    router: TestTrafficRouter | None,
    before: Sequence[IConstruct],
) -> elbv2.ApplicationListenerRule:
    """The header rule on the production listener, forwarding where the lookup says green runs; ``before`` start
    deployments in a stack update (the deployment trigger, the ECS-native service) and wait for the rule, and
    for the router's permission to modify it."""
    lb = load_balancing
    conditions = [elbv2.ListenerCondition.http_header(header.name, [header.value])]
    if lb.routing is not None:
        conditions = [*lb.routing.conditions(), *conditions]
    rule = elbv2.ApplicationListenerRule(
        scope,
        "TestTrafficRule",
        listener=lb.prod_listener,
        priority=header.rule_priority(),
        conditions=conditions,
        # Replaced below by the lookup's answer; green here attaches it to the listener, as the engine's routes do.
        action=elbv2.ListenerAction.forward([lb.green_target_group]),
    )
    resource = rule.node.default_child
    assert isinstance(resource, CfnResource)
    resource.add_property_override(
        "Actions", [{"Type": "forward", "TargetGroupArn": live_state.attribute("TestTargetGroupArn")}]
    )
    # The rule names one of the pair by the lookup's answer: neither may be deleted while it might be it.
    rule.node.add_dependency(lb.blue_target_group, lb.green_target_group)
    live_state.watch(rule, secret=header.value)
    live_state.follow_revisions(task_definition)
    for construct in before:
        construct.node.add_dependency(rule)
    if router is not None:
        router.allow_modify(rule, before=before)
    if not Token.is_unresolved(header.value) and len(header.value) < MIN_SECRET_LENGTH:
        Annotations.of(scope).add_warning_v2(
            "blue-green-ecs:testTrafficHeaderGuessable",
            f"test_traffic_header.value has {len(header.value)} characters and is written into the template: anyone "
            "who knows or guesses it reaches green through the production listener. Use a long random value from "
            "Secrets Manager (SecretValue.secrets_manager(...).unsafe_unwrap()).",
        )
    return rule


class TestTrafficRouter(Construct):
    """The built-in lifecycle hook that points the header rule at green when a deployment starts
    (``handlers/test_traffic_router.py``): CodeDeploy's ``AfterInstall``, Amazon ECS's ``POST_SCALE_UP``.

    Stack updates point the rule where green will run already; the hook covers deployments that no stack update
    starts (a pipeline with the exported AppSpec, ``deploy_on_update=False``). Attribute: ``function``.
    """

    __test__: ClassVar[bool] = False

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        header: TestTrafficHeader,
        load_balancing: LoadBalancerParts,
        prod_rule_priority: int | None,
        prod_port: int,
        log_retention: logs.RetentionDays,
        log_encryption_key: kms.IKey | None,
    ) -> None:
        super().__init__(scope, construct_id)
        lb = load_balancing
        self._rule = _RuleArn()
        made = library_function(
            self,
            handler="test_traffic_router.handler",
            description="blue-green-ecs: points the test traffic rule at the green target group",
            role_description="blue-green-ecs: points the test traffic rule at green when a deployment starts",
            # Up to three ELB calls (a page more per 100 rules) and the report to CodeDeploy.
            timeout=Duration.minutes(defaults.BUILT_IN_HOOK_TIMEOUT_MINUTES),
            memory_size=128,
            environment={
                # The service's own listener by load balancer and port, as the live-state lookup finds it: a
                # reference to the listener would wait for the lookup, which names this function (a service hook).
                "PROD_LISTENER_ARN": lb.prod_listener.listener_arn if lb.shared else "",
                "LOAD_BALANCER_ARN": lb.load_balancer.load_balancer_arn,
                "PROD_PORT": str(prod_port),
                "PROD_RULE_PRIORITY": str(prod_rule_priority) if prod_rule_priority is not None else "",
                "TEST_TRAFFIC_RULE_PRIORITY": str(header.rule_priority()),
                "BLUE_TARGET_GROUP_ARN": lb.blue_target_group.target_group_arn,
                "GREEN_TARGET_GROUP_ARN": lb.green_target_group.target_group_arn,
            },
            log_retention=log_retention,
            log_encryption_key=log_encryption_key,
        )
        self.function: lambda_.Function = made.function
        made.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeListeners"],
                resources=["*"],
            )
        )
        # Exactly the header rule: the service's production rule is ECS's to shift, and the listener serves others.
        # A policy of its own, which the function does not wait for: the rule waits for the live-state lookup,
        # which fingerprints the service and so names the function (a hook of the service's).
        self.modify_policy = iam.Policy(
            self,
            "ModifyRule",
            roles=[made.role],
            statements=[
                iam.PolicyStatement(actions=["elasticloadbalancing:ModifyRule"], resources=[Lazy.string(self._rule)])
            ],
        )
        describe_reason = "ELB's Describe actions have no resource-level permissions."
        acknowledge_nag(made.role, "IAM5[Resource::*]", describe_reason)
        skip_checkov(made.role.node.find_child("DefaultPolicy"), ("CKV_AWS_111", describe_reason))

    def allow_modify(self, rule: elbv2.ApplicationListenerRule, *, before: Sequence[IConstruct]) -> None:
        """The rule the function may modify (created after the function: the engine makes it); ``before`` start
        deployments (the deployment trigger, the ECS-native service) and wait for the permission."""
        self._rule.arn = rule.listener_rule_arn
        for construct in before:
            construct.node.add_dependency(self.modify_policy)


@jsii.implements(IStableStringProducer)
class _RuleArn:
    """The header rule's ARN, known once the engine has made the rule."""

    arn: str | None = None

    def produce(self) -> str:
        if self.arn is None:
            raise ValueError("TestTrafficRouter.allow_modify was never called: the router would modify no rule.")
        return self.arn


class TestTrafficSettings(FunctionLogSettings, Protocol):
    """What a service's router is made from (the service's props are one)."""

    @property
    def test_traffic_header(self) -> TestTrafficHeader | None: ...
    @property
    def engine(self) -> DeploymentEngine: ...
    @property
    def prod_port(self) -> int: ...


def router_for(
    scope: Construct, settings: TestTrafficSettings, *, load_balancing: LoadBalancerParts
) -> TestTrafficRouter | None:
    """The service's router (construct id ``TestTrafficRouter``), ``None`` without ``test_traffic_header``."""
    if settings.test_traffic_header is None:
        return None
    routing = load_balancing.routing
    ecs_native = settings.engine.value == "ECS_NATIVE"
    prod_priority = (routing.priority if routing else defaults.OWN_PROD_RULE_PRIORITY) if ecs_native else None
    return TestTrafficRouter(
        scope,
        "TestTrafficRouter",
        header=settings.test_traffic_header,
        load_balancing=load_balancing,
        prod_rule_priority=prod_priority,
        prod_port=settings.prod_port,
        log_retention=settings.log_retention,
        log_encryption_key=settings.log_encryption_key,
    )
