"""What the services of one stack share: the access-log bucket, the CodeDeploy application and role, the
ECS infrastructure role. A further service adds only what is its own."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Template

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine
from blue_green_ecs.shared_resources import APPLICATION_ID, CODEDEPLOY_ROLE_ID, stack_singleton

from .configurations import IMAGE, cluster_with_insights
from .support import logical_id, new_stack, resources_of_type, synth


def _services(count: int, **options: Any) -> tuple[Stack, list[BlueGreenFargateService], Template]:
    stack = new_stack()
    cluster = cluster_with_insights(stack)
    services = [
        BlueGreenFargateService(
            stack, f"Svc{index}", image=ecs.ContainerImage.from_registry(IMAGE), cluster=cluster, **options
        )
        for index in range(count)
    ]
    return stack, services, synth(stack)


def _types(template: Template) -> Counter[str]:
    return Counter(resource["Type"] for resource in template.to_json()["Resources"].values())


@pytest.fixture(scope="module")
def codedeploy_pair() -> tuple[Stack, list[BlueGreenFargateService], Template]:
    return _services(2)


def test_one_application_and_one_role_for_every_deployment_group(codedeploy_pair: Any) -> None:
    stack, (first, second), template = codedeploy_pair
    template.resource_count_is("AWS::CodeDeploy::Application", 1)
    template.resource_count_is("AWS::CodeDeploy::DeploymentGroup", 2)
    assert first.application is second.application
    assert first.deployment_group.role is second.deployment_group.role
    role = logical_id(stack, first.deployment_group.role)
    assert role.startswith(CODEDEPLOY_ROLE_ID)
    assert logical_id(stack, first.application).startswith(APPLICATION_ID)
    for group in resources_of_type(template, "AWS::CodeDeploy::DeploymentGroup").values():
        assert group["Properties"]["ServiceRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
        assert group["Properties"]["ApplicationName"] == {"Ref": logical_id(stack, first.application)}


def test_a_further_service_adds_fewer_resources_than_the_hand_written_l2_service(codedeploy_pair: Any) -> None:
    _, _, two = codedeploy_pair
    one = _types(_services(1)[2])
    added = _types(two) - one
    # benchmarks/l2_stack.py adds 20 per service (its own application and CodeDeploy role, no access
    # logs, no trigger); this adds 19 with access logs and the deployment trigger.
    assert sum(added.values()) == 19
    assert added["Custom::BlueGreenEcsDeployment"] == 1
    for shared in ("AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::CodeDeploy::Application", "AWS::Lambda::Function"):
        assert added[shared] == 0, shared
    # The task role and the execution role stay per service: they carry the service's own permissions.
    assert added["AWS::IAM::Role"] == 2


def test_a_given_application_is_used_instead_of_the_shared_one() -> None:
    stack = new_stack()
    application = codedeploy.EcsApplication(stack, "Mine")
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), application=application
    )
    template = synth(stack)
    template.resource_count_is("AWS::CodeDeploy::Application", 1)
    assert service.application is application


def test_ecs_native_services_share_the_infrastructure_role() -> None:
    stack, (first, second), template = _services(2, engine=DeploymentEngine.ECS_NATIVE)
    assert first.infrastructure_role is second.infrastructure_role
    roles = resources_of_type(template, "AWS::IAM::Role")
    ecs_roles = [
        resource_id
        for resource_id, role in roles.items()
        if "AmazonECSInfrastructureRolePolicyForLoadBalancers" in str(role["Properties"].get("ManagedPolicyArns"))
    ]
    assert ecs_roles == [logical_id(stack, first.infrastructure_role)]


def test_a_reserved_id_taken_by_something_else_is_reported() -> None:
    stack = new_stack()
    codedeploy.EcsApplication(stack, CODEDEPLOY_ROLE_ID)
    with pytest.raises(TypeError, match=f"reserves the construct id '{CODEDEPLOY_ROLE_ID}'"):
        stack_singleton(stack, CODEDEPLOY_ROLE_ID, codedeploy.ServerApplication, codedeploy.ServerApplication)
