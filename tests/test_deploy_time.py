"""Deploy-time defects of the construct (issue #13): each passes cfn-lint and cdk-nag, and each would
fail in a real account; every test here failed on the code before its fix."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms

from blue_green_ecs import BlueGreenFargateService

from .configurations import IMAGE
from .conftest import Synthesized
from .support import logical_id, new_stack, only, resources_of_type, synth


def test_an_own_log_key_lets_cloudwatch_logs_use_it_for_every_log_group() -> None:
    # Given a key the stack owns, passed as log_encryption_key
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry(IMAGE), log_encryption_key=key)
    # When synthesized
    template = synth(stack)
    # Then the key policy lets the regional Logs principal use it for this account's log groups
    _, key_resource = only(template, "AWS::KMS::Key")
    statements = key_resource["Properties"]["KeyPolicy"]["Statement"]
    [logs_statement] = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsOfThisAccount"]
    assert logs_statement["Principal"] == {
        "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    }
    assert set(logs_statement["Action"]) >= {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"}
    assert logs_statement["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
    # And every log group of the service is encrypted with it (the flow logs of the new VPC too)
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    service_groups = {k: g for k, g in groups.items() if k.startswith("Web")}
    assert len(service_groups) >= 2
    for group in service_groups.values():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [logical_id(stack, key), "Arn"]}


def test_the_service_waits_for_the_clusters_capacity_provider_association(existing_cluster: Synthesized) -> None:
    # Given a FARGATE_SPOT strategy on a cluster whose association aws-cdk-lib creates at synthesis
    template = existing_cluster.template
    [association] = resources_of_type(template, "AWS::ECS::ClusterCapacityProviderAssociations")
    # Then CreateService runs after the association exists
    _, service = only(template, "AWS::ECS::Service")
    assert association in service["DependsOn"]


def test_codedeploy_role_uses_the_limited_policy(sample: Synthesized) -> None:
    # AWSCodeDeployRoleForECS would let CodeDeploy invoke any function, read any object, publish anywhere.
    roles = resources_of_type(sample.template, "AWS::IAM::Role")
    policies = [
        arn
        for role in roles.values()
        if role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"].get("Service")
        == "codedeploy.amazonaws.com"
        for arn in role["Properties"].get("ManagedPolicyArns", [])
    ]
    assert policies == [
        {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/AWSCodeDeployRoleForECSLimited"]]}
    ]


def test_a_certificate_added_later_frees_port_80_before_the_redirect_listener_takes_it(https: Synthesized) -> None:
    # Given the HTTPS configuration: the production listener is on 443, the redirect listener on 80.
    # Adding the certificate to a running HTTP service changes the production listener's port from 80
    # to 443 and creates the redirect listener on 80; CloudFormation must do them in that order.
    stack, service = https.stack, https.service
    assert service.redirect_listener is not None
    redirect: dict[str, Any] = https.template.to_json()["Resources"][logical_id(stack, service.redirect_listener)]
    assert logical_id(stack, service.prod_listener) in redirect["DependsOn"]
