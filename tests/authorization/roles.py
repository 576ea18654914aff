"""The identity policies of each IAM role in a synthesized template.

A role's permissions are the union of its inline ``Policies``, every ``AWS::IAM::Policy`` and
``AWS::IAM::ManagedPolicy`` that names it in ``Roles``, and the managed policies in its ``ManagedPolicyArns``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-role.html). Tests evaluate
requests against that union, so nothing attached can be left out and nothing unknown is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..simulator.aws import ACCOUNT, REGION
from ..simulator.intrinsics import Resolver
from .managed_policies import managed_policy

Resolve = Callable[[Any], Any]
_HASH = "0123456789abcdef"


def _refers_to(value: Any, logical: str) -> bool:
    return isinstance(value, Mapping) and value.get("Ref") == logical


def role_policies(template: Mapping[str, Any], resolve: Resolve) -> dict[str, list[dict[str, Any]]]:
    """Each AWS::IAM::Role's logical id -> its resolved policy documents (inline, attached, managed)."""
    resources: Mapping[str, Any] = template.get("Resources", {})
    out: dict[str, list[dict[str, Any]]] = {}
    for logical, resource in resources.items():
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        properties = resource.get("Properties", {})
        documents = [resolve(p["PolicyDocument"]) for p in properties.get("Policies", [])]
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
            documents.append(managed_policy(resolved))
        documents += [resolve(resources[p]["Properties"]["PolicyDocument"]) for p in attached]
        out[logical] = documents
    return out


def resolver_for(template: Mapping[str, Any]) -> Resolve:
    """A resolver that answers Ref and Fn::GetAtt with plausible physical ids, in AWS's ARN formats.

    Physical names are derived from logical ids (a role is ``<logicalId>-simulated``) so a test can build the
    ARN it expects. A resource type or attribute not modelled raises KeyError naming it.
    """
    resources: Mapping[str, Any] = template.get("Resources", {})
    resolver: Resolver

    def kind(logical: str) -> str:
        if logical not in resources:
            raise KeyError(f"{logical!r} is not a resource of the template")
        return str(resources[logical]["Type"])

    def prop(logical: str, name: str) -> Any:
        return resolver.resolve(resources[logical].get("Properties", {}).get(name))

    def elb(service_path: str) -> str:
        return f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{service_path}"

    def lb_path(logical: str) -> str:
        scheme = "net" if prop(logical, "Type") == "network" else "app"
        return f"{scheme}/{logical[:32]}/{_HASH}"

    def lb_of_listener(logical: str) -> str:
        arn = str(prop(logical, "LoadBalancerArn"))
        return arn.split(":loadbalancer/", 1)[1]

    def ref(logical: str) -> Any:
        t = kind(logical)
        if t == "AWS::IAM::Role":
            return f"{logical}-simulated"
        if t in ("AWS::ECS::Service", "AWS::ElasticLoadBalancingV2::LoadBalancer", "AWS::SNS::Topic"):
            return get_att(logical, "Arn")
        if t in ("AWS::ElasticLoadBalancingV2::TargetGroup", "AWS::ElasticLoadBalancingV2::Listener"):
            return get_att(logical, "Arn")
        if t in ("AWS::ElasticLoadBalancingV2::ListenerRule", "AWS::StepFunctions::StateMachine"):
            return get_att(logical, "Arn")
        if t == "AWS::ECS::TaskDefinition":
            return f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{logical}:1"
        return logical  # names: ECS cluster, Lambda function, log group, CodeDeploy application/group, policy

    def get_att(logical: str, attribute: str) -> Any:
        t = kind(logical)
        arns: dict[str, Callable[[], str]] = {
            "AWS::IAM::Role": lambda: f"arn:aws:iam::{ACCOUNT}:role/{logical}-simulated",
            "AWS::ECS::Cluster": lambda: f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{logical}",
            "AWS::ECS::Service": lambda: (
                f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{str(prop(logical, 'Cluster')).rsplit('/', 1)[-1]}/{logical}"
            ),
            "AWS::Lambda::Function": lambda: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{logical}",
            "AWS::CodeDeploy::Application": lambda: f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:application:{logical}",
            "AWS::CodeDeploy::DeploymentGroup": lambda: (
                f"arn:aws:codedeploy:{REGION}:{ACCOUNT}:deploymentgroup:{prop(logical, 'ApplicationName')}/{logical}"
            ),
            "AWS::StepFunctions::StateMachine": lambda: f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{logical}",
            # Fn::GetAtt LogGroup.Arn ends in ":*" (AWS::Logs::LogGroup return values).
            "AWS::Logs::LogGroup": lambda: f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{logical}:*",
            "AWS::SNS::Topic": lambda: f"arn:aws:sns:{REGION}:{ACCOUNT}:{logical}",
            "AWS::CloudWatch::Alarm": lambda: f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{logical}",
            "AWS::SQS::Queue": lambda: f"arn:aws:sqs:{REGION}:{ACCOUNT}:{logical}",
            "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{logical.lower()}",
            "AWS::ElasticLoadBalancingV2::LoadBalancer": lambda: elb(f"loadbalancer/{lb_path(logical)}"),
            "AWS::ElasticLoadBalancingV2::TargetGroup": lambda: elb(f"targetgroup/{logical[:32]}/{_HASH}"),
            "AWS::ElasticLoadBalancingV2::Listener": lambda: elb(f"listener/{lb_of_listener(logical)}/{_HASH}"),
            "AWS::ElasticLoadBalancingV2::ListenerRule": lambda: elb(
                "listener-rule/" + str(prop(logical, "ListenerArn")).split(":listener/", 1)[1] + f"/{_HASH}"
            ),
        }
        arn_attributes = {"Arn", "ServiceArn", "ListenerArn", "RuleArn", "TopicArn", "LoadBalancerArn"}
        if t in arns and attribute in arn_attributes | {"TargetGroupArn"}:
            return arns[t]()
        if t == "AWS::ElasticLoadBalancingV2::LoadBalancer" and attribute == "LoadBalancerFullName":
            return lb_path(logical)
        if t == "AWS::ElasticLoadBalancingV2::TargetGroup" and attribute == "TargetGroupFullName":
            return f"targetgroup/{logical[:32]}/{_HASH}"
        if t == "AWS::EC2::VPC" and attribute == "DefaultSecurityGroup":
            return f"sg-{logical.lower()[:17]}"
        if attribute in ("Name", "TargetGroupName", "TopicName", "LoadBalancerName"):
            return logical
        raise KeyError(f"Fn::GetAtt {logical}.{attribute} ({t}) is not modelled by resolver_for")

    resolver = Resolver(template, ref, get_att)
    return resolver.resolve
