"""What the services of one stack share: the access-log bucket, the CodeDeploy application and role, the
ECS infrastructure role. A further service adds only what is its own."""

from __future__ import annotations

from collections import Counter

import pytest
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService, DeploymentEngine
from blue_green_ecs.load_balancing.shared_resources import APPLICATION_ID, CODEDEPLOY_ROLE_ID, stack_singleton

from ..configurations import IMAGE, cluster_with_insights
from ..conftest import TwoServices
from ..support import logical_id, new_stack, resources_of_type


def test_one_application_and_one_role_for_every_deployment_group(two_services: TwoServices) -> None:
    stack, first, second, template = two_services.stack, two_services.first, two_services.second, two_services.template
    template.resource_count_is("AWS::CodeDeploy::Application", 1)
    template.resource_count_is("AWS::CodeDeploy::DeploymentGroup", 2)
    assert first.application is second.application
    assert first.deployment_group is not None
    assert second.deployment_group is not None
    assert first.code_deploy.role is second.code_deploy.role
    role = logical_id(stack, first.code_deploy.role)
    assert role.startswith(CODEDEPLOY_ROLE_ID)
    assert logical_id(stack, first.application).startswith(APPLICATION_ID)
    for group in resources_of_type(template, "AWS::CodeDeploy::DeploymentGroup").values():
        assert group["Properties"]["ServiceRoleArn"] == {"Fn::GetAtt": [role, "Arn"]}
        assert group["Properties"]["ApplicationName"] == {"Ref": logical_id(stack, first.application)}


def test_a_further_service_adds_two_resources_more_than_the_hand_written_l2_service(two_services: TwoServices) -> None:
    resources = two_services.template.to_json()["Resources"]
    # Everything of the second service lives under its construct (id "Api"); what it shares is a
    # child of the stack, created by the first.
    added = Counter(r["Type"] for logical, r in resources.items() if logical.startswith("Api"))
    # benchmarks/l2_stack.py adds 20 per service (its own application and CodeDeploy role, no access
    # logs, no trigger, nothing for day two); this adds 22 with access logs, the deployment trigger,
    # the live-state lookup that keeps stack updates from undoing deployments and the pinned service that
    # keeps them from rewriting what the service was created with, and the green-against-blue comparison
    # alarm (compare_blue_green=False takes it out).
    assert sum(added.values()) == 22
    assert added["AWS::CloudWatch::Alarm"] == 3
    assert added["Custom::BlueGreenEcsDeployment"] == 1
    assert added["Custom::BlueGreenEcsLiveState"] == 1
    assert added["Custom::BlueGreenEcsPinnedService"] == 1
    for shared in ("AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::CodeDeploy::Application", "AWS::Lambda::Function"):
        assert added[shared] == 0, shared
    # The task role and the execution role stay per service: they carry the service's own permissions.
    assert added["AWS::IAM::Role"] == 2
    # Besides the network of the fixture, the stack level holds only the shared resources.
    network = ("Vpc", "FlowLogs", "CustomVpcRestrictDefaultSG", "Cluster")
    stack_level = {logical for logical in resources if not logical.startswith(("Web", "Api", *network))}
    assert all(logical.startswith("BlueGreenEcs") for logical in stack_level), stack_level


def test_a_given_application_is_used_instead_of_the_shared_one() -> None:
    stack = new_stack()
    application = codedeploy.EcsApplication(stack, "Mine")
    service = BlueGreenFargateService(
        stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), application=application
    )
    assert service.application is application
    assert stack.node.try_find_child(APPLICATION_ID) is None


def test_ecs_native_services_share_the_infrastructure_role() -> None:
    stack = new_stack()
    cluster = cluster_with_insights(stack)
    first, second = (
        BlueGreenFargateService(
            stack,
            name,
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
        )
        for name in ("Web", "Api")
    )
    assert first.infrastructure_role is not None
    assert first.infrastructure_role is second.infrastructure_role
    assert first.infrastructure_role.node.scope is stack


def test_a_reserved_id_taken_by_something_else_is_reported() -> None:
    stack = new_stack()
    codedeploy.EcsApplication(stack, CODEDEPLOY_ROLE_ID)
    with pytest.raises(TypeError, match=f"reserves the construct id '{CODEDEPLOY_ROLE_ID}'"):
        stack_singleton(stack, CODEDEPLOY_ROLE_ID, codedeploy.ServerApplication, codedeploy.ServerApplication)
