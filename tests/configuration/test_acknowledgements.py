"""cdk-nag acknowledgments reach both cdk-nag majors: 3 through Validations, 2 through resource metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from blue_green_ecs.configuration.acknowledgements import acknowledge_nag
from sample.app import build

from ..support import CDK_NAG_MAJOR, cdk_context, logical_id, new_app, raises_message

MANAGED = "IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess]"


def _nag2_metadata(template: Template, stack: Stack, construct: Any) -> Any:
    return template.to_json()["Resources"][logical_id(stack, construct)]["Metadata"]["cdk_nag"]


def test_a_granular_finding_is_written_as_cdk_nag_2_applies_to() -> None:
    # given
    stack = Stack(App(), "Test")
    role = iam.Role(
        stack,
        "Role",
        assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"),
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name("ReadOnlyAccess")],
    )

    # when
    acknowledge_nag(role, MANAGED, "Read-only access is what this role is for.")

    # then
    assert _nag2_metadata(Template.from_stack(stack), stack, role) == {
        "rules_to_suppress": [
            {
                "reason": "Read-only access is what this role is for.",
                "id": "AwsSolutions-IAM4",
                "applies_to": ["Policy::arn:<AWS::Partition>:iam::aws:policy/ReadOnlyAccess"],
            }
        ]
    }


def test_a_rule_without_finding_has_no_applies_to_and_repeats_are_written_once() -> None:
    # given
    stack = Stack(App(), "Test")
    bucket = s3.Bucket(stack, "Bucket")

    # when
    acknowledge_nag(bucket, "S1", "The bucket is the access log target itself.")
    acknowledge_nag(bucket, "S1", "The bucket is the access log target itself.")

    # then
    assert _nag2_metadata(Template.from_stack(stack), stack, bucket) == {
        "rules_to_suppress": [{"reason": "The bucket is the access log target itself.", "id": "AwsSolutions-S1"}]
    }


def test_resources_added_under_the_scope_later_are_covered_too() -> None:
    # given: the role's default policy does not exist yet when the finding is acknowledged
    stack = Stack(App(), "Test")
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("ecs-tasks.amazonaws.com"))
    acknowledge_nag(role, "IAM5[Resource::*]", "DescribeTasks takes no resource-level permissions.")

    # when
    role.add_to_policy(iam.PolicyStatement(actions=["ecs:DescribeTasks"], resources=["*"]))

    # then
    policy = role.node.find_child("DefaultPolicy")
    assert _nag2_metadata(Template.from_stack(stack), stack, policy)["rules_to_suppress"] == [
        {
            "reason": "DescribeTasks takes no resource-level permissions.",
            "id": "AwsSolutions-IAM5",
            "applies_to": ["Resource::*"],
        }
    ]


@pytest.mark.parametrize(
    ("rule", "reason"),
    [("IAM5", "too short"), ("AwsSolutions-IAM5", "A reason long enough."), ("IAM5[", "A reason long enough.")],
)
def test_rejects_what_cdk_nag_2_would_reject(rule: str, reason: str) -> None:
    stack = Stack(App(), "Test")
    with raises_message(
        f"acknowledge_nag: rule {rule!r} with reason {reason!r}: the rule must read like 'IAM5' or "
        "'IAM5[Resource::*]' and the reason must have at least 10 characters."
    ):
        acknowledge_nag(stack, rule, reason)


@pytest.mark.skipif(CDK_NAG_MAJOR != 2, reason="cdk-nag 2 runs in `make test-min`; `make test` has cdk-nag 3")
@pytest.mark.parametrize(
    ("context", "acknowledged"),
    [
        ({}, {"IAM4", "IAM5", "S1", "EC23"}),
        ({"smoke_test": "true"}, {"IAM4", "IAM5", "S1", "EC23"}),
        # No deployment trigger, but the provider function of the live-state lookup, whose describe calls
        # (listeners, rules, the cluster's services) have no resource-level permissions.
        ({"engine": "ecs"}, {"IAM4", "IAM5", "S1", "EC23"}),
    ],
    ids=["sample", "smoke", "ecs"],
)
def test_cdk_nag_2_as_an_aspect_finds_nothing_unsuppressed(
    context: dict[str, str], acknowledged: set[str], tmp_path: Path
) -> None:
    # given: the sample app checked as cdk-nag 2's README says: Aspects.of(app).add(AwsSolutionsChecks())
    app = new_app(outdir=str(tmp_path), **context)
    build(app)

    # when: a finding is an error annotation; cdk.json's annotationsInValidationReport fails the synth on it
    assembly = app.synth()

    # then: no error, and each acknowledgment reached cdk-nag 2 as resource metadata
    errors = [m for s in assembly.stacks for m in s.messages if "AwsSolutions-" in str(m.entry.data)]
    assert errors == []
    template = json.loads((tmp_path / "BlueGreenSample.template.json").read_text())
    suppressed = {
        rule["id"].removeprefix("AwsSolutions-")
        for resource in template["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    }
    assert suppressed == acknowledged


def test_the_sample_context_turns_annotations_into_a_failed_synth() -> None:
    """cdk-nag 2 reports through error annotations: they fail the synth only with this flag."""
    assert cdk_context()["@aws-cdk/core:annotationsInValidationReport"] is True
