"""Every log group the library creates: one retention, one optional KMS key, and the key policy Logs needs.

CloudWatch Logs encrypts a log group with a customer managed key only when the key policy lets the
regional Logs service principal use it for that account's log groups; without that statement,
creating the log group fails (AWS CloudWatch Logs user guide, "Encrypt log data in CloudWatch Logs
using AWS KMS", and aws/aws-cdk #28304). For a key this app owns, the statement is added here; an
imported key's policy must already hold it (docs/security.md shows the statement).
"""

from __future__ import annotations

from aws_cdk import Annotations, ArnFormat, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ..configuration.acknowledgements import LOGS_DEFAULT_ENCRYPTION, skip_checkov


def log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    name: str | None = None,
) -> logs.LogGroup:
    """A log group kept for ``retention``, encrypted with ``encryption_key`` when one is given."""
    if encryption_key is not None and not allow_cloudwatch_logs(encryption_key):
        Annotations.of(scope).add_info(
            f"{encryption_key.node.path} is imported: its key policy must let logs.<region>.amazonaws.com use it "
            "for this account's log groups (docs/security.md), or creating the log groups fails."
        )
    group = logs.LogGroup(scope, construct_id, retention=retention, encryption_key=encryption_key, log_group_name=name)
    if encryption_key is None:
        skip_checkov(group, LOGS_DEFAULT_ENCRYPTION)
    return group


def allow_cloudwatch_logs(key: kms.IKey) -> bool:
    """Let CloudWatch Logs use ``key`` for this account's log groups in the key's region.

    Returns whether the statement is in the key policy: ``False`` for an imported key, whose policy
    this app cannot change. Adding it again (a second service, a second log group) is harmless:
    aws-cdk-lib drops duplicate statements when it renders a policy.
    """
    stack = Stack.of(key)
    statement = iam.PolicyStatement(
        sid="AllowCloudWatchLogsOfThisAccount",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        resources=["*"],
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                    service="logs", resource="log-group", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
                )
            }
        },
    )
    return bool(key.add_to_resource_policy(statement).statement_added)
