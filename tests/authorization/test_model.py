"""Tests of the authorization model itself, and the two defects it exists to catch.

(a) ecs:ListServices authorizes on "*" only (Service Authorization Reference), so a statement scoping it to a
cluster ARN never matches; the cluster is narrowed by the ecs:cluster condition key instead.
(b) AWSCodeDeployRoleForECSLimited passes only roles named ecsTaskExecutionRole / ECSTaskExecution*, so a
stack's generated task role name is not passable by it.
"""

from __future__ import annotations

from typing import Any

import pytest

from ..simulator.aws import ACCOUNT, REGION
from .managed_policies import managed_policy
from .policy import Request, evaluate
from .reference import arn_matches_type, authorized_resource, resource_types
from .roles import resolver_for, role_policies

CLUSTER = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/Cluster"
SERVICE = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/Cluster/Service"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def allowed(documents: list[dict[str, Any]], action: str, resource: str = "*", **context: Any) -> bool:
    return evaluate(documents, Request(action, resource, context)).allowed


# --- the evaluator ---------------------------------------------------------------------------------------------


def test_action_wildcards_are_case_insensitive() -> None:
    documents = [doc(allow("ECS:Describe*"), allow("logs:Put?ogEvents"))]
    assert allowed(documents, "ecs:DescribeServices")
    assert allowed(documents, "logs:PutLogEvents")
    assert not allowed(documents, "ecs:UpdateService")
    assert not allowed(documents, "logs:PutLoggEvents")


def test_resource_wildcards_are_case_sensitive_and_lists() -> None:
    documents = [doc(allow("lambda:InvokeFunction", ["arn:aws:lambda:*:*:function:Hook_*", "arn:aws:x:::y"]))]
    assert allowed(documents, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Hook_a")
    assert not allowed(documents, "lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:hook_a")
    assert allowed(documents, "lambda:InvokeFunction", "arn:aws:x:::y")


def test_not_action_and_not_resource() -> None:
    documents = [doc({"Effect": "Allow", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::secret/*"})]
    assert allowed(documents, "ecs:ListServices")
    assert not allowed(documents, "iam:PassRole")
    assert allowed(documents, "s3:GetObject", "arn:aws:s3:::public/x")
    assert not allowed(documents, "s3:GetObject", "arn:aws:s3:::secret/x")


def test_explicit_deny_wins_and_no_allow_is_implicit_deny() -> None:
    documents = [doc(allow("ecs:*"), {"Sid": "NoDelete", "Effect": "Deny", "Action": "ecs:Delete*", "Resource": "*"})]
    decision = evaluate(documents, Request("ecs:DeleteService", SERVICE))
    assert not decision.allowed
    assert "NoDelete" in decision.denied_by[0]
    assert "explicitly denied" in decision.explain()
    assert allowed(documents, "ecs:UpdateService", SERVICE)
    assert not allowed(documents, "sqs:SendMessage")
    assert "No statement mentions sqs:SendMessage" in evaluate(documents, Request("sqs:SendMessage", "*")).explain()


@pytest.mark.parametrize(
    ("operator", "wanted", "context", "expected"),
    [
        ("StringEquals", "a", {"k": "a"}, True),
        ("StringEquals", "a", {"k": "A"}, False),
        ("StringEquals", "a", {}, False),
        ("StringNotEquals", "a", {"k": "b"}, True),
        ("StringNotEquals", "a", {"k": "a"}, False),
        ("StringNotEquals", "a", {}, True),
        ("StringLike", ["x-*", "y"], {"k": "x-1"}, True),
        ("StringLike", "x-*", {"k": "z"}, False),
        ("StringLike", "x-*", {}, False),
        ("StringNotLike", "x-*", {"k": "z"}, True),
        ("StringNotLike", "x-*", {"k": "x-1"}, False),
        ("StringNotLike", "x-*", {}, True),
        ("ArnEquals", CLUSTER, {"k": CLUSTER}, True),
        ("ArnEquals", CLUSTER, {"k": SERVICE}, False),
        ("ArnEquals", CLUSTER, {}, False),
        ("ArnLike", "arn:aws:ecs:*:*:cluster/*", {"k": CLUSTER}, True),
        ("ArnLike", "arn:aws:ecs:*:*:cluster/*", {"k": "not-an-arn"}, False),
        ("ArnNotEquals", CLUSTER, {"k": SERVICE}, True),
        ("ArnNotEquals", CLUSTER, {}, True),
        ("ArnNotLike", "arn:aws:ecs:*:*:cluster/*", {"k": CLUSTER}, False),
        ("ArnNotLike", "arn:aws:ecs:*:*:cluster/*", {}, True),
        ("Bool", "true", {"k": "true"}, True),
        ("Bool", True, {"k": "true"}, True),
        ("Bool", "true", {"k": "false"}, False),
        ("Bool", "true", {}, False),
        ("StringEqualsIfExists", "a", {}, True),
        ("StringEqualsIfExists", "a", {"k": "b"}, False),
        ("ArnLikeIfExists", "arn:aws:ecs:*:*:cluster/*", {}, True),
        ("BoolIfExists", "true", {"k": "false"}, False),
        ("ForAnyValue:StringEquals", ["a", "b"], {"k": ["c", "b"]}, True),
        ("ForAnyValue:StringEquals", ["a", "b"], {"k": ["c"]}, False),
        ("ForAnyValue:StringEquals", ["a"], {}, False),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "b"]}, True),
        ("ForAllValues:StringEquals", ["a", "b"], {"k": ["a", "c"]}, False),
        ("ForAllValues:StringEquals", ["a"], {}, True),
        ("ForAllValues:StringNotLike", ["x*"], {"k": ["a", "b"]}, True),
        ("ForAnyValue:StringNotLike", ["x*"], {"k": ["x1", "b"]}, True),
    ],
)
def test_condition_operators(operator: str, wanted: Any, context: dict[str, Any], expected: bool) -> None:
    documents = [doc(allow("s3:GetObject", Condition={operator: {"K": wanted}}))]
    assert allowed(documents, "s3:GetObject", **context) is expected


def test_unmodelled_operator_raises_instead_of_guessing() -> None:
    with pytest.raises(ValueError, match="NumericLessThan"):
        allowed([doc(allow("s3:GetObject", Condition={"NumericLessThan": {"k": "1"}}))], "s3:GetObject", k="0")


def test_explain_names_resource_and_condition_misses() -> None:
    documents = [
        doc(
            allow("ecs:ListServices", CLUSTER, Sid="OnCluster"),
            allow("ecs:ListServices", Sid="OtherCluster", Condition={"ArnEquals": {"ecs:cluster": CLUSTER + "2"}}),
        )
    ]
    text = evaluate(documents, Request("ecs:ListServices", "*", {"ecs:cluster": CLUSTER})).explain()
    assert "ecs:ListServices on '*'" in text
    assert CLUSTER in text
    assert "'OnCluster' (Allow): resource mismatch" in text
    assert "'OtherCluster' (Allow): condition failed: ArnEquals ecs:cluster" in text


# --- the reference ---------------------------------------------------------------------------------------------


def test_reference_resource_types() -> None:
    assert resource_types("ecs:ListServices") == []
    assert resource_types("ECS:describeservices") == ["service"]
    assert arn_matches_type("ecs", "service", SERVICE)
    assert not arn_matches_type("ecs", "service", CLUSTER)
    assert arn_matches_type("iam", "role", f"arn:aws:iam::{ACCOUNT}:role/x")
    with pytest.raises(KeyError, match="ecs:NoSuchAction"):
        resource_types("ecs:NoSuchAction")


def test_authorized_resource() -> None:
    assert authorized_resource("ecs:ListServices", [CLUSTER]) == "*"
    assert authorized_resource("ecs:DescribeServices", [SERVICE]) == [SERVICE]
    with pytest.raises(ValueError, match="cluster/Cluster"):
        authorized_resource("ecs:DescribeServices", [CLUSTER])


# --- the defects it catches ------------------------------------------------------------------------------------


def test_list_services_scoped_to_a_cluster_arn_is_not_authorized() -> None:
    resource = authorized_resource("ecs:ListServices", [CLUSTER])
    assert isinstance(resource, str)
    request = Request("ecs:ListServices", resource, {"ecs:cluster": CLUSTER})
    wrong = evaluate([doc(allow("ecs:ListServices", CLUSTER))], request)
    assert not wrong.allowed
    assert "resource mismatch" in wrong.explain()
    right = evaluate([doc(allow("ecs:ListServices", "*", Condition={"ArnEquals": {"ecs:cluster": CLUSTER}}))], request)
    assert right.allowed, right.explain()


def test_codedeploy_limited_policy_passes_only_execution_role_names() -> None:
    documents = [managed_policy("AWSCodeDeployRoleForECSLimited")]
    context = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    stack_role = evaluate(
        documents, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/Stack-TaskRole-ABC", context)
    )
    assert not stack_role.allowed
    assert "resource mismatch" in stack_role.explain()
    named = evaluate(documents, Request("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole", context))
    assert named.allowed, named.explain()


# --- roles of a template ---------------------------------------------------------------------------------------


def _managed(name: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::aws:policy/{name}"]]}


TEMPLATE: dict[str, Any] = {
    "Resources": {
        "Cluster": {"Type": "AWS::ECS::Cluster"},
        "TaskRole": {"Type": "AWS::IAM::Role"},
        "DeployRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "ManagedPolicyArns": [_managed("AWSCodeDeployRoleForECSLimited")],
                "Policies": [
                    {
                        "PolicyName": "Inline",
                        "PolicyDocument": doc(allow("iam:PassRole", {"Fn::GetAtt": ["TaskRole", "Arn"]})),
                    }
                ],
            },
        },
        "DeployPolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "Roles": [{"Ref": "DeployRole"}],
                "PolicyDocument": doc(allow("ecs:ListServices", {"Fn::GetAtt": ["Cluster", "Arn"]})),
            },
        },
        "OtherRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {"ManagedPolicyArns": [_managed("service-role/AWSLambdaBasicExecutionRole")]},
        },
    }
}


def test_role_policies_collects_inline_attached_and_managed() -> None:
    policies = role_policies(TEMPLATE, resolver_for(TEMPLATE))
    assert set(policies) == {"TaskRole", "DeployRole", "OtherRole"}
    assert policies["TaskRole"] == []
    deploy = policies["DeployRole"]
    task_role = f"arn:aws:iam::{ACCOUNT}:role/TaskRole-simulated"
    passed = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert evaluate(deploy, Request("iam:PassRole", task_role, passed)).allowed
    assert evaluate(deploy, Request("ecs:CreateTaskSet", "*")).allowed
    assert not evaluate(deploy, Request("ecs:ListServices", "*", {"ecs:cluster": CLUSTER})).allowed
    assert evaluate(policies["OtherRole"], Request("logs:PutLogEvents", "*")).allowed


def test_unknown_managed_policy_raises() -> None:
    template = {"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": [_managed("Nope")]}}}}
    with pytest.raises(KeyError, match="Nope"):
        role_policies(template, resolver_for(template))


def test_resolver_for_arns() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "LB": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
            "Listener": {
                "Type": "AWS::ElasticLoadBalancingV2::Listener",
                "Properties": {"LoadBalancerArn": {"Ref": "LB"}},
            },
            "Fn": {"Type": "AWS::Lambda::Function"},
            "Logs": {"Type": "AWS::Logs::LogGroup"},
            "Machine": {"Type": "AWS::StepFunctions::StateMachine"},
        }
    }
    resolve = resolver_for(template)
    listener = resolve({"Ref": "Listener"})
    assert arn_matches_type("elasticloadbalancing", "listener/app", listener), listener
    assert arn_matches_type("lambda", "function", resolve({"Fn::GetAtt": ["Fn", "Arn"]}))
    assert arn_matches_type("states", "stateMachine", resolve({"Ref": "Machine"}))
    assert resolve({"Fn::GetAtt": ["Logs", "Arn"]}) == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:Logs:*"
    with pytest.raises(KeyError, match=r"Fn\.Nope"):
        resolve({"Fn::GetAtt": ["Fn", "Nope"]})
