"""Findings in resources that aws-cdk-lib generates, acknowledged next to the resource with a reason.

The library does not own these resources' code, so the finding cannot be fixed here; the
acknowledgment lives in the resource's own metadata, where cfn-lint (and a reviewer) reads it.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_stepfunctions as sfn
from constructs import IConstruct

# Created by ec2.Vpc under the @aws-cdk/aws-ec2:restrictDefaultSecurityGroup feature flag.
_VPC_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"


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


def acknowledge_role_dependencies(scope: IConstruct) -> None:
    """W3005 on every function and state machine under ``scope``.

    aws-cdk-lib makes each Lambda function and state machine DependsOn its role as well as
    referencing the role's ARN; the explicit edge is redundant (and harmless), and it is written
    by aws-cdk-lib, not by this library.
    """
    for construct in scope.node.find_all():
        if isinstance(construct, lambda_.CfnFunction | sfn.CfnStateMachine):
            ignore_cfn_lint(construct, "W3005")
