"""Load balancer access logs: an encrypted, SSL-only bucket with a lifecycle rule, and its policy.

aws-cdk-lib's ``logAccessLogs`` needs a concrete region (it looks up the region's ELB account), so it
refuses environment-agnostic stacks like the sample app. The policy here works in both. Regions
opened since August 2022 deliver logs as the service principal
``logdelivery.elasticloadbalancing.amazonaws.com``; older ones as a regional ELB account. With a
concrete region the account is looked up now; in an agnostic stack a CloudFormation condition picks
it from a mapping in the older regions and falls back to the stack's own account (which already has
access, so the grant is a no-op) everywhere else, so the template deploys in every region.
"""

from __future__ import annotations

from aws_cdk import Aws, CfnCondition, CfnMapping, Duration, Fn, ICfnConditionExpression, Stack, Token
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.region_info import FactName, RegionInfo
from constructs import Construct

from ..configuration.validation import check_duration


def access_logs_bucket(scope: Construct, construct_id: str, *, retention: Duration) -> s3.Bucket:
    """A bucket for access logs: SSE-S3 (the only encryption ELB log delivery supports), SSL only,
    no public access, ACLs disabled, objects expire after ``retention``."""
    check_retention(retention)
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireAccessLogs",
                expiration=retention,
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
    )


def check_retention(retention: Duration) -> None:
    """S3 expires objects after whole days; ten years is plenty for access logs."""
    check_duration("access_logs_retention", retention, minimum_seconds=86400, maximum_seconds=3650 * 86400)


def enable_access_logs(load_balancer: elbv2.ApplicationLoadBalancer, bucket: s3.IBucket, prefix: str) -> None:
    """Point the load balancer's access logs at ``bucket``/``prefix`` and let ELB write there."""
    objects = bucket.arn_for_objects(f"{prefix}/AWSLogs/{Aws.ACCOUNT_ID}/*")
    # No Sid: a bucket shared by several load balancers gets one statement per prefix, and Sids
    # must be unique in a policy (with @aws-cdk/aws-iam:minimizePolicies they merge into one).
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            actions=["s3:PutObject"],
            resources=[objects],
            principals=[iam.ServicePrincipal("logdelivery.elasticloadbalancing.amazonaws.com")],
        )
    )
    account = _elb_account(Stack.of(load_balancer))
    if account is not None:
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                actions=["s3:PutObject"],
                resources=[objects],
                principals=[iam.AccountPrincipal(account)],
            )
        )
    load_balancer.set_attribute("access_logs.s3.enabled", "true")
    load_balancer.set_attribute("access_logs.s3.bucket", bucket.bucket_name)
    load_balancer.set_attribute("access_logs.s3.prefix", prefix)
    # ELB checks that it may write when the attribute is set, so the policy must exist first.
    if bucket.policy is not None:
        load_balancer.node.add_dependency(bucket.policy)


_MAPPING_ID = "BlueGreenEcsElbAccounts"
_CONDITION_ID = "BlueGreenEcsRegionHasElbAccount"


def _elb_account(stack: Stack) -> str | None:
    """The region's ELB log-delivery account: known now, chosen at deploy time, or none."""
    if not Token.is_unresolved(stack.region):
        account = RegionInfo.get(stack.region).elbv2_account
        return str(account) if account else None
    mapping = stack.node.try_find_child(_MAPPING_ID)
    condition = stack.node.try_find_child(_CONDITION_ID)
    if not isinstance(mapping, CfnMapping) or not isinstance(condition, CfnCondition):
        # One call for the whole table: a region at a time is a jsii round trip each.
        accounts = {
            region: {"account": account} for region, account in RegionInfo.region_map(FactName.ELBV2_ACCOUNT).items()
        }
        mapping = CfnMapping(stack, _MAPPING_ID, mapping=accounts)
        condition = CfnCondition(stack, _CONDITION_ID, expression=_any_region(sorted(accounts)))
    return Token.as_string(
        Fn.condition_if(condition.logical_id, mapping.find_in_map(Aws.REGION, "account"), Aws.ACCOUNT_ID)
    )


def _any_region(regions: list[str]) -> ICfnConditionExpression:
    """``AWS::Region`` is one of ``regions`` (Fn::Or takes 2 to 10 conditions, so nest them)."""
    region = Aws.REGION  # a jsii request each time it is read
    conditions: list[ICfnConditionExpression] = [Fn.condition_equals(region, name) for name in regions]
    while len(conditions) > 1:
        groups = [conditions[i : i + 10] for i in range(0, len(conditions), 10)]
        conditions = [group[0] if len(group) == 1 else Fn.condition_or(*group) for group in groups]
    return conditions[0]
