"""Pipeline hand-off: appspec.yaml and taskdef.json for CodePipeline's CodeDeployToECS action."""

from __future__ import annotations

import json

from aws_cdk import Token

from blue_green_ecs.pipeline import (
    IMAGE_PLACEHOLDER,
    TASK_DEFINITION_PLACEHOLDER,
    appspec_document,
    pipeline_files,
    taskdef_document,
)

from .conftest import Synthesized
from .support import logical_id


def test_appspec_has_the_placeholder_and_the_service_network(sample: Synthesized) -> None:
    stack, web = sample.stack, sample.service
    document = stack.resolve(appspec_document(web))
    assert document == {
        "version": 0.0,
        "Resources": [
            {
                "TargetService": {
                    "Type": "AWS::ECS::Service",
                    "Properties": {
                        "TaskDefinition": TASK_DEFINITION_PLACEHOLDER,
                        "LoadBalancerInfo": {"ContainerName": "web", "ContainerPort": 80},
                        "PlatformVersion": "LATEST",
                        "NetworkConfiguration": {
                            "AwsvpcConfiguration": {
                                "Subnets": [
                                    {"Ref": "VpcPublicSubnet1Subnet5C2D37C4"},
                                    {"Ref": "VpcPublicSubnet2Subnet691E08A3"},
                                ],
                                "SecurityGroups": [
                                    {
                                        "Fn::GetAtt": [
                                            logical_id(stack, web.service.connections.security_groups[0]),
                                            "GroupId",
                                        ]
                                    }
                                ],
                                "AssignPublicIp": "ENABLED",
                            }
                        },
                    },
                }
            }
        ],
    }


def test_appspec_matches_what_the_deployment_trigger_sends(sample: Synthesized) -> None:
    trigger = next(
        r for r in sample.template.to_json()["Resources"].values() if r["Type"] == "Custom::BlueGreenEcsDeployment"
    )["Properties"]
    resolved = sample.stack.resolve(appspec_document(sample.service))
    network = resolved["Resources"][0]["TargetService"]["Properties"]["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["Subnets"] == trigger["Subnets"]
    assert network["SecurityGroups"] == trigger["SecurityGroups"]


def test_taskdef_is_in_register_task_definition_form_with_the_image_placeholder(https: Synthesized) -> None:
    stack, api = https.stack, https.service
    document = stack.resolve(taskdef_document(api))
    assert document["family"] == "HttpsApiTaskDefinition1597C807"
    assert document["networkMode"] == "awsvpc"
    assert document["requiresCompatibilities"] == ["FARGATE"]
    assert (document["cpu"], document["memory"]) == ("512", "1024")
    assert document["executionRoleArn"] == {
        "Fn::GetAtt": [logical_id(stack, api.task_definition.execution_role), "Arn"]
    }
    assert document["taskRoleArn"] == {"Fn::GetAtt": [logical_id(stack, api.task_definition.task_role), "Arn"]}
    [container] = document["containerDefinitions"]
    assert container["name"] == "web"
    assert container["image"] == IMAGE_PLACEHOLDER
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert container["environment"] == [{"name": "STAGE", "value": "prod"}]
    log = container["logConfiguration"]
    assert log["logDriver"] == "awslogs"
    # Option names are the log driver's own, kept as they are.
    assert set(log["options"]) == {"awslogs-group", "awslogs-stream-prefix", "awslogs-region"}


def test_documents_carry_tokens_for_deploy_time_values(https: Synthesized) -> None:
    document = taskdef_document(https.service)
    assert Token.is_unresolved(document["executionRoleArn"])


def test_pipeline_files_resolve_to_json_at_deploy_time(sample: Synthesized) -> None:
    files = pipeline_files(sample.service)
    assert set(files) == {"appspec.yaml", "taskdef.json"}
    for text in files.values():
        assert Token.is_unresolved(text)
        assert "Fn::Join" in json.dumps(sample.stack.resolve(text))
