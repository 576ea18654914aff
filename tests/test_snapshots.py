"""Snapshots of what the construct synthesizes: one per engine (the sample app), the HTTPS variant and the
migration task under both engines.

A snapshot holds the construct's own resources, so that an aws-cdk-lib upgrade does not rewrite it
with changes that are not ours and bury the one that is. The filter (:func:`construct_template`)
decides by what a resource is and what created it, never by logical id:

- Kept: every resource in the construct tree of a ``BlueGreenFargateService``, and, transitively,
  every stack-level construct connected to a kept resource by a reference (``Ref``, ``Fn::GetAtt``,
  ``Fn::Sub``, ``DependsOn``) in either direction. That brings in the singletons the library
  shares between the services of a stack (access-log bucket, CodeDeploy application and role, ECS
  infrastructure role, the deployment trigger's provider) and what a configuration wires into the
  construct (the HTTPS variant's own rollback alarm). A resource the construct adds later is in
  its tree or used by it, so it appears without touching this module.
- Left out, even when referenced: everything in the construct tree of an ``ec2.Vpc`` (what
  aws-cdk-lib generates for a VPC, the construct's default VPC included: subnets, route tables,
  routes and associations, internet and NAT gateways, EIPs, flow logs and their roles, the
  restrict-default-security-group custom resource) and aws-cdk-lib's custom-resource providers
  (``CustomResourceProviderBase``: Lambda code and role that change with every aws-cdk-lib
  release). A stack-level construct reachable only through those (the sample's flow-log group) is
  not connected, so it is left out too.
- Sections: ``Resources`` filtered as above, ``Outputs`` and ``Conditions`` kept; ``Mappings``
  (the ELB-account table by region) left out; a condition that only enumerates regions (which
  regions have an ELB account) is masked, since its region list is aws-cdk-lib's ``RegionInfo``;
  ``Parameters`` and ``Rules`` (the bootstrap version check) left out. Asset hashes are masked
  (``support.mask_assets``). Objects and lists that fit in 100 columns are written on one line.

What the left-out configurations (minimal, existing cluster) and the VPC showed is asserted by
fine-grained tests (test_service.py, test_deployment_trigger.py). After an intended change, review
the diff and run ``pytest tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import CfnResource, CustomResourceProviderBase, Stack
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from blue_green_ecs import BlueGreenFargateService

from .conftest import Synthesized, TwoServices
from .support import mask_assets

# aws-cdk-lib constructs whose whole subtree is not the construct's own.
NOT_OURS: tuple[type, ...] = (ec2.Vpc, CustomResourceProviderBase)
# What the region-enumerating conditions are masked with.
REGION_LIST = "<regions: aws-cdk-lib RegionInfo>"
# Snapshot line width: objects and lists that fit stay on one line.
WIDTH = 100
_SUB_REFERENCE = re.compile(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


class CompactJSONSnapshotExtension(JSONSnapshotExtension):
    """syrupy's JSON snapshots, with every object or list that fits in ``WIDTH`` columns on one line.

    A ``{"Ref": ...}`` or a short list of actions takes one line instead of three to eight, which
    keeps the snapshots about a fifth shorter and easier to read; diffs stay line by line.
    """

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return _compact(json.loads(super().serialize(data, **kwargs))) + "\n"


def _compact(value: Any, indent: int = 0, prefix: str = "") -> str:
    """``value`` as JSON, ``indent`` columns in, after ``prefix`` (a key) on its first line."""
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, dict | list) or not value or indent + len(prefix) + len(flat) <= WIDTH:
        return " " * indent + prefix + flat
    if isinstance(value, dict):
        lines = [
            _compact(inner, indent + 2, json.dumps(key, ensure_ascii=False) + ": ") for key, inner in value.items()
        ]
        opening, closing = "{", "}"
    else:
        lines = [_compact(inner, indent + 2) for inner in value]
        opening, closing = "[", "]"
    return " " * indent + prefix + opening + "\n" + ",\n".join(lines) + "\n" + " " * indent + closing


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(CompactJSONSnapshotExtension)


def _resources_by_construct(stack: Stack) -> dict[str, list[str]]:
    """Construct path -> logical ids of the CloudFormation resources at or below it (excluded ones omitted)."""
    below: dict[str, list[str]] = {}
    for node in stack.node.find_all():
        if not isinstance(node, CfnResource) or _inside(node, NOT_OURS):
            continue
        logical_id = str(stack.resolve(node.logical_id))
        for scope in node.node.scopes:
            below.setdefault(scope.node.path, []).append(logical_id)
    return below


def _inside(node: IConstruct, kinds: tuple[type, ...]) -> bool:
    return any(isinstance(scope, kinds) for scope in node.node.scopes)


def _references(value: Any) -> Iterator[str]:
    """Logical ids a piece of a resource refers to."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                yield inner
            elif key == "Fn::GetAtt":
                yield inner[0] if isinstance(inner, list) else str(inner).split(".")[0]
            elif key == "DependsOn":
                yield from [inner] if isinstance(inner, str) else inner
            else:
                yield from _references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _references(inner)
    elif isinstance(value, str):
        yield from _SUB_REFERENCE.findall(value)


def _kept_resources(stack: Stack, resources: dict[str, Any]) -> set[str]:
    """The construct's resources and the stack-level constructs connected to them (see the module docstring)."""
    below = _resources_by_construct(stack)
    services = [node for node in stack.node.find_all() if isinstance(node, BlueGreenFargateService)]
    assert services, f"{stack.node.path} has no BlueGreenFargateService"
    kept = {logical_id for service in services for logical_id in below.get(service.node.path, [])}
    service_paths = {service.node.path for service in services}
    units = [
        set(below.get(child.node.path, []))
        for child in stack.node.children
        if child.node.path not in service_paths and not isinstance(child, NOT_OURS)
    ]
    edges = {(source, target) for source in resources for target in _references(resources[source])}
    grown = True
    while grown:
        grown = False
        for unit in units:
            if unit - kept and any((a in unit and b in kept) or (b in unit and a in kept) for a, b in edges):
                kept |= unit
                grown = True
    return kept


def _only_regions(condition: Any) -> bool:
    """A condition of nothing but ``Fn::Or`` over ``Fn::Equals [AWS::Region, "<region>"]``."""
    if isinstance(condition, dict) and list(condition) == ["Fn::Or"]:
        return all(_only_regions(inner) for inner in condition["Fn::Or"])
    if isinstance(condition, dict) and list(condition) == ["Fn::Equals"]:
        left, right = condition["Fn::Equals"]
        return left == {"Ref": "AWS::Region"} and isinstance(right, str)
    return False


def construct_template(synthesized: Synthesized | TwoServices) -> dict[str, Any]:
    """The template cut down to the construct's own resources, masked (see the module docstring)."""
    template = mask_assets(dict(synthesized.template.to_json()))
    resources: dict[str, Any] = template["Resources"]
    kept = _kept_resources(synthesized.stack, resources)
    filtered: dict[str, Any] = {"Resources": {key: value for key, value in resources.items() if key in kept}}
    if "Conditions" in template:
        filtered["Conditions"] = {
            name: REGION_LIST if _only_regions(condition) else condition
            for name, condition in template["Conditions"].items()
        }
    if "Outputs" in template:
        filtered["Outputs"] = template["Outputs"]
    return filtered


# The migration task under both engines (issue #26, item 6): its function, role and self-invoke policy.
@pytest.mark.parametrize("configuration", ["sample", "sample_ecs", "https", "migration"])
def test_construct_resources_match_snapshot(
    configuration: str, request: pytest.FixtureRequest, snapshot_json: SnapshotAssertion
) -> None:
    synthesized: Synthesized | TwoServices = request.getfixturevalue(configuration)
    assert construct_template(synthesized) == snapshot_json


def test_snapshot_filter_keeps_the_shared_resources_and_drops_the_vpc(sample: Synthesized) -> None:
    # given the sample: its own VPC with flow logs, and the stack-level singletons of the library
    # when
    resources = construct_template(sample)["Resources"]
    # then
    types = {resource["Type"] for resource in resources.values()}
    assert types.isdisjoint({"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::FlowLog", "Custom::VpcRestrictDefaultSG"})
    assert {"AWS::S3::Bucket", "AWS::CodeDeploy::Application", "AWS::StepFunctions::StateMachine"} <= types
    assert not any(logical_id.startswith("FlowLogsGroup") for logical_id in resources)
