"""Day two: the template never fights the deployment engine.

CodeDeploy swaps the listeners' target groups, ECS shifts the listener rules' weights and swaps the
service's primary and alternate target groups, autoscaling and operators change the task count; the
template knows none of it. CloudFormation writes a resource's properties back whenever any of them
changes (a certificate, a TLS policy, a port, a tag): production would go to the target group
without tasks, and the task count back to the template's (aws/aws-cdk #36649, aws/containers-roadmap
#2853). And ECS refuses UpdateService of the network configuration, platform version and load
balancers of a CODE_DEPLOY service, so a change to one of them would fail the stack update halfway.

So every value the engine owns is read from live state, by one custom resource per service
(``Custom::BlueGreenEcsLiveState``, served by the stack's provider function,
``handlers/live_lookup.py``). It runs before the listeners, rules and service (they take its
attributes), finds everything through the load balancer, the ports, the cluster and the target
group pair, and its properties carry a fingerprint of every property of those resources, so it is
asked again whenever CloudFormation would write one of them. On the first create it answers with
the template's values (blue for production, the configured network and count).

What ECS refuses to update on a CODE_DEPLOY service (its load balancer entry, network configuration
and platform version) is not live state: DescribeServices answers it as the PRIMARY task set has it,
CloudFormation wrote it when it created the service. A second custom resource per CODE_DEPLOY service
(``Custom::BlueGreenEcsPinnedService``, ``handlers/pinned_service.py``) holds the lookup's answer from
that create, and the service renders from it.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

import jsii
from aws_cdk import CfnElement, CfnResource, CustomResource, Duration, Fn, IStableAnyProducer, Lazy, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ..configuration import defaults
from ..handlers import pinned_service
from ..load_balancing.load_balancing import select_subnets

if TYPE_CHECKING:
    from ..deployment.provider import Provider
    from .base import ServiceParts

RESOURCE_TYPE = "Custom::BlueGreenEcsLiveState"
PINNED_SERVICE_TYPE = pinned_service.RESOURCE_TYPE
# The lookup answers from within one invocation of the provider function (5 minutes at most); Lambda
# retries a failed asynchronous invocation twice. A lookup that never answers fails the stack after
# those three attempts, not after CloudFormation's default hour.
LOOKUP_SERVICE_TIMEOUT = Duration.minutes(15)


class LiveLookup(Construct):
    """One service's live-state lookup; its attributes are what the engine-owned properties render from."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parts: ServiceParts,
        provider: Provider,
        engine: str,
        rules: Sequence[elbv2.ApplicationListenerRule] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        props, service, lb = parts.props, parts.service, parts.load_balancing
        cluster = service.cluster
        _allow_reads(provider, cluster)
        # A shared load balancer's listeners are not the service's (their default action is nobody's to shift).
        listeners = (
            [] if lb.shared else [_l1(cast(Construct, lb.prod_listener)), _l1(cast(Construct, lb.test_listener))]
        )
        self._secrets: list[str] = []
        self._watched: list[CfnResource] = [*listeners, *(_l1(r) for r in rules), _l1(service)]
        self._service_token = provider.service_token
        self._identity = {
            "ClusterName": cluster.cluster_name,
            "ServiceName": props.service_name or "",
            "BlueTargetGroupArn": lb.blue_target_group.target_group_arn,
            "GreenTargetGroupArn": lb.green_target_group.target_group_arn,
        }
        configured = {
            "DesiredCount": str(props.desired_count),
            "ContainerName": props.container_name,
            "ContainerPort": str(props.container_port),
            "Subnets": select_subnets(parts.vpc, parts.subnets).subnet_ids,
            "SecurityGroups": [group.security_group_id for group in service.connections.security_groups],
            "AssignPublicIp": "ENABLED" if parts.assign_public_ip else "DISABLED",
            "PlatformVersion": (props.platform_version or ecs.FargatePlatformVersion.LATEST).value,
            "CapacityProviderStrategy": [
                {"CapacityProvider": s.capacity_provider, "Base": s.base or 0, "Weight": s.weight or 0}
                for s in props.capacity_provider_strategies or []
            ],
        }
        properties: dict[str, Any] = {
            "Engine": engine,
            "LoadBalancerArn": lb.load_balancer.load_balancer_arn,
            "ProdPort": str(props.prod_port),
            "TestPort": str(props.test_port),
            "BlueTargetGroupArn": lb.blue_target_group.target_group_arn,
            "GreenTargetGroupArn": lb.green_target_group.target_group_arn,
            "ClusterName": cluster.cluster_name,
            "ServiceName": props.service_name or "",
            "Configured": configured,
            # Asked again whenever CloudFormation would write the listeners, rules or service.
            "Fingerprint": Lazy.any(_Fingerprint(self._watched, named_only=parts.alarms, secrets=self._secrets)),
        }
        if rules:
            properties.update(
                ProdRulePriority=str(lb.routing.priority if lb.routing else defaults.OWN_PROD_RULE_PRIORITY),
                TestRulePriority=str(lb.routing.priority if lb.routing else defaults.OWN_TEST_RULE_PRIORITY),
            )
        if lb.shared:
            properties["ProdListenerArn"] = lb.prod_listener.listener_arn
        # What a CODE_DEPLOY service was created with (pin_codedeploy_service); None for an ECS-native service.
        self.pinned_service: CustomResource | None = None
        self.resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=LOOKUP_SERVICE_TIMEOUT,
        )

    def attribute(self, name: str) -> str:
        """One of the lookup's attributes (see handlers/live_lookup.py), as a token."""
        return self.resource.get_att_string(name)

    def watch(self, rule: elbv2.ApplicationListenerRule, *, secret: str | None = None) -> None:
        """Ask the lookup again whenever CloudFormation would write ``rule`` (it takes a lookup attribute).

        ``secret`` (a value of the rule) is left out of the fingerprint: the lookup's properties reach its
        function's event and CloudFormation's console, and CloudFormation resolves no secure dynamic
        reference in a custom resource's properties.
        """
        self._watched.append(_l1(rule))
        if secret is not None:
            self._secrets.append(secret)

    def follow_revisions(self, task_definition: ecs.ITaskDefinition) -> None:
        """Ask the lookup again with every new task definition, not only when a watched resource changes.

        For what moves with each deployment and is written in the same update that starts the next one (the
        test traffic rule): a new image changes no watched property under CODE_DEPLOY (the trigger deploys it).
        """
        _l1(self.resource).add_property_override("TaskDefinition", task_definition.task_definition_arn)

    def follow_desired_count(self, service: ecs.FargateService) -> None:
        """The running task count stays what it is; a new service starts with ``desired_count``."""
        _l1(service).add_property_override("DesiredCount", self.attribute("DesiredCount"))

    def follow_listener(self, listener: elbv2.IApplicationListener, attribute: str) -> None:
        """The listener forwards where it forwards now (CodeDeploy moved it), not where the template started."""
        _l1(cast(Construct, listener)).add_property_override(
            "DefaultActions", [{"Type": "forward", "TargetGroupArn": self.attribute(attribute)}]
        )

    def follow_rule(self, rule: elbv2.ApplicationListenerRule) -> None:
        """The rule keeps the weights ECS left it with: 100 to production's target group, 0 to the other."""
        _l1(rule).add_property_override(
            "Actions",
            [
                {
                    "Type": "forward",
                    "ForwardConfig": {
                        "TargetGroups": [
                            {"TargetGroupArn": self.attribute("ProdTargetGroupArn"), "Weight": 100},
                            {"TargetGroupArn": self.attribute("TestTargetGroupArn"), "Weight": 0},
                        ]
                    },
                }
            ],
        )

    def pin_codedeploy_service(self, service: ecs.FargateService) -> None:
        """What ECS refuses to update on a CODE_DEPLOY service stays as CloudFormation created it; the AppSpec
        deploys changes.

        ECS UpdateService accepts only desired count, deployment configuration, health check grace
        period, placement and tags for a service with the CODE_DEPLOY controller (ECS API reference,
        UpdateService); network configuration, platform version and load balancers change through a
        CodeDeploy deployment, which the deployment trigger runs with the new values. DescribeServices
        answers them as the PRIMARY task set has them, so they render from ``PinnedService``
        (handlers/pinned_service.py), which holds the lookup's answer from when the service was created.
        """
        pinned = CustomResource(
            self,
            "PinnedService",
            service_token=self._service_token,
            resource_type=PINNED_SERVICE_TYPE,
            properties={
                **self._identity,
                "Candidate": {key: self.attribute(key) for key in pinned_service.PINNED_KEYS},
            },
            service_timeout=LOOKUP_SERVICE_TIMEOUT,
        )
        self.pinned_service = pinned
        resource = _l1(service)
        resource.add_property_override(
            "NetworkConfiguration.AwsvpcConfiguration",
            {
                "Subnets": Fn.split(",", pinned.get_att_string("Subnets")),
                "SecurityGroups": Fn.split(",", pinned.get_att_string("SecurityGroups")),
                "AssignPublicIp": pinned.get_att_string("AssignPublicIp"),
            },
        )
        resource.add_property_override("PlatformVersion", pinned.get_att_string("PlatformVersion"))
        for key, attribute in (
            ("ContainerName", "ContainerName"),
            ("ContainerPort", "ContainerPort"),
            ("TargetGroupArn", "ServiceTargetGroupArn"),
        ):
            resource.add_property_override(f"LoadBalancers.0.{key}", pinned.get_att_string(attribute))

    def pin_native_service(self, service: ecs.FargateService) -> None:
        """ECS swaps the service's primary and alternate target groups with every deployment: keep its choice."""
        resource = _l1(service)
        resource.add_property_override("LoadBalancers.0.TargetGroupArn", self.attribute("ServiceTargetGroupArn"))
        resource.add_property_override(
            "LoadBalancers.0.AdvancedConfiguration.AlternateTargetGroupArn",
            self.attribute("ServiceAlternateTargetGroupArn"),
        )


def _allow_reads(provider: Provider, cluster: ecs.ICluster) -> None:
    """Describe calls only, in the function's own policy: the lookup runs before the listeners and the service,
    so this policy must not name them (the function, and so every custom resource, depends on it)."""
    provider.allow_reads(
        iam.PolicyStatement(
            actions=["elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules"],
            resources=["*"],
        ),
        # ListServices has no resource types in the Service Authorization Reference (only "*" authorizes it)
        # and DescribeServices cannot name services that do not exist yet: both are limited to the cluster
        # by the ecs:cluster condition key, which both actions support.
        iam.PolicyStatement(
            actions=["ecs:ListServices", "ecs:DescribeServices"],
            resources=["*"],
            conditions={"ArnEquals": {"ecs:cluster": cluster.cluster_arn}},
        ),
    )


def _l1(construct: Construct) -> CfnResource:
    resource = construct.node.default_child
    assert isinstance(resource, CfnResource), construct.node.path
    return resource


@jsii.implements(IStableAnyProducer)
class _Fingerprint:
    """The watched resources' own properties, resolved at synthesis (the engine-owned overrides are not
    among them, so the fingerprint does not refer to the lookup itself)."""

    def __init__(
        self, resources: Sequence[CfnResource], *, named_only: Sequence[Any], secrets: Sequence[str] = ()
    ) -> None:
        self._resources = resources
        self._secrets = secrets
        # Read at synthesis: alarms added with add_rollback_alarm are in the same list by then.
        self._named_only = named_only

    def produce(self) -> Mapping[str, Any]:
        stack = Stack.of(self._resources[0])
        logical_ids = _LogicalIds.of(stack)
        # The rollback alarms wait for the listener that attaches their target groups (their metrics'
        # LoadBalancer dimension), and the listeners wait for the lookup: named, not referred to.
        alarms = [a.node.default_child for a in self._named_only if isinstance(a.node.default_child, CfnResource)]
        # First the whole stack's ids, in one request: the watched resources' are among them.
        local = logical_ids.local()
        watched = {logical_ids.of_element(resource) for resource in [*self._resources, *alarms]}
        resolved = stack.resolve([resource._cfn_properties for resource in self._resources])
        # Produced after aws-cdk-lib turned cross-stack references into imports: a reference to another
        # stack's resource (a shared load balancer's listener, a VPC's subnets) resolves to a Ref that this
        # template cannot hold, so it is named too.
        foreign = _referenced(resolved) - local
        secrets = [json.dumps(stack.resolve(secret), sort_keys=True) for secret in self._secrets]
        return {
            resource.node.path.rsplit("/", 2)[-2]: _without_secrets(secrets, _without_refs_to(watched | foreign, value))
            for resource, value in zip(self._resources, resolved, strict=True)
        }


class _LogicalIds:
    """The logical ids of one stack's elements, each resolved once however many services' fingerprints ask.

    Every service's fingerprint needs the set of the stack's own logical ids; resolving each element's id
    per fingerprint is two jsii requests per element per service, which grows with the square of the number
    of services in a stack. Elements added after an earlier synthesis are resolved when first seen.
    """

    _by_stack: ClassVar[weakref.WeakKeyDictionary[Stack, _LogicalIds]] = weakref.WeakKeyDictionary()

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        # By jsii object reference: the Python proxies of objects made in aws-cdk-lib come and go.
        self._ids: dict[str, str] = {}

    @classmethod
    def of(cls, stack: Stack) -> _LogicalIds:
        known = cls._by_stack.get(stack)
        if known is None:
            known = cls._by_stack[stack] = cls(stack)
        return known

    def of_element(self, element: CfnElement) -> str:
        reference = _reference(element)
        logical_id = self._ids.get(reference)
        if logical_id is None:
            logical_id = self._ids[reference] = str(self._stack.resolve(self._stack.get_logical_id(element)))
        return logical_id

    def local(self) -> set[str]:
        """Every logical id of the stack's own elements (its nested constructs' included)."""
        elements = {_reference(c): c for c in self._stack.node.find_all() if isinstance(c, CfnElement)}
        new = [reference for reference in elements if reference not in self._ids]
        if new:
            # One resolve for all of them: each id is a token until then.
            resolved = self._stack.resolve([self._stack.get_logical_id(elements[r]) for r in new])
            self._ids.update(zip(new, (str(x) for x in resolved), strict=True))
        return {self._ids[reference] for reference in elements}


def _reference(element: CfnElement) -> str:
    """The jsii object reference of ``element``: the same for as long as the object lives in Node.js."""
    reference: str = element.__jsii_ref__.ref  # type: ignore[attr-defined]
    return reference


def _without_secrets(secrets: Sequence[str], value: Any) -> Any:
    """``value`` with every part equal to one of ``secrets`` (resolved, as JSON) replaced by a marker."""
    if secrets and json.dumps(value, sort_keys=True) in secrets:
        return "<secret>"
    if isinstance(value, list):
        return [_without_secrets(secrets, item) for item in value]
    if isinstance(value, dict):
        return {key: _without_secrets(secrets, item) for key, item in value.items()}
    return value


def _referenced(value: Any) -> set[str]:
    """The logical ids ``value`` refers to with Ref or Fn::GetAtt."""
    if isinstance(value, list):
        return set().union(*(_referenced(item) for item in value)) if value else set()
    if not isinstance(value, dict):
        return set()
    if len(value) == 1:
        ((key, argument),) = value.items()
        target = argument if key == "Ref" else argument[0] if key == "Fn::GetAtt" and argument else None
        if isinstance(target, str):
            return {target}
    return set().union(*(_referenced(item) for item in value.values())) if value else set()


def _without_refs_to(logical_ids: set[str], value: Any) -> Any:
    """``value`` with references to the watched resources named instead: the service refers to its rules
    (ECS-native), and a reference to a resource that waits for the lookup would be a dependency cycle. The
    names suffice: a watched resource that is replaced is created from the lookup's answer anyway."""
    if isinstance(value, list):
        return [_without_refs_to(logical_ids, item) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, argument),) = value.items()
        target = argument if key == "Ref" else argument[0] if key == "Fn::GetAtt" else None
        if isinstance(target, str) and target in logical_ids:
            return f"<{key} {target}>"
    return {key: _without_refs_to(logical_ids, item) for key, item in value.items()}
