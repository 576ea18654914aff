"""Findings of cfn-lint, cdk-nag and checkov that are acknowledged rather than fixed, each with its reason.

Every acknowledgment sits next to the resource it concerns: cfn-lint and checkov read the
resource's CloudFormation metadata; cdk-nag 3 reads aws-cdk-lib's ``Validations`` acknowledgments
on the construct (and reports them as suppressed, with the reason), cdk-nag 2 the ``cdk_nag``
metadata of each CloudFormation resource. docs/security.md lists them.
"""

from __future__ import annotations

import re
from typing import Any

import jsii
from aws_cdk import Acknowledgment, AspectPriority, Aspects, CfnResource, IAspect, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

# Created by ec2.Vpc under the @aws-cdk/aws-ec2:restrictDefaultSecurityGroup feature flag.
_VPC_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


# cdk-nag rule ids are acknowledged in aws-cdk-lib's namespaced form, so the validation report keeps
# each finding under "suppressedViolations" with its reason instead of dropping it silently.
_NAG_NAMESPACE = "AwsSolutions::AwsSolutions-"

# checkov checks that are skipped on the library's (and aws-cdk-lib's) Lambda functions and logs.
RESERVED_CONCURRENCY = (
    "CKV_AWS_115",
    "Invoked a few times per deployment; reserving concurrency would only take from the account's pool.",
)
DEAD_LETTER_QUEUE = (
    "CKV_AWS_116",
    "Synchronous custom resource / hook invocations: failures surface in CloudFormation or CodeDeploy.",
)
NOT_IN_VPC = ("CKV_AWS_117", "Calls only AWS APIs; a VPC would add NAT or endpoints and protect nothing.")
ENVIRONMENT_NOT_SECRET = (
    "CKV_AWS_173",
    "The environment holds ARNs and URLs, no secrets; Lambda encrypts it at rest with an AWS managed key.",
)
LOGS_DEFAULT_ENCRYPTION = (
    "CKV_AWS_158",
    "CloudWatch Logs encrypts at rest by default; a customer managed key is opt-in (log_encryption_key).",
)


# "IAM5[Resource::*]": the rule, and the granular finding cdk-nag 2 matches with `applies_to`.
_NAG_RULE = re.compile(r"^(?P<rule>[A-Za-z0-9]+)(?:\[(?P<finding>.+)\])?$")
# cdk-nag 2 rejects a suppression whose reason is shorter (NagSuppressionHelper.getSuppressionFormatError).
_NAG2_MIN_REASON = 10


def acknowledge_nag(scope: IConstruct, rule: str, reason: str) -> None:
    """Acknowledge the AwsSolutions finding ``rule`` (e.g. ``"IAM5[Resource::*]"``) on ``scope`` and below.

    Both cdk-nag majors see it, without a dependency on either: cdk-nag 3 (an aws-cdk-lib policy
    validation plugin) reads ``Validations`` acknowledgments, cdk-nag 2 (an Aspect) reads each
    resource's ``cdk_nag`` metadata, written here as its ``NagSuppressions.addResourceSuppressions``
    writes it (rule id ``AwsSolutions-IAM5``, the finding in ``applies_to``).
    """
    match = _NAG_RULE.match(rule)
    if match is None or len(reason) < _NAG2_MIN_REASON:
        raise ValueError(
            f"acknowledge_nag: rule {rule!r} with reason {reason!r}: the rule must read like 'IAM5' or "
            f"'IAM5[Resource::*]' and the reason must have at least {_NAG2_MIN_REASON} characters."
        )
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{_NAG_NAMESPACE}{rule}", reason=reason))
    suppression: dict[str, Any] = {"reason": reason, "id": f"AwsSolutions-{match['rule']}"}
    if match["finding"]:
        suppression["applies_to"] = [match["finding"]]
    # An Aspect, not a walk of scope's children now: like the Validations acknowledgment, it covers
    # resources added under scope later (a role's default policy). MUTATING runs it before cdk-nag 2's
    # own Aspect (default priority), wherever in the app that one is added.
    Aspects.of(scope).add(_Nag2Suppression(suppression), priority=AspectPriority.MUTATING)


@jsii.implements(IAspect)
class _Nag2Suppression:
    """Adds one cdk-nag 2 suppression to the ``cdk_nag`` metadata of every CloudFormation resource it visits."""

    def __init__(self, suppression: dict[str, Any]) -> None:
        self._suppression = suppression

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, CfnResource):
            return
        metadata = node.get_metadata("cdk_nag") or {"rules_to_suppress": []}
        if self._suppression not in metadata["rules_to_suppress"]:
            metadata["rules_to_suppress"].append(self._suppression)
            node.add_metadata("cdk_nag", metadata)


def skip_checkov(construct: IConstruct, *checks: tuple[str, str]) -> None:
    """Skip checkov ``checks`` (id, reason) on one resource; entries merge with earlier ones."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource to annotate")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    known = {entry["id"] for entry in metadata["skip"]}
    metadata["skip"].extend({"id": check, "comment": reason} for check, reason in checks if check not in known)
    resource.add_metadata("checkov", metadata)


def ignore_cfn_lint(resource: CfnResource, *rule_ids: str) -> None:
    """Have cfn-lint skip ``rule_ids`` on this one resource (the caller documents why)."""
    config = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    checks: list[str] = config["config"]["ignore_checks"]
    checks.extend(rule for rule in rule_ids if rule not in checks)
    resource.add_metadata("cfn-lint", config)


def acknowledge_generated_findings(scope: IConstruct) -> None:
    """Mark known findings on aws-cdk-lib's generated resources in ``scope``'s stack."""
    provider = Stack.of(scope).node.try_find_child(_VPC_DEFAULT_SG_PROVIDER)
    handler = provider.node.try_find_child("Handler") if provider is not None else None
    if isinstance(handler, CfnResource):
        # W3005: aws-cdk-lib writes an explicit DependsOn on the role that the function's Role
        # GetAtt already implies. Redundant, harmless, and not ours to change.
        ignore_cfn_lint(handler, "W3005")
        skip_checkov(handler, RESERVED_CONCURRENCY, DEAD_LETTER_QUEUE, NOT_IN_VPC)


def acknowledge_lambda_functions(scope: IConstruct, *, in_vpc: bool = False) -> None:
    """checkov's Lambda checks that do not apply to a deployment-time function, on every one under ``scope``."""
    checks = [RESERVED_CONCURRENCY, DEAD_LETTER_QUEUE, ENVIRONMENT_NOT_SECRET]
    if not in_vpc:
        checks.append(NOT_IN_VPC)
    for construct in scope.node.find_all():
        if isinstance(construct, lambda_.CfnFunction):
            skip_checkov(construct, *checks)


def acknowledge_role_dependencies(scope: IConstruct) -> None:
    """W3005 on every function and state machine under ``scope``.

    aws-cdk-lib makes each Lambda function and state machine DependsOn its role as well as
    referencing the role's ARN; the explicit edge is redundant (and harmless), and it is written
    by aws-cdk-lib, not by this library.
    """
    for construct in scope.node.find_all():
        if isinstance(construct, lambda_.CfnFunction | sfn.CfnStateMachine):
            ignore_cfn_lint(construct, "W3005")
