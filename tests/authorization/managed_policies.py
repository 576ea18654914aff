"""AWS managed policies the construct attaches, as the AWS Managed Policy Reference Guide publishes them.

Each document is the default version named next to it, from the page cited. A role's permissions are only
modelled when every managed policy it attaches is here: :func:`managed_policy` raises KeyError for any other
name, because treating an unknown policy as empty or as "allow all" would make the model lie.
"""

from __future__ import annotations

from typing import Any

MANAGED_POLICIES: dict[str, dict[str, Any]] = {
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html
    # Policy version: v3 (default); edited September 23, 2019.
    "AWSCodeDeployRoleForECSLimited": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": [
                    "ecs:DescribeServices",
                    "ecs:CreateTaskSet",
                    "ecs:UpdateServicePrimaryTaskSet",
                    "ecs:DeleteTaskSet",
                    "cloudwatch:DescribeAlarms",
                ],
                "Resource": "*",
                "Effect": "Allow",
            },
            {"Action": ["sns:Publish"], "Resource": "arn:aws:sns:*:*:CodeDeployTopic_*", "Effect": "Allow"},
            {
                "Action": [
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:ModifyListener",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:ModifyRule",
                ],
                "Resource": "*",
                "Effect": "Allow",
            },
            {
                "Action": ["lambda:InvokeFunction"],
                "Resource": "arn:aws:lambda:*:*:function:CodeDeployHook_*",
                "Effect": "Allow",
            },
            {
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": "*",
                "Condition": {"StringEquals": {"s3:ExistingObjectTag/UseWithCodeDeploy": "true"}},
                "Effect": "Allow",
            },
            {
                "Action": ["iam:PassRole"],
                "Effect": "Allow",
                "Resource": ["arn:aws:iam::*:role/ecsTaskExecutionRole", "arn:aws:iam::*:role/ECSTaskExecution*"],
                "Condition": {"StringLike": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}},
            },
        ],
    },
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html
    # Policy version: v1 (default); ARN arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole.
    "AWSLambdaBasicExecutionRole": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": "*",
            }
        ],
    },
    # https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
    # Policy version: v6 (default); created July 17, 2025, edited February 12, 2026; ARN
    # arn:aws:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers. The whole document was read from the
    # page's Markdown form (same URL, .md), whose header names the same version and dates; the v2 translations of the
    # page (July 25, 2025) publish the same five statements.
    "AmazonECSInfrastructureRolePolicyForLoadBalancers": {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ELBReadOperations",
                "Effect": "Allow",
                "Action": [
                    "elasticloadbalancing:DescribeListeners",
                    "elasticloadbalancing:DescribeRules",
                    "elasticloadbalancing:DescribeTargetGroups",
                    "elasticloadbalancing:DescribeTargetHealth",
                ],
                "Resource": "*",
            },
            {
                "Sid": "TargetGroupOperations",
                "Effect": "Allow",
                "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
                "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
            },
            {
                "Sid": "ALBModifyListeners",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:ModifyListener",
                "Resource": ["arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*"],
            },
            {
                "Sid": "NLBModifyListeners",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:ModifyListener",
                "Resource": ["arn:aws:elasticloadbalancing:*:*:listener/net/*/*/*"],
            },
            {
                "Sid": "ALBModifyRules",
                "Effect": "Allow",
                "Action": "elasticloadbalancing:ModifyRule",
                "Resource": ["arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*"],
            },
        ],
    },
}


def policy_name(arn: str) -> str:
    """``AWSLambdaBasicExecutionRole`` of ``arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole``."""
    prefix, sep, path = arn.partition(":iam::aws:policy/")
    if not sep or not prefix.startswith("arn:"):
        raise KeyError(f"{arn!r} is not an AWS managed policy ARN")
    return path.rsplit("/", 1)[-1]


def managed_policy(name_or_arn: str) -> dict[str, Any]:
    """The published document of an AWS managed policy, by name or ARN; KeyError naming it if not modelled."""
    name = policy_name(name_or_arn) if name_or_arn.startswith("arn:") else name_or_arn
    try:
        return MANAGED_POLICIES[name]
    except KeyError:
        raise KeyError(
            f"AWS managed policy {name!r} is not in tests/authorization/managed_policies.py: add its published "
            "document (AWS Managed Policy Reference Guide) before modelling a role that attaches it"
        ) from None
