"""The bundled sample app: what `cdk synth` of app.py + cdk.json produces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_cdk import Token
from aws_cdk.assertions import Template

from sample.app import STACK_NAME, build

from .conftest import Synthesized
from .support import CDK_NAG_MAJOR, ROOT, cdk_context, logical_id, new_app, only, resources_of_type


def test_cdk_json_runs_app_py_and_sets_the_image_tag() -> None:
    config = json.loads((ROOT / "cdk.json").read_text())
    # The virtual environment `make bootstrap` creates: `npx cdk synth` works without activating it.
    assert config["app"] == ".venv/bin/python app.py"
    assert cdk_context()["image_tag"] == "1.27"


def test_stack_is_named_and_environment_agnostic(sample: Synthesized) -> None:
    assert sample.stack.stack_name == STACK_NAME
    assert Token.is_unresolved(sample.stack.account)
    assert Token.is_unresolved(sample.stack.region)


def test_synthesizes_offline_without_lookups() -> None:
    app = new_app()
    build(app)
    manifest = json.loads((Path(app.synth().directory) / "manifest.json").read_text())
    assert "missing" not in manifest


def test_runs_the_tag_from_context(sample: Synthesized) -> None:
    _, task_definition = only(sample.template, "AWS::ECS::TaskDefinition")
    [container] = task_definition["Properties"]["ContainerDefinitions"]
    assert container["Image"] == "public.ecr.aws/nginx/nginx:1.27"


def test_another_tag_changes_only_the_task_definition(sample: Synthesized) -> None:
    other = Template.from_stack(build(new_app(image_tag="1.28"))).to_json()
    before = sample.template.to_json()
    changed = {
        logical_id
        for logical_id in before["Resources"].keys() | other["Resources"].keys()
        if before["Resources"].get(logical_id) != other["Resources"].get(logical_id)
    }
    task_definition = next(iter(resources_of_type(sample.template, "AWS::ECS::TaskDefinition")))
    assert changed == {task_definition}
    container = other["Resources"][task_definition]["Properties"]["ContainerDefinitions"][0]
    assert container["Image"] == "public.ecr.aws/nginx/nginx:1.28"


def test_network_has_no_nat_gateway_and_flow_logs(sample: Synthesized) -> None:
    sample.template.resource_count_is("AWS::EC2::NatGateway", 0)
    sample.template.resource_count_is("AWS::EC2::Subnet", 2)
    sample.template.has_resource_properties("AWS::EC2::FlowLog", {"TrafficType": "ALL"})


def test_outputs_tell_where_to_look(sample: Synthesized) -> None:
    outputs = sample.template.to_json()["Outputs"]
    assert {"ServiceUrl", "TestPort", "TestAddresses", "ImageTag", "DeploymentGroup", "CodeDeployApplication"} <= set(
        outputs
    )


def test_test_listener_outputs_point_at_private_addresses_not_the_public_dns_name(sample: Synthesized) -> None:
    # An internet-facing load balancer's DNS name resolves to public addresses: a client in the VPC using
    # it arrives from a public address, which the test listener's VPC-CIDR rule rejects (issue #13).
    outputs = sample.template.to_json()["Outputs"]
    assert "TestUrl" not in outputs
    command = outputs["TestAddresses"]["Value"]["Fn::Join"][1]
    assert command[0] == "aws ec2 describe-network-interfaces --filters Name=description,Values='ELB "
    assert command[1] == {
        "Fn::GetAtt": [logical_id(sample.stack, sample.service.load_balancer), "LoadBalancerFullName"]
    }
    assert command[2] == "' --query NetworkInterfaces[].PrivateIpAddress"
    assert outputs["TestPort"]["Value"] == "8080"


@pytest.mark.parametrize("tag", ["", "  ", 5])
def test_rejects_a_missing_image_tag(tag: object) -> None:
    with pytest.raises(ValueError, match=r"^Invalid context image_tag="):
        build(new_app(image_tag=tag))


def test_deploy_on_update_comes_from_context() -> None:
    stack = build(new_app(deploy_on_update="false"))
    assert stack.web.deployment_trigger is None
    assert stack.web.deployment_group is not None
    with pytest.raises(ValueError, match=r"^Invalid context deploy_on_update='no': use true or false\.$"):
        build(new_app(deploy_on_update="no"))


def test_account_and_region_come_from_context_only() -> None:
    stack = build(new_app(account="111122223333", region="eu-west-1"))
    assert (stack.account, stack.region) == ("111122223333", "eu-west-1")


@pytest.mark.skipif(
    CDK_NAG_MAJOR < 3, reason="cdk-nag 2 writes no validation report (tests/configuration/test_acknowledgements.py)"
)
def test_cdk_nag_finds_nothing_unacknowledged_and_every_acknowledgment_has_a_reason(tmp_path: Path) -> None:
    for context in ({}, {"smoke_test": "true"}):
        outdir = tmp_path / str(len(context))
        app = new_app(outdir=str(outdir), **context)
        build(app)
        app.synth()  # raises ValidationFailed on any unacknowledged AwsSolutions finding
        report = json.loads((outdir / "validation-report.json").read_text())
        [nag] = report["pluginReports"]
        assert nag["pluginName"] == "AwsSolutions"
        assert nag["violations"] == []
        suppressed = nag["suppressedViolations"]
        assert suppressed, "expected the acknowledged findings in the report"
        for finding in suppressed:
            assert len(finding["reason"]) > 20, finding["ruleName"]
