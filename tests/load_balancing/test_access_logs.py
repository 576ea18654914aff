"""Load balancer access logs: on by default, into an encrypted, SSL-only bucket that ELB may write to."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from blue_green_ecs import BlueGreenFargateService
from blue_green_ecs.configuration.acknowledgements import acknowledge_nag

from ..configurations import IMAGE
from ..conftest import Synthesized, TwoServices
from ..support import logical_id, new_app, new_stack, only, raises_message, resources_of_type, synth


def _statements(template: Any) -> list[dict[str, Any]]:
    _, policy = only(template, "AWS::S3::BucketPolicy")
    statements: list[dict[str, Any]] = policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _vpc(stack: Stack, region: str) -> ec2.IVpc:
    # An existing VPC, as platform teams pass it: a new one in a pinned region would hardcode zones.
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=[f"{region}a", f"{region}b"],
        public_subnet_ids=["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
        private_subnet_ids=["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
    )


def test_access_logs_are_on_by_default(sample: Synthesized) -> None:
    bucket = logical_id(sample.stack, sample.service.access_logs_bucket)
    _, load_balancer = only(sample.template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in load_balancer["Properties"]["LoadBalancerAttributes"]}
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["access_logs.s3.bucket"] == {"Ref": bucket}
    assert attributes["access_logs.s3.prefix"] == "Web"
    policy_id, _ = only(sample.template, "AWS::S3::BucketPolicy")
    assert policy_id in load_balancer["DependsOn"]


def test_bucket_is_encrypted_private_ssl_only_and_expires_logs(sample: Synthesized) -> None:
    _, bucket = only(sample.template, "AWS::S3::Bucket")
    properties = bucket["Properties"]
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert (rule["ExpirationInDays"], rule["Status"]) == (90, "Enabled")
    deny = _statements(sample.template)[0]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_elb_may_write_only_under_the_prefix(sample: Synthesized) -> None:
    # cdk.json's @aws-cdk/aws-iam:minimizePolicies merges the two principals of one prefix.
    [write] = [s for s in _statements(sample.template) if s["Action"] == "s3:PutObject"]
    assert write["Principal"]["Service"] == "logdelivery.elasticloadbalancing.amazonaws.com"
    assert "/Web/AWSLogs/" in json.dumps(write["Resource"])
    # Environment-agnostic: the regional ELB account is chosen at deploy time, in every region.
    principal = json.dumps(write["Principal"]["AWS"])
    assert '"Fn::If": ["BlueGreenEcsRegionHasElbAccount"' in principal
    conditions = sample.template.to_json()["Conditions"]
    assert "BlueGreenEcsRegionHasElbAccount" in conditions


def test_a_concrete_region_uses_its_elb_account_and_no_mapping() -> None:
    stack = Stack(new_app(), "Pinned", env=Environment(account="111122223333", region="us-east-1"))
    BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), vpc=_vpc(stack, "us-east-1"))
    template = synth(stack)
    [write] = [s for s in _statements(template) if s["Action"] == "s3:PutObject"]
    assert "127311923021" in json.dumps(write["Principal"]["AWS"])
    assert "Mappings" not in template.to_json() or "BlueGreenEcsElbAccounts" not in template.to_json()["Mappings"]


def test_a_region_without_elb_account_uses_only_the_service_principal() -> None:
    stack = Stack(new_app(), "NewRegion", env=Environment(account="111122223333", region="ap-southeast-7"))
    BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), vpc=_vpc(stack, "ap-southeast-7")
    )
    [write] = [s for s in _statements(synth(stack)) if s["Action"] == "s3:PutObject"]
    assert write["Principal"] == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}


def test_access_logs_can_go_to_your_bucket_or_be_turned_off() -> None:
    stack = new_stack()
    bucket = s3.Bucket(stack, "Central", enforce_ssl=True)
    acknowledge_nag(bucket, "S1", "Test fixture standing in for an organisation's central log bucket.")
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), access_logs_bucket=bucket, access_logs_prefix="web"
    )
    off = BlueGreenFargateService(stack, "Off", image=ecs.ContainerImage.from_registry(IMAGE), access_logs=False)
    acknowledge_nag(off.load_balancer, "ELB2", "Test: access logs turned off on purpose.")
    template = synth(stack)
    template.resource_count_is("AWS::S3::Bucket", 1)
    assert service.access_logs_bucket is bucket
    assert off.access_logs_bucket is None
    balancers = resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    enabled = {
        logical_id: {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}.get(
            "access_logs.s3.enabled"
        )
        for logical_id, lb in balancers.items()
    }
    assert sorted(enabled.values(), key=str) == [None, "true"]


def test_turning_access_logs_off_is_a_finding_the_user_must_acknowledge() -> None:
    stack = new_stack()
    BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), access_logs=False)
    with pytest.raises(RuntimeError, match="AwsSolutions-ELB2"):
        synth(stack)


def test_retention_is_configurable_and_validated() -> None:
    stack = new_stack()
    BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), access_logs_retention=Duration.days(30)
    )
    _, bucket = only(synth(stack), "AWS::S3::Bucket")
    assert bucket["Properties"]["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 30
    with raises_message(
        "Invalid access_logs_retention=12 hours: use a whole number of seconds from 86400 to 315360000 seconds."
    ):
        BlueGreenFargateService(
            new_stack(), "Web", image=ecs.ContainerImage.from_registry(IMAGE), access_logs_retention=Duration.hours(12)
        )


def test_the_services_of_a_stack_share_one_bucket_each_under_its_own_prefix(two_services: TwoServices) -> None:
    template = two_services.template
    template.resource_count_is("AWS::S3::Bucket", 1)
    template.resource_count_is("AWS::S3::BucketPolicy", 1)
    assert two_services.first.access_logs_bucket is two_services.second.access_logs_bucket
    assert logical_id(two_services.stack, two_services.first.access_logs_bucket).startswith(
        "BlueGreenEcsAccessLogsBucket"
    )
    prefixes = sorted(
        {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}["access_logs.s3.prefix"]
        for lb in resources_of_type(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    )
    assert prefixes == ["Api", "Web"]
    written = json.dumps([s["Resource"] for s in _statements(template) if s["Action"] == "s3:PutObject"])
    assert "/Web/AWSLogs/" in written
    assert "/Api/AWSLogs/" in written


def test_the_default_prefix_is_the_path_below_the_stack() -> None:
    stack = new_stack()
    # The same id under another parent: the id alone would collide in the shared bucket.
    web = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE))
    nested = BlueGreenFargateService(
        Construct(stack, "Team"), "Web", image=ecs.ContainerImage.from_registry(IMAGE), vpc=web.vpc
    )

    def prefix(service: BlueGreenFargateService) -> str:
        attributes = stack.resolve(service.load_balancer.node.default_child.load_balancer_attributes)  # type: ignore[union-attr]
        return str({a["key"]: a["value"] for a in attributes}["access_logs.s3.prefix"])

    assert (prefix(web), prefix(nested)) == ("Web", "Team/Web")
    assert web.access_logs_bucket is nested.access_logs_bucket


def test_a_second_retention_in_the_same_stack_is_refused() -> None:
    stack = new_stack()
    first = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE))
    with raises_message(
        "Invalid access_logs_retention=30 days: the stack's shared access-log bucket keeps logs for 90 days, "
        "as Test/Web asked; give every service of the stack the same retention, or pass access_logs_bucket to log "
        "elsewhere."
    ):
        BlueGreenFargateService(
            stack,
            "Api",
            image=ecs.ContainerImage.from_registry(IMAGE),
            vpc=first.vpc,
            access_logs_retention=Duration.days(30),
        )
