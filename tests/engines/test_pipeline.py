"""Pipeline hand-off: appspec.yaml and taskdef.json for CodePipeline's CodeDeployToECS action."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack, Token
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService
from blue_green_ecs.cli.export import recorded_pipeline_files, stacks
from blue_green_ecs.engines.pipeline import (
    IMAGE_PLACEHOLDER,
    PIPELINE_FILES_METADATA,
    TASK_DEFINITION_PLACEHOLDER,
    appspec_document,
    pipeline_files,
    taskdef_document,
)

from ..conftest import Synthesized
from ..support import logical_id


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


def _recorded(stack: Stack) -> dict[str, Any]:
    """Construct path -> the pipeline files in the stack's cloud assembly metadata, read as the command does."""
    app = stack.node.root
    assert isinstance(app, App)
    outdir = Path(app.synth().directory)  # cached after the first synthesis
    [artifact] = [a for a in stacks(outdir) if a.name == stack.stack_name]
    return recorded_pipeline_files(artifact.metadata)


def test_pipeline_files_are_recorded_in_the_assembly_metadata_not_the_template(sample: Synthesized) -> None:
    stack, web = sample.stack, sample.service
    assert _recorded(stack) == {
        web.node.path: {
            "appspec.yaml": stack.resolve(appspec_document(web)),
            "taskdef.json": stack.resolve(taskdef_document(web)),
        }
    }
    assert PIPELINE_FILES_METADATA not in json.dumps(sample.template.to_json())


def test_ecs_native_services_record_no_pipeline_files(sample_ecs: Synthesized) -> None:
    assert _recorded(sample_ecs.stack) == {}


def test_recorded_taskdef_has_containers_added_after_construction() -> None:
    # given: a sidecar added to the service's task definition after the service was constructed
    stack = Stack(App(), "Late")
    web = BlueGreenFargateService(stack, "Web", image=ecs.ContainerImage.from_registry("nginx"))
    web.task_definition.add_container(
        "Sidecar",
        image=ecs.ContainerImage.from_registry("envoy"),
        essential=False,
        memory_limit_mib=64,
        docker_labels={"Team": "edge", "com.Example": "y"},
    )

    # when
    taskdef = _recorded(stack)["Late/Web"]["taskdef.json"]

    # then
    assert [(c["name"], c["image"]) for c in taskdef["containerDefinitions"]] == [
        ("web", IMAGE_PLACEHOLDER),
        ("Sidecar", "envoy"),
    ]
    # The user's label names are kept as they are, not camel-cased like property names.
    assert taskdef["containerDefinitions"][1]["dockerLabels"] == {"Team": "edge", "com.Example": "y"}
