"""docs/cli.md § Permissions against AWS's Service Authorization Reference and the IAM model (tests/authorization/).

Whom these tests trust: which resource types each action authorizes on, and their ARN formats, to the reference
cfn-lint bundles (tests/authorization/reference.py reads it from the installed cfn-lint); how IAM evaluates a policy
to the model of the IAM User Guide's evaluation logic (tests/authorization/policy.py); which calls the commands make
to the commands themselves, run against botocore's Stubber (the calls are recorded as botocore builds them, so they
are the real API's operations and parameters). What the commands' answers hold is the tests' own.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from blue_green_ecs.cli import deployments
from blue_green_ecs.cli.deployments import ECS_ACTIVE

from ..authorization import reference
from ..authorization.calls import Call, denials, requirements
from ..authorization.policy import Request, evaluate

CLI_MD = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
REGION, ACCOUNT = "us-east-1", "111111111111"
# The placeholders of docs/cli.md § Permissions, as the Stubber answers below name them.
PLACEHOLDERS = {
    "REGION": REGION,
    "ACCOUNT": ACCOUNT,
    "STACK": "Shop",
    "CLUSTER": "shop-cluster",
    "SERVICE": "shop-web",
    "APPLICATION": "shop-app",
    "GROUP": "web-dg",
}
ENGINES = {"both": ("codedeploy", "ecs"), "CodeDeploy": ("codedeploy",), "ECS-native": ("ecs",)}
SERVICE_ARN = "arn:aws:ecs:us-east-1:111111111111:service/shop-cluster/shop-web"
ECS_DEPLOYMENT = "arn:aws:ecs:us-east-1:111111111111:service-deployment/shop-cluster/shop-web/dep1"
T = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Row:
    """One row of the permissions table."""

    commands: tuple[str, ...]
    engines: tuple[str, ...]
    action: str
    resource_type: str  # "-": the reference lists none
    resource: str


def _after(marker: str) -> list[str]:
    lines = CLI_MD.read_text().splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(f"<!-- {marker}: checked by")]
    return lines[start + 1 :]


def _rows() -> list[Row]:
    """The permissions table of docs/cli.md, below its marker."""
    table: list[list[str]] = []
    for line in _after("permissions")[1:]:
        if not line.startswith("|"):
            if table:
                break
            continue
        table.append([cell.strip() for cell in line.strip("|").split("|")])
    assert table[0] == ["commands", "engine", "action", "resource type", "resource"]
    rows = []
    for commands, engine, action, kind, resource in table[2:]:
        named = tuple(re.findall(r"`([a-z]+)`", commands))
        rows.append(
            Row(
                named if named else tuple(deployments.COMMANDS),  # "all, named by --stack"
                ENGINES[engine],
                action.strip("`"),
                kind.strip("`"),
                resource.strip("`"),
            )
        )
    return rows


def _concrete(text: str) -> str:
    return re.sub(r"\b(" + "|".join(PLACEHOLDERS) + r")\b", lambda m: PLACEHOLDERS[m.group(1)], text)


def _policy() -> dict[str, Any]:
    """The operator policy of docs/cli.md, its placeholders replaced by the tests' names."""
    lines = _after("operator policy")
    start = lines.index("```json")
    end = lines.index("```", start + 1)
    policy: dict[str, Any] = json.loads(_concrete("\n".join(lines[start + 1 : end])))
    return policy


def _problems(rows: list[Row]) -> list[str]:
    """Each row whose action the reference does not have, or does not authorize on the row's resource type."""
    problems = []
    for row in rows:
        try:
            types = [t.lower() for t in reference.resource_types(row.action)]
        except KeyError as missing:
            problems.append(str(missing))
            continue
        if row.resource_type == "-":
            if types or row.resource != "*":
                problems.append(f"{row.action}: the reference lists {types}; the row says none, on {row.resource}")
            continue
        if row.resource_type.lower() not in types:
            problems.append(f"{row.action}: the reference lists {types}, not {row.resource_type}")
            continue
        service = row.action.split(":")[0]
        example = _concrete(row.resource).replace("*", "x")
        if not reference.arn_matches_type(service, row.resource_type, example):
            problems.append(f"{row.action}: {row.resource} is not the reference's ARN of {service}:{row.resource_type}")
    return problems


def test_every_action_of_the_permissions_table_authorizes_on_the_resource_type_the_reference_gives() -> None:
    rows = _rows()
    # The table is real: every command has rows, and both engines' approvals are there.
    assert {c for row in rows for c in row.commands} == set(deployments.COMMANDS)
    assert {"ecs:ContinueServiceDeployment", "codedeploy:ContinueDeployment", "codedeploy:StopDeployment"} <= {
        row.action for row in rows
    }
    assert _problems(rows) == []


def test_the_table_check_names_a_row_the_reference_contradicts() -> None:
    wrong = [
        Row(("reject",), ("codedeploy",), "codedeploy:StopDeployment", "deploymentgroup", "arn:aws:codedeploy:x"),
        Row(("approve",), ("ecs",), "ecs:ContinueServiceDeployment", "-", "*"),
        Row(("approve",), ("ecs",), "ecs:ContinueServiceDeployment", "service-deployment", "arn:aws:ecs:REGION:x"),
        Row(("approve",), ("ecs",), "ecs:ApproveServiceDeployment", "-", "*"),
    ]
    assert _problems(wrong) == [
        "codedeploy:StopDeployment: the reference lists [], not deploymentgroup",
        "ecs:ContinueServiceDeployment: the reference lists ['service', 'service-deployment']; the row says none, on *",
        "ecs:ContinueServiceDeployment: arn:aws:ecs:REGION:x is not the reference's ARN of ecs:service-deployment",
        "\"'ecs:ApproveServiceDeployment' is not in the Service Authorization Reference\"",
    ]


# The commands' calls, as botocore makes them.


class Recorded(dict[str, Any]):
    stubs: dict[str, Stubber]
    calls: list[Call]


@pytest.fixture
def clients() -> Iterator[Recorded]:
    made = Recorded()
    made.stubs, made.calls = {}, []
    for name in ("cloudformation", "codedeploy", "ecs", "cloudwatch"):
        client = boto3.client(name, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            made.calls.append(
                Call.of(
                    model.service_model,
                    model.name,
                    params,
                    REGION,
                    ACCOUNT,
                    deployment_groups={"d-1": ("shop-app", "web-dg")},
                )
            )

        client.meta.events.register("before-parameter-build", record)
        made[name], made.stubs[name] = client, Stubber(client)
        made.stubs[name].activate()
    yield made
    for stub in made.stubs.values():
        stub.assert_no_pending_responses()


def _resource(logical: str, kind: str, physical: str) -> dict[str, Any]:
    return {
        "LogicalResourceId": logical,
        "ResourceType": kind,
        "PhysicalResourceId": physical,
        "Timestamp": T,
        "ResourceStatus": "CREATE_COMPLETE",
    }


def _stack(clients: Recorded, engine: str) -> None:
    resources = [_resource("WebServiceD04B5F3E", "AWS::ECS::Service", SERVICE_ARN)]
    if engine == "codedeploy":
        resources += [
            _resource("WebDeploymentGroup3DEF91A9", "AWS::CodeDeploy::DeploymentGroup", "web-dg"),
            _resource("BlueGreenEcsApplication08F4321F", "AWS::CodeDeploy::Application", "shop-app"),
        ]
    clients.stubs["cloudformation"].add_response(
        "describe_stack_resources", {"StackResources": resources}, {"StackName": "Shop"}
    )


def _codedeploy(clients: Recorded, status: str, **info: Any) -> None:
    stub = clients.stubs["codedeploy"]
    stub.add_response(
        "list_deployments",
        {"deployments": ["d-1"]},
        {"applicationName": "shop-app", "deploymentGroupName": "web-dg", "includeOnlyStatuses": deployments.ACTIVE},
    )
    stub.add_response(
        "get_deployment", {"deploymentInfo": {"deploymentId": "d-1", "status": status, **info}}, {"deploymentId": "d-1"}
    )


def _ecs(clients: Recorded, deployment: dict[str, Any], *, described: bool = True) -> None:
    stub = clients.stubs["ecs"]
    stub.add_response(
        "list_service_deployments",
        {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, "status": deployment["status"]}]},
        {"cluster": "shop-cluster", "service": "shop-web", "status": ECS_ACTIVE},
    )
    if described:
        stub.add_response(
            "describe_service_deployments",
            {"serviceDeployments": [{"serviceDeploymentArn": ECS_DEPLOYMENT, **deployment}]},
            {"serviceDeploymentArns": [ECS_DEPLOYMENT]},
        )


PAUSED = {
    "status": "IN_PROGRESS",
    "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
    "lifecycleHookDetails": [{"hookId": "ecs-pause-1", "targetType": "PAUSE", "status": "AWAITING_ACTION"}],
}


def _answer_ecs(action: str) -> Callable[[Recorded], None]:
    def given(clients: Recorded) -> None:
        _ecs(clients, PAUSED)
        clients.stubs["ecs"].add_response(
            "continue_service_deployment",
            {"serviceDeploymentArn": ECS_DEPLOYMENT},
            {"serviceDeploymentArn": ECS_DEPLOYMENT, "hookId": "ecs-pause-1", "action": action},
        )

    return given


def _approve_codedeploy(clients: Recorded) -> None:
    _codedeploy(clients, "Ready")
    clients.stubs["codedeploy"].add_response(
        "continue_deployment", {}, {"deploymentId": "d-1", "deploymentWaitType": "READY_WAIT"}
    )


def _stop_codedeploy(status: str) -> Callable[[Recorded], None]:
    def given(clients: Recorded) -> None:
        _codedeploy(clients, status)
        clients.stubs["codedeploy"].add_response(
            "stop_deployment", {"status": "Pending"}, {"deploymentId": "d-1", "autoRollbackEnabled": True}
        )

    return given


def _rollback_ecs(clients: Recorded) -> None:
    _ecs(clients, {"status": "IN_PROGRESS"}, described=False)
    clients.stubs["ecs"].add_response(
        "stop_service_deployment",
        {"serviceDeploymentArn": ECS_DEPLOYMENT},
        {"serviceDeploymentArn": ECS_DEPLOYMENT, "stopType": "ROLLBACK"},
    )


def _status_codedeploy(clients: Recorded) -> None:
    # Traffic shifting (GetDeploymentConfig) in a group with an alarm (DescribeAlarms): every call status makes.
    _codedeploy(clients, "InProgress", deploymentConfigName="CodeDeployDefault.ECSCanary10Percent5Minutes")
    stub = clients.stubs["codedeploy"]
    stub.add_response("list_deployment_targets", {"targetIds": ["t-1"]}, {"deploymentId": "d-1"})
    target = {
        "deploymentTargetType": "ECSTarget",
        "ecsTarget": {
            "taskSetsInfo": [{"taskSetLabel": "Green", "trafficWeight": 10.0}],
            "lifecycleEvents": [{"lifecycleEventName": "AllowTraffic", "status": "InProgress", "startTime": T}],
        },
    }
    stub.add_response(
        "batch_get_deployment_targets", {"deploymentTargets": [target]}, {"deploymentId": "d-1", "targetIds": ["t-1"]}
    )
    stub.add_response(
        "get_deployment_config",
        {"deploymentConfigInfo": {"trafficRoutingConfig": {"type": "TimeBasedCanary"}}},
        {"deploymentConfigName": "CodeDeployDefault.ECSCanary10Percent5Minutes"},
    )
    stub.add_response(
        "get_deployment_group",
        {"deploymentGroupInfo": {"alarmConfiguration": {"alarms": [{"name": "web-5xx"}]}}},
        {"applicationName": "shop-app", "deploymentGroupName": "web-dg"},
    )
    clients.stubs["cloudwatch"].add_response(
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": "web-5xx", "StateValue": "OK"}]},
        {"AlarmNames": ["web-5xx"], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]},
    )


SCENARIOS: dict[tuple[str, str], Callable[[Recorded], None]] = {
    ("status", "codedeploy"): _status_codedeploy,
    ("status", "ecs"): lambda clients: _ecs(clients, PAUSED),
    ("approve", "codedeploy"): _approve_codedeploy,
    ("approve", "ecs"): _answer_ecs("CONTINUE"),
    ("reject", "codedeploy"): _stop_codedeploy("Ready"),
    ("reject", "ecs"): _answer_ecs("ROLLBACK"),
    ("rollback", "codedeploy"): _stop_codedeploy("InProgress"),
    ("rollback", "ecs"): _rollback_ecs,
}


def _run(clients: Recorded, command: str, engine: str) -> list[Call]:
    """The calls ``command`` makes, the service named by ``--stack`` and ``--path``, in its scenario's state."""
    del clients.calls[:]
    _stack(clients, engine)
    SCENARIOS[command, engine](clients)
    args = argparse.Namespace(
        command=command, stack="Shop", path="Web", cluster="", service="", assembly=None, no_assembly=True
    )
    assert deployments.run(args, clients) == 0
    return list(clients.calls)


@pytest.mark.parametrize(("command", "engine"), list(SCENARIOS))
def test_each_command_makes_exactly_the_calls_of_its_rows(
    clients: Recorded, command: str, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # when: the command acts (status: on a deployment shifting traffic, the group with an alarm)
    made = {call.action for call in _run(clients, command, engine)}
    # then: its calls are its rows' actions, no more, no fewer (watch polls status's: not run here)
    assert made == {row.action for row in _rows() if command in row.commands and engine in row.engines}


def test_the_operator_policy_allows_every_call_of_approve_and_reject_and_holds_nothing_they_do_not_use(
    clients: Recorded, capsys: pytest.CaptureFixture[str]
) -> None:
    # given: the policy of docs/cli.md; when: approve and reject on both engines, named by --stack
    policy = _policy()
    calls = [
        call
        for command in ("approve", "reject")
        for engine in ENGINES["both"]
        for call in _run(clients, command, engine)
    ]
    # then: IAM allows every call...
    assert [denial for call in calls for denial in denials([policy], call)] == []
    # ... each action of each statement allows one of the calls' requests (none is there for nothing) ...
    requests = [request for call in calls for requirement in requirements(call) for request in requirement.any_of]
    unused = []
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            alone = {"Version": "2012-10-17", "Statement": [{**statement, "Action": action}]}
            if not any(evaluate([alone], request).allowed for request in requests):
                unused.append(f"{statement['Sid']}: {action}")
    assert unused == []
    # ... and the policy is the table's approve and reject rows
    assert {
        (action, statement["Resource"])
        for statement in policy["Statement"]
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    } == {(row.action, _concrete(row.resource)) for row in _rows() if {"approve", "reject"} & set(row.commands)}


@pytest.mark.parametrize(
    "request_",
    [
        Request(
            "ecs:ContinueServiceDeployment",
            "arn:aws:ecs:us-east-1:111111111111:service-deployment/shop-cluster/shop-api/dep9",
        ),
        Request("ecs:ListServiceDeployments", "arn:aws:ecs:us-east-1:111111111111:service/shop-cluster/shop-api"),
        Request(
            "codedeploy:GetDeployment", "arn:aws:codedeploy:us-east-1:111111111111:deploymentgroup:shop-app/api-dg"
        ),
        Request("ecs:StopServiceDeployment", ECS_DEPLOYMENT),
        Request("ecs:UpdateService", SERVICE_ARN),
    ],
    ids=["another-service-s-approval", "another-service", "another-group", "rollback", "an-update"],
)
def test_the_operator_policy_denies_another_service_and_what_approve_and_reject_do_not_do(request_: Request) -> None:
    assert not evaluate([_policy()], request_).allowed
