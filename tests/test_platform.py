"""The platform team's layout of issue #22, one app of five stacks (``configurations.platform``): a network stack
with the shared HTTPS load balancer, three team stacks with an ECS_NATIVE service each on it, and a CODE_DEPLOY
service on a load balancer of its own. The app is synthesized once (``conftest.platform``): cdk-nag checks every
stack on the way, cfn-lint every template, and ``make scan`` runs checkov over them (tests/export_templates).

The cross-stack references are what cdk.json asks for: ``"@aws-cdk/core:defaultCrossStackReferences": "weak"``,
which aws-cdk-lib 2.275 writes as ``Fn::GetStackOutput`` of a plain output of the network stack ("strong", its
default without the key, writes ``Fn::ImportValue`` of an export). cfn-lint 1.58 cannot read one form of it yet;
the last tests show that the suite ignores exactly that and nothing else (tests/support.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import CfnWaitConditionHandle, Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template

from blue_green_ecs import BlueGreenFargateService, BlueGreenLoadBalancer, DeploymentEngine, Routing

from .configurations import IMAGE, PLATFORM_TEAMS, cluster_with_insights
from .conftest import SynthesizedPlatform
from .support import cfn_lint_findings, logical_id, new_app, raises_message

TEAM_STACKS = [stack_id for stack_id, _, _ in PLATFORM_TEAMS]
CONSUMERS = [*TEAM_STACKS, "Payments"]
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
LISTENER = "AWS::ElasticLoadBalancingV2::Listener"
RULE = "AWS::ElasticLoadBalancingV2::ListenerRule"


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every object in a template, depth first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _json(template: Template) -> dict[str, Any]:
    return dict(template.to_json())


def _output_of(platform: SynthesizedPlatform, construct: Any) -> str:
    """The name of the network stack's output whose value is ``construct``'s Ref."""
    network = platform.platform.network
    outputs = platform.templates["Network"].find_outputs("*", {"Value": {"Ref": logical_id(network, construct)}})
    assert len(outputs) == 1, f"expected one output of {construct.node.path}, found {sorted(outputs)}"
    return next(iter(outputs))


def test_every_stack_of_the_app_is_synthesized_and_validated(platform: SynthesizedPlatform) -> None:
    # given the app's cloud assembly (the same one the fixture linted: synthesis is memoized)
    assembly = platform.platform.app.synth()

    # then every stack in it has its template, linted by the fixture (and cdk-nag ran over all of them)
    assert sorted(stack.stack_name for stack in assembly.stacks) == sorted(["Network", *CONSUMERS])
    assert sorted(platform.templates) == sorted(stack.stack_name for stack in assembly.stacks)


def test_cdk_nag_checks_every_stack_of_an_app_whichever_stack_is_synthesized() -> None:
    # given an app whose second stack has findings nobody acknowledged
    app = new_app()
    first = Stack(app, "First")
    CfnWaitConditionHandle(first, "Nothing")
    sqs.Queue(Stack(app, "Second"), "Queue")

    # when the first stack's template is asked for
    with pytest.raises(RuntimeError, match=r"^ValidationFailed") as raised:
        Template.from_stack(first)

    # then the synthesis failed on the second stack's findings
    found = re.search(r"found in: (\S+)", str(raised.value))
    assert found is not None, str(raised.value)
    with open(found.group(1)) as report:
        text = report.read()
    assert "Second/Queue/Resource" in text
    assert "AwsSolutions-SQS4" in text


def test_team_rules_are_on_the_shared_listeners_with_their_host_and_priority(platform: SynthesizedPlatform) -> None:
    # given the outputs that publish the shared load balancer's production and test listeners
    edge = platform.platform.edge
    listeners = {_output_of(platform, edge.prod_listener), _output_of(platform, edge.test_listener)}

    for stack_id, priority, host in PLATFORM_TEAMS:
        template = platform.templates[stack_id]
        # then each team stack has its two rules, one on each shared listener, with its host and priority
        template.resource_count_is(RULE, 2)
        for output in listeners:
            template.has_resource_properties(
                RULE,
                {
                    "Priority": priority,
                    "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}],
                    "ListenerArn": {
                        "Fn::GetStackOutput": Match.object_like({"StackName": "Network", "OutputName": output})
                    },
                },
            )


def test_team_stacks_create_no_load_balancer_of_their_own(platform: SynthesizedPlatform) -> None:
    # then the network stack has the one shared load balancer (production, test and redirect listeners)
    platform.templates["Network"].resource_count_is(LOAD_BALANCER, 1)
    platform.templates["Network"].resource_count_is(LISTENER, 3)
    # and the team stacks add rules to it, no load balancer or listener
    for stack_id in TEAM_STACKS:
        platform.templates[stack_id].resource_count_is(LOAD_BALANCER, 0)
        platform.templates[stack_id].resource_count_is(LISTENER, 0)
    # and the CODE_DEPLOY service has its own (CodeDeploy shifts a listener's default action)
    platform.templates["Payments"].resource_count_is(LOAD_BALANCER, 1)
    platform.templates["Payments"].resource_count_is("AWS::CodeDeploy::DeploymentGroup", 1)


def test_references_to_the_network_stack_read_its_outputs_in_the_same_environment(
    platform: SynthesizedPlatform,
) -> None:
    # given the network stack's outputs
    outputs = _json(platform.templates["Network"])["Outputs"]

    for stack_id in CONSUMERS:
        template = _json(platform.templates[stack_id])
        references = [node["Fn::GetStackOutput"] for node in _nodes(template) if "Fn::GetStackOutput" in node]
        # then every reference is a weak one (cdk.json), to the network stack in the same account and Region
        assert references, stack_id
        assert not [node for node in _nodes(template) if "Fn::ImportValue" in node], stack_id
        for reference in references:
            assert reference == {
                "StackName": "Network",
                "Region": {"Ref": "AWS::Region"},
                "OutputName": reference["OutputName"],
            }, stack_id
            # and names an output the network stack has
            assert reference["OutputName"] in outputs, (stack_id, reference)

    # and the network stack exports nothing: no consumer can block its updates (no "deadly embrace")
    assert [name for name, output in outputs.items() if "Export" in output] == []


def test_team_stacks_deploy_after_the_network_stack(platform: SynthesizedPlatform) -> None:
    # Fn::GetStackOutput does not order stacks the way an import does: the CLI's dependency order does.
    network = platform.platform.network
    for stack in platform.platform.stacks[1:]:
        assert network in stack.dependencies, stack.stack_name


def test_payments_secret_is_granted_to_its_execution_role_only(platform: SynthesizedPlatform) -> None:
    # given the secret, its key and the execution role of the CODE_DEPLOY service
    built = platform.platform
    stack = Stack.of(built.payments)
    secret, key = logical_id(stack, built.secret), logical_id(stack, built.key)
    execution_role = logical_id(stack, built.payments.task_definition.execution_role)
    template = platform.templates["Payments"]

    # then the container reads it at start, from the execution role
    template.has_resource_properties(
        "AWS::ECS::TaskDefinition",
        {
            "ContainerDefinitions": [
                Match.object_like({"Secrets": [{"Name": "PAYMENTS_API_KEY", "ValueFrom": {"Ref": secret}}]})
            ],
            "ExecutionRoleArn": {"Fn::GetAtt": [execution_role, "Arn"]},
        },
    )
    # and in every stack of the app, one identity policy grants it: the execution role's, to read it
    grants = [
        (stack_name, policy["Properties"]["Roles"], statement["Action"])
        for stack_name, each in platform.templates.items()
        for policy in each.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if {secret, key} & set(re.findall(r"[A-Za-z0-9]+", json.dumps(statement["Resource"])))
    ]
    assert grants == [
        ("Payments", [{"Ref": execution_role}], ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"])
    ]
    # and its key lets no one but the account's IAM policies and that role decrypt, through Secrets Manager only
    statements = template.find_resources("AWS::KMS::Key")[key]["Properties"]["KeyPolicy"]["Statement"]
    named = [statement for statement in statements if "Fn::GetAtt" in json.dumps(statement["Principal"])]
    assert named == [
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": {"Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
                }
            },
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::GetAtt": [execution_role, "Arn"]}},
            "Resource": "*",
        }
    ]


def test_payments_scales_and_runs_the_smoke_test_and_preflight_check(platform: SynthesizedPlatform) -> None:
    payments = platform.platform.payments
    template = platform.templates["Payments"]
    template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget", {"MinCapacity": 2, "MaxCapacity": 10}
    )
    assert payments.smoke_test_function is not None
    assert payments.preflight_function is not None
    assert set(payments.hooks) >= {"BeforeInstall", "AfterAllowTestTraffic"}


def test_team_stacks_cannot_take_each_others_priority() -> None:
    # given a network stack's shared load balancer, and one team stack routed at priority 10
    app = new_app()
    network = Stack(app, "Network")
    cluster = cluster_with_insights(network)
    edge = BlueGreenLoadBalancer(network, "Edge", vpc=cluster.vpc)

    def team(stack_id: str, host: str) -> BlueGreenFargateService:
        return BlueGreenFargateService(
            Stack(app, stack_id),
            "Service",
            image=ecs.ContainerImage.from_registry(IMAGE),
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=10, host_headers=[host]),
        )

    team("Orders", "orders.example.com")

    # when another team stack asks for the same priority, then the ValueError names both services
    with raises_message(
        "Invalid routing.priority=10: service 'Orders/Service' already has this priority on the shared load "
        "balancer 'Network/Edge' ('Catalog/Service' asks for it too); give each service its own."
    ):
        team("Catalog", "catalog.example.com")


# What cfn-lint 1.58 reports on Fn::GetStackOutput inside Fn::Split, and what the suite ignores of it.

GET_STACK_OUTPUT = {
    "Fn::GetStackOutput": {"StackName": "Network", "Region": {"Ref": "AWS::Region"}, "OutputName": "PublishOutputRef"}
}


def _topic(display_name: Any) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": display_name}}


def _joined_part_of(source: Any, delimiter: Any = "/") -> dict[str, Any]:
    """aws-cdk-lib's load balancer dimension from a listener ARN, in short: Join of Select of Split."""
    return {"Fn::Join": ["", [{"Fn::Select": [1, {"Fn::Split": [delimiter, source]}]}]]}


def test_cfn_lint_still_rejects_get_stack_output_in_split() -> None:
    # given the form aws-cdk-lib writes for a weak reference to the network stack's listener
    template = {"Resources": {"Topic": _topic(_joined_part_of(GET_STACK_OUTPUT))}}

    # then cfn-lint reports it (when it stops, remove the ignore in tests/support.py) and the suite ignores it
    assert cfn_lint_findings(template, ignore_unread=False) == [
        f"E1022 {GET_STACK_OUTPUT!r} is not of type 'string' "
        "(Resources/Topic/Properties/DisplayName/Fn::Join/1/0/Fn::Select/1/Fn::Split/1)"
    ]
    assert cfn_lint_findings(template) == []


def test_the_get_stack_output_ignore_keeps_every_other_finding() -> None:
    # given a deliberately broken template: other E1022 errors, malformed or misplaced Fn::GetStackOutput, and the
    # same construct reported by another rule
    template = {
        "Resources": {
            "Ignored": _topic(_joined_part_of(GET_STACK_OUTPUT)),
            "NoOutputName": _topic(_joined_part_of({"Fn::GetStackOutput": {"StackName": "Network"}})),
            "UnknownKey": _topic(
                _joined_part_of({"Fn::GetStackOutput": {"StackName": "Network", "OutputName": "Out", "Bad": "x"}})
            ),
            "AsDelimiter": _topic(_joined_part_of("a/b", delimiter=GET_STACK_OUTPUT)),
            "OtherFunction": _topic(_joined_part_of({"Fn::GetAZs": ""})),
            "JoinItem": _topic({"Fn::Join": ["", [{"Fn::Cidr": ["10.0.0.0/16", 1, 8]}]]}),
            "NotInJoin": _topic({"Fn::Select": [1, {"Fn::Split": ["/", GET_STACK_OUTPUT]}]}),
        }
    }

    # when linted as the suite lints
    findings = cfn_lint_findings(template)

    # then all but the one ignored construct are reported
    split = "Properties/DisplayName/Fn::Join/1/0/Fn::Select/1/Fn::Split"
    assert findings == [
        "E1022 {'Fn::GetStackOutput': {'StackName': 'Network'}} is not of type 'string' "
        f"(Resources/NoOutputName/{split}/1)",
        "E1022 {'Fn::GetStackOutput': {'StackName': 'Network', 'OutputName': 'Out', 'Bad': 'x'}} is not of type "
        f"'string' (Resources/UnknownKey/{split}/1)",
        f"E1022 {GET_STACK_OUTPUT!r} is not of type 'string' (Resources/AsDelimiter/{split}/0)",
        f"E1022 {{'Fn::GetAZs': ''}} is not of type 'string' (Resources/OtherFunction/{split}/1)",
        "E1022 {'Fn::Cidr': ['10.0.0.0/16', 1, 8]} is not of type 'string' "
        "(Resources/JoinItem/Properties/DisplayName/Fn::Join/1/0)",
        f"E1017 {GET_STACK_OUTPUT!r} is not of type 'string' "
        "(Resources/NotInJoin/Properties/DisplayName/Fn::Select/1/Fn::Split/1)",
    ]
