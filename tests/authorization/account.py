"""The identity policies of each IAM role that exists in a simulated account, as CloudFormation created it.

Unlike :func:`roles.role_policies`, which reads a template, this reads the resources a stack operation has
created so far, with the properties CloudFormation resolved for them: a policy whose ``AWS::IAM::Policy`` is not
created yet grants nothing, and a policy names its roles by physical name, as IAM attaches it
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-iam-policy.html: ``Roles`` are
role names). That is what IAM evaluates a call against while a stack is being created or updated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .managed_policies import managed_policy


@dataclass(frozen=True)
class Created:
    """One created resource: type, physical id, resolved properties and attributes."""

    type: str
    physical_id: str
    properties: Mapping[str, Any]
    attributes: Mapping[str, Any]


def role_policies_in_account(resources: Iterable[Created]) -> dict[str, list[dict[str, Any]]]:
    """Each created role's ARN -> its policy documents: inline, attached ``AWS::IAM::Policy`` and
    ``AWS::IAM::ManagedPolicy`` resources (by role name), and AWS managed policies (by ARN)."""
    created = list(resources)
    customer_managed = {
        r.physical_id: dict(r.properties["PolicyDocument"]) for r in created if r.type == "AWS::IAM::ManagedPolicy"
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for role in (r for r in created if r.type == "AWS::IAM::Role"):
        documents = [dict(p["PolicyDocument"]) for p in role.properties.get("Policies", [])]
        for arn in role.properties.get("ManagedPolicyArns", []):
            documents.append(customer_managed[arn] if arn in customer_managed else managed_policy(str(arn)))
        for policy in created:
            attached = policy.type in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
            if attached and role.physical_id in policy.properties.get("Roles", []):
                documents.append(dict(policy.properties["PolicyDocument"]))
        out[str(role.attributes["Arn"])] = documents
    return out
