"""The identity policies of each IAM role in a synthesized template.

A role's permissions are the union of its inline ``Policies``, every ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` that names it in ``Roles``, and the managed policies in its ``ManagedPolicyArns``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html). Tests evaluate
requests against that union, so nothing attached can be left out and nothing unknown is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..simulator.aws import ACCOUNT, REGION
from ..simulator.intrinsics import Resolver
from .managed_policies import managed_policy

Resolve = Callable[[Any], Any]
Names = Literal["simulated", "wildcard"]
_HASH = "0123456789abcdef"
WILDCARD = "*"
# The simulated stack's own pseudo parameters (the account's come from simulator/intrinsics.py's Resolver).
_SIMULATED_STACK = {
    "AWS::StackName": "Simulated",
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Simulated/00000000-0000-0000-0000-000000000001",
}


def _refers_to(value: Any, logical: str) -> bool:
    return isinstance(value, Mapping) and value.get("Ref") == logical


@dataclass(frozen=True)
class Source:
    """One policy document of a role: where it comes from (``label``), as written and resolved."""

    label: str
    document: Mapping[str, Any]
    resolved: dict[str, Any]


def role_sources(template: Mapping[str, Any], logical: str, resolve: Resolve) -> list[Source]:
    """The policy documents (inline, attached, managed) of the AWS::IAM::Role ``logical``, each with its origin:
    ``<role>.Policies[<name>]``, the attached policy's logical id, or ``AWS managed policy <name>``.

    Only this role's managed policies must be modelled (managed_policies.py), not every role's of the template.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    if resources.get(logical, {}).get("Type") != "AWS::IAM::Role":
        raise KeyError(f"{logical!r} is not an AWS::IAM::Role of the template")
    properties = resources[logical].get("Properties", {})
    sources = [
        Source(f"{logical}.Policies[{p.get('PolicyName', i)}]", p["PolicyDocument"], resolve(p["PolicyDocument"]))
        for i, p in enumerate(properties.get("Policies", []))
    ]
    attached: list[str] = []
    for other, candidate in resources.items():
        roles = candidate.get("Properties", {}).get("Roles", [])
        policy = candidate.get("Type") in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        if policy and any(_refers_to(r, logical) for r in roles):
            attached.append(other)
    for arn in properties.get("ManagedPolicyArns", []):
        # A customer managed policy of the same template is attached by {"Ref": its logical id}.
        if isinstance(arn, Mapping) and resources.get(arn.get("Ref", ""), {}).get("Type") == (
            "AWS::IAM::ManagedPolicy"
        ):
            if arn["Ref"] not in attached:
                attached.append(arn["Ref"])
            continue
        resolved = resolve(arn)
        if not isinstance(resolved, str):
            raise ValueError(f"{logical}: ManagedPolicyArns entry {arn!r} resolved to {resolved!r}")
        document = managed_policy(resolved)
        sources.append(Source(f"AWS managed policy {resolved.rsplit('/', 1)[-1]}", document, document))
    for p in attached:
        document = resources[p]["Properties"]["PolicyDocument"]
        sources.append(Source(p, document, resolve(document)))
    return sources


def role_documents(template: Mapping[str, Any], logical: str, resolve: Resolve) -> list[dict[str, Any]]:
    """The resolved policy documents (inline, attached, managed) of the AWS::IAM::Role ``logical``."""
    return [source.resolved for source in role_sources(template, logical, resolve)]


def role_policies(template: Mapping[str, Any], resolve: Resolve) -> dict[str, list[dict[str, Any]]]:
    """Each AWS::IAM::Role's logical id -> its resolved policy documents (inline, attached, managed)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    return {
        logical: role_documents(template, logical, resolve)
        for logical, resource in resources.items()
        if resource.get("Type") == "AWS::IAM::Role"
    }


class _WildcardResolver(Resolver):
    """A Resolver whose region, account and stack pseudo parameters are ``*`` (see ``resolver_for``)."""

    STACK: ClassVar[dict[str, str]] = {
        "AWS::StackName": WILDCARD,
        "AWS::StackId": "arn:aws:cloudformation:*:*:stack/*/*",
    }
    _PSEUDO: ClassVar[dict[str, str]] = {"AWS::Region": WILDCARD, "AWS::AccountId": WILDCARD, **STACK}

    def _function(self, name: str, arg: Any) -> Any:
        if name == "Ref" and isinstance(arg, str) and arg in self._PSEUDO:
            return self._PSEUDO[arg]
        return super()._function(name, arg)


def resolver_for(template: Mapping[str, Any], names: Names = "simulated") -> Resolve:
    """A resolver that answers Ref and Fn::GetAtt with plausible physical ids, in AWS's ARN formats.

    ``names="simulated"``: physical names are derived from logical ids (a role is ``<logicalId>-simulated``) so a
    test can build the ARN it expects. ``names="wildcard"``: every name and id part a resource contributes, and
    the region and account, are ``*`` within the same ARN format, so a policy grants what it grants on any
    resource of the right type: ``ArnEquals ecs:cluster`` on the cluster becomes ``arn:aws:ecs:*:*:cluster/*``
    (any cluster), a grant on a listener rule ``...:listener-rule/app/*/*/*/*`` (any rule, never a listener).
    That is for requests that come from outside the template's world (the handler tests' own ARNs): what they
    can check is the action, the resource type and the condition keys. A resource type or attribute not
    modelled raises KeyError naming it.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    wildcard = names == "wildcard"
    region, account, hash_ = (WILDCARD, WILDCARD, WILDCARD) if wildcard else (REGION, ACCOUNT, _HASH)
    stack = _WildcardResolver.STACK if wildcard else _SIMULATED_STACK
    resolver: Resolver

    def name(logical: str, length: int | None = None) -> str:
        """The name a resource's logical id stands for (``length``: ELBv2's 32-character limit)."""
        return WILDCARD if wildcard else logical[:length]

    def kind(logical: str) -> str:
        if logical not in resources:
            raise KeyError(f"{logical!r} is not a resource of the template")
        return str(resources[logical]["Type"])

    def prop(logical: str, key: str) -> Any:
        return resolver.resolve(resources[logical].get("Properties", {}).get(key))

    def elb(service_path: str) -> str:
        return f"arn:aws:elasticloadbalancing:{region}:{account}:{service_path}"

    def lb_path(logical: str) -> str:
        scheme = "net" if prop(logical, "Type") == "network" else "app"
        return f"{scheme}/{name(logical, 32)}/{hash_}"

    def lb_of_listener(logical: str) -> str:
        arn = str(prop(logical, "LoadBalancerArn"))
        return arn.split(":loadbalancer/", 1)[1]

    def ref(logical: str) -> Any:
        if logical in stack:  # the stack's pseudo parameters, where the Resolver leaves them to the stack
            return stack[logical]
        t = kind(logical)
        if t == "AWS::IAM::Role":
            return WILDCARD if wildcard else f"{logical}-simulated"
        if t in ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::SNS::Topic"):
            return get_att(logical, "Arn")
        if t in ("AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::Listener"):
            return get_att(logical, "Arn")
        if t in ("AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::StepFunctions::StateMachine"):
            return get_att(logical, "Arn")
        if t == "AWS::ECS::TaskDefinition":
            return f"arn:aws:ecs:{region}:{account}:task-definition/{name(logical)}:{WILDCARD if wildcard else 1}"
        return name(logical)  # names: ECS cluster, Lambda function, log group, CodeDeploy application/group, policy

    def get_att(logical: str, attribute: str) -> Any:
        t = kind(logical)
        n = name(logical)
        role = WILDCARD if wildcard else f"{logical}-simulated"
        arns: dict[str, Callable[[], str]] = {
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{account}:role/{role}",
            "AWS::ECS::Cluster": lambda: f"arn:aws:ecs:{region}:{account}:cluster/{n}",
            "AWS::ECS::Service": lambda: (
                f"arn:aws:ecs:{region}:{account}:service/{str(prop(logical, 'Cluster')).rsplit('/', 1)[-1]}/{n}"
            ),
            "AWS::Lambda::Function": lambda: f"arn:aws:lambda:{region}:{account}:function:{n}",
            "AWS::CodeDeploy::Application": lambda: f"arn:aws:codedeploy:{region}:{account}:application:{n}",
            "AWS::CodeDeploy::DeploymentGroup": lambda: (
                f"arn:aws:codedeploy:{region}:{account}:deploymentgroup:{prop(logical, 'ApplicationName')}/{n}"
            ),
            "AWS::StepFunctions::StateMachine": lambda: f"arn:aws:states:{region}:{account}:stateMachine:{n}",
            # Fn::GetAtt LogGroup.Arn ends in ":*" (AWS::Logs::LogGroup return values).
            "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{region}:{account}:log-group:{n}:*",
            "AWS::SNS::Topic": lambda: f"arn:aws:sns:{region}:{account}:{n}",
            "AWS::CloudWatch::Alarm": lambda: f"arn:aws:cloudwatch:{region}:{account}:alarm:{n}",
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{region}:{account}:{n}",
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{n.lower()}",
            "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: elb(f"loadbalancer/{lb_path(logical)}"),
            "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: elb(f"targetgroup/{name(logical, 32)}/{hash_}"),
            "AWS::ElasticLoadBalancingV2::Listener": lambda: elb(f"listener/{lb_of_listener(logical)}/{hash_}"),
            "AWS::ElasticLoadBalancingV2::ListenerRule": lambda: elb(
                "listener-rule/" + str(prop(logical, "ListenerArn")).split(":listener/", 1)[1] + f"/{hash_}"
            ),
        }
        arn_attributes = {"Arn", "ServiceArn", "ListenerArn", "RuleArn", "TopicArn", "LoadBalancerArn"}
        if t in arns and attribute in arn_attributes | {"TargetGroupArn"}:
            return arns[t]()
        if t == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "LoadBalancerFullName":
            return lb_path(logical)
        if t == "AWS::ElasticLoadBalancingV2::TargetGroup" and attribute == "TargetGroupFullName":
            return f"targetgroup/{name(logical, 32)}/{hash_}"
        if t == "AWS::EC2::VPC" and attribute == "DefaultSecurityGroup":
            return WILDCARD if wildcard else f"sg-{logical.lower()[:17]}"
        if attribute in ("Name", "TargetGroupName", "TopicName", "LoadBalancerName"):
            return n
        raise KeyError(f"Fn::GetAtt {logical}.{attribute} ({t}) is not modelled by resolver_for")

    resolver = (_WildcardResolver if wildcard else Resolver)(template, ref, get_att)
    return resolver.resolve
