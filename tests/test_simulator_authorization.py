"""The lifecycle simulator authorizes every call the way IAM does (issue #20).

The provider function's calls are checked against its role's policies as CloudFormation has created them so far
(tests/authorization/account.py), with the request IAM sees (tests/authorization/calls.py). A denied call is
answered AccessDenied, as the service answers it, and fails the test that did not expect it
(``simulator.world.world``). These tests put the defects issue #20 found back into a real template and watch the
simulator refuse them.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from .simulator.templates import template
from .simulator.world import World, world

ENGINES = ["CODE_DEPLOY", "ECS_NATIVE"]
IMAGE = "public.ecr.aws/nginx/nginx"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with world(monkeypatch) as simulated:
        yield simulated


def _statements(stack_template: dict[str, Any], action: str) -> list[dict[str, Any]]:
    found = [
        statement
        for resource in stack_template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    ]
    assert found, action
    return found


@pytest.mark.parametrize("engine", ENGINES)
def test_list_services_granted_on_the_cluster_arn_fails_the_first_create(sim: World, engine: str) -> None:
    # Defect 1 of issue #20, as live_lookup.py granted it before 089fb2d: ecs:ListServices on the cluster's ARN.
    # ListServices lists no resource types in the Service Authorization Reference, so IAM checks "*".
    old = copy.deepcopy(template(engine))
    for statement in _statements(old, "ecs:ListServices"):
        statement.pop("Condition", None)
        statement["Resource"] = {"Fn::GetAtt": [_cluster(old), "Arn"]}
    assert sim.stack.deploy(old) == "ROLLBACK_COMPLETE"
    assert "ecs:ListServices" in sim.stack.reason, sim.stack.reason
    assert "implicitly denied" in sim.stack.reason
    assert any("ecs:ListServices" in x for x in sim.denied)
    sim.denied.clear()  # seen: the fixture would fail the test on it


@pytest.mark.parametrize("engine", ENGINES)
def test_the_library_s_template_creates_with_every_call_allowed(sim: World, engine: str) -> None:
    assert sim.stack.deploy(template(engine)) == "CREATE_COMPLETE", sim.stack.reason
    checked = [action for caller, action in sim.aws.calls if caller == "handler"]
    # the lookup's reads at least: every one of them went through IAM's decision
    assert {"ecs:ListServices", "elasticloadbalancing:DescribeListeners"} <= set(checked)
    assert sim.denied == []


def _cluster(stack_template: dict[str, Any]) -> str:
    [cluster] = [str(k) for k, v in stack_template["Resources"].items() if v["Type"] == "AWS::ECS::Cluster"]
    return cluster


def test_codedeploy_without_pass_role_fails_the_deployment_and_the_update(sim: World) -> None:
    # Defect 2 of issue #20: the CodeDeploy role with only AWSCodeDeployRoleForECSLimited, whose iam:PassRole covers
    # roles named ecsTaskExecutionRole / ECSTaskExecution* only. CodeDeploy creates green's task set with the task
    # definition's roles, so the first image update fails (ECS Developer Guide, "Amazon ECS CodeDeploy IAM Role").
    def without_pass_role(image: str) -> dict[str, Any]:
        old = copy.deepcopy(template("CODE_DEPLOY", image=image))
        for statement in _statements(old, "iam:PassRole"):
            statement["Action"] = "ecs:DescribeServices"  # what remains of the statement: nothing passable
        return old

    assert sim.stack.deploy(without_pass_role(f"{IMAGE}:1")) == "CREATE_COMPLETE", sim.stack.reason
    assert sim.stack.deploy(without_pass_role(f"{IMAGE}:2")) == "UPDATE_ROLLBACK_COMPLETE"
    assert "iam:PassRole" in sim.stack.reason, sim.stack.reason
    assert any("CodeDeploy" in x and "iam:PassRole" in x for x in sim.denied)
    sim.check_all()  # production stays on the running blue tasks
    sim.denied.clear()  # seen: the fixture would fail the test on it
