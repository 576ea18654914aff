"""What a template must hold to deploy on the first try and again after a delete (issue #20).

Checked over every configuration the suite synthesizes once per session, so a new custom resource or a new
named resource is covered without a test of its own.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from blue_green_ecs.engines import live_lookup

from .conftest import Synthesized, TwoServices

CONFIGURATIONS = ["sample", "sample_ecs", "minimal", "https", "existing_cluster", "two_services"]
# Physical-name properties of the resource types the library creates (CloudFormation resource reference).
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::StepFunctions::StateMachine": "StateMachineName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::ECS::Service": "ServiceName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
    "AWS::CodeDeploy::Application": "ApplicationName",
}


def template_of(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    synthesized: Synthesized | TwoServices = request.getfixturevalue(name)
    template: dict[str, Any] = dict(synthesized.template.to_json())
    return template


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_every_custom_resource_sets_a_service_timeout(request: pytest.FixtureRequest, configuration: str) -> None:
    # Without ServiceTimeout CloudFormation waits an hour for a custom resource that never answers.
    resources = template_of(request, configuration)["Resources"]
    # The library's own (aws-cdk-lib's, such as Custom::VpcRestrictDefaultSG, are not ours to set).
    custom = {k: v for k, v in resources.items() if v["Type"].startswith("Custom::BlueGreenEcs")}
    assert custom
    assert {k: v["Properties"].get("ServiceTimeout") for k, v in custom.items()} == {
        k: str(int(live_lookup.LOOKUP_SERVICE_TIMEOUT.to_seconds()))
        if v["Type"] == live_lookup.RESOURCE_TYPE
        else v["Properties"]["ServiceTimeout"]
        for k, v in custom.items()
    }
    assert all(int(v["Properties"]["ServiceTimeout"]) <= 3600 for v in custom.values())


def test_the_lookup_gives_up_after_its_function_and_lambda_s_two_retries() -> None:
    # 5 minutes per invocation (the provider function's timeout), Lambda retries an asynchronous one twice.
    assert live_lookup.LOOKUP_SERVICE_TIMEOUT.to_minutes() == 3 * 5


@pytest.mark.parametrize("configuration", CONFIGURATIONS)
def test_no_resource_kept_on_delete_has_a_name_the_next_create_reuses(
    request: pytest.FixtureRequest, configuration: str
) -> None:
    # A retained resource outlives the stack: a fixed name makes the stack's next create fail with
    # "already exists". The stack id changes with every create; a name that carries it does not collide.
    resources = template_of(request, configuration)["Resources"]
    clashing = {
        logical: resource["Properties"][NAME_PROPERTIES[resource["Type"]]]
        for logical, resource in resources.items()
        if resource.get("DeletionPolicy", "Delete") in ("Retain", "RetainExceptOnCreate")
        and NAME_PROPERTIES.get(resource["Type"]) in resource.get("Properties", {})
        and '"AWS::StackId"' not in json.dumps(resource["Properties"][NAME_PROPERTIES[resource["Type"]]])
    }
    assert clashing == {}


# The authorization model (tests/authorization): AWS's Service Authorization Reference as cfn-lint ships it,
# AWS managed policies as published, IAM's evaluation logic. Every call of every role, in every configuration:
# tests/authorization/test_service_calls.py (AWS's calls), tests/handlers (the functions'), the simulator (both,
# with the exact ARNs of a stack's life); these two are the defects of issue #20, kept where they were found.
CODE_DEPLOY_CONFIGURATIONS = ["sample", "minimal", "https", "existing_cluster", "two_services"]


def _on(action: str, arn: str) -> str:
    """The resource a call on ``arn`` is authorized on: "*" when the reference lists no resource types."""
    from .authorization.reference import authorized_resource

    resource = authorized_resource(action, [arn])
    return resource if isinstance(resource, str) else resource[0]


def _role_with_principal(template: dict[str, Any], service: str) -> list[str]:
    return [
        logical
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and service in json.dumps(r["Properties"]["AssumeRolePolicyDocument"])
    ]


@pytest.mark.parametrize("configuration", CODE_DEPLOY_CONFIGURATIONS)
def test_codedeploy_may_pass_every_task_and_execution_role_to_ecs_tasks(
    request: pytest.FixtureRequest, configuration: str
) -> None:
    # CodeDeploy creates green's task set with the task definition's roles (ECS Developer Guide, "Amazon ECS
    # CodeDeploy IAM Role": iam:PassRole for each task execution role and task role).
    from .authorization.policy import Request, evaluate
    from .authorization.roles import resolver_for, role_policies

    template = template_of(request, configuration)
    resolve = resolver_for(template)
    policies = role_policies(template, resolve)
    [codedeploy_role] = _role_with_principal(template, "codedeploy.amazonaws.com")
    passed = [
        resolve(r["Properties"][key])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::ECS::TaskDefinition"
        for key in ("TaskRoleArn", "ExecutionRoleArn")
        if key in r["Properties"]
    ]
    assert passed
    for arn in passed:
        call = Request(
            "iam:PassRole",
            _on("iam:PassRole", arn),
            {"iam:PassedToService": "ecs-tasks.amazonaws.com"},
        )
        decision = evaluate(policies[codedeploy_role], call)
        assert decision.allowed, decision.explain()


@pytest.mark.parametrize("configuration", [*CODE_DEPLOY_CONFIGURATIONS, "sample_ecs"])
def test_the_live_state_lookup_may_list_and_describe_its_cluster_s_services(
    request: pytest.FixtureRequest, configuration: str
) -> None:
    from .authorization.policy import Request, evaluate
    from .authorization.roles import resolver_for, role_policies
    from .simulator.aws import ACCOUNT, REGION

    template = template_of(request, configuration)
    resolve = resolver_for(template)
    policies = role_policies(template, resolve)
    [handler_role] = [k for k in _role_with_principal(template, "lambda.amazonaws.com") if "HandlerRole" in k]
    for service in (r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::Service"):
        cluster = str(resolve(service["Properties"]["Cluster"]))
        cluster_arn = cluster if cluster.startswith("arn:") else f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}"
        service_arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster_arn.rsplit('/', 1)[-1]}/web"
        calls = [
            Request(
                "ecs:ListServices",
                _on("ecs:ListServices", cluster_arn),
                {"ecs:cluster": cluster_arn},
            ),
            Request(
                "ecs:DescribeServices",
                _on("ecs:DescribeServices", service_arn),
                {"ecs:cluster": cluster_arn},
            ),
        ]
        for call in calls:
            decision = evaluate(policies[handler_role], call)
            assert decision.allowed, decision.explain()
