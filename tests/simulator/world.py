"""One simulated account: the model, its clients, CloudFormation, and the real custom resource handler.

CloudFormation invokes the stack's provider function (``blue_green_ecs.handlers.custom_resource.handler``)
with the request it documents
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html): every scalar of
ResourceProperties arrives as a string. The answer is the body the handler PUTs to the ResponseURL, read as
CloudFormation reads it. When the handler starts the waiter state machine, the waiter's polls are run here,
synchronously, 15 s of model time apart (the state machine's Wait).
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from blue_green_ecs.handlers import aws as handler_aws
from blue_green_ecs.handlers import custom_resource, deployment

from . import clients
from .aws import ACCOUNT, REGION, Aws, weights_of
from .cloudformation import CustomResponse, Stack
from .resources import Handlers, Resource

OUR_TYPES = ("Custom::BlueGreenEcsDeployment", "Custom::BlueGreenEcsLiveState")
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Simulated/00000000-0000-0000-0000-000000000001"
POLL_SECONDS = 15
MAX_POLLS = 4 * 60  # an hour of polls: CloudFormation's limit for a custom resource


def stringify(value: Any) -> Any:
    """Properties as CloudFormation sends them to a custom resource: every scalar a string."""
    if isinstance(value, dict):
        return {k: stringify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [stringify(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class World:
    aws: Aws
    stack: Stack
    started: list[dict[str, Any]]
    puts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    # IAM actions the provider function called that its role's policies did not allow
    unpermitted: list[str] = field(default_factory=list)
    request_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))

    # ---- the custom resource protocol ------------------------------------------------------------------

    def invoke(
        self, request_type: str, resource: Resource, props: dict[str, Any], old: dict[str, Any] | None
    ) -> CustomResponse:
        """Send one CloudFormation request to the provider function and read its answer."""
        if resource.type not in OUR_TYPES:
            return "SUCCESS", "", resource.physical_id or f"{resource.logical_id}-physical", {}
        request_id = f"00000000-0000-4000-8000-{next(self.request_ids):012d}"
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": props.get("ServiceToken", ""),
            "ResponseURL": f"https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/{request_id}",
            "StackId": STACK_ID,
            "RequestId": request_id,
            "ResourceType": resource.type,
            "LogicalResourceId": resource.logical_id,
            "ResourceProperties": stringify(props),
        }
        if request_type != "Create":
            event["PhysicalResourceId"] = resource.physical_id
        if old is not None:
            event["OldResourceProperties"] = stringify(old)
        self.requests.append(event)
        before = len(self.puts)
        self.aws.caller, start = "handler", len(self.aws.calls)
        try:
            custom_resource.handler(event, None)
            waiter = [x for x in self.started if x["name"] == custom_resource.execution_name(request_id)]
            if waiter:
                self._run_waiter(json.loads(waiter[0]["input"]))
        finally:
            self.aws.caller = "cloudformation"
            self.unpermitted += self._unpermitted([action for _, action in self.aws.calls[start:]])
        answers = self.puts[before:]
        assert len(answers) == 1, f"{resource.logical_id} {request_type}: {len(answers)} answers to CloudFormation"
        [answer] = answers
        return answer["Status"], answer.get("Reason", ""), answer["PhysicalResourceId"], answer.get("Data") or {}

    def _run_waiter(self, execution_input: Mapping[str, Any]) -> None:
        for _ in range(MAX_POLLS):
            self.aws.advance(POLL_SECONDS)
            poll = {"Action": "poll", "Request": execution_input["Request"], "StartedAt": execution_input["StartedAt"]}
            if custom_resource.handler(poll, None).get("Done"):
                return
            self.stack.observer()
        raise AssertionError("the waiter polled for an hour without an answer")

    def put(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The presigned ResponseURL: records the body CloudFormation would read (at most 4096 bytes, or it fails
        the resource: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html)."""
        assert len(body) <= 4096, f"response body of {len(body)} bytes"
        self.puts.append(json.loads(body))
        return 200

    # ---- what the tests assert -------------------------------------------------------------------------

    def production(self, service: str = "Web") -> dict[str, int]:
        """Target group -> weight of production traffic for the construct ``service``: where the service's request
        goes on the listener of its production rule (ECS_NATIVE; other services' rules may share the listener), or
        its production listener's default action (CODE_DEPLOY)."""
        return weights_of(self._route(service, "Prod"))

    def test_traffic(self, service: str = "Web") -> dict[str, int]:
        """Target group -> weight of test traffic."""
        return weights_of(self._route(service, "Test"))

    def _route(self, service: str, which: str) -> list[dict[str, Any]]:
        rule = self.logical(f"{service}{which}Rule")
        if rule is not None:
            live = self.aws.rules[self.stack.resources[rule].physical_id]
            return self.aws.route(live.listener_arn, *self.request(service))
        listener = self.logical(f"{service}{which}Listener")
        assert listener is not None
        return self.aws.listeners[self.stack.resources[listener].physical_id].actions

    def request(self, service: str) -> tuple[str, str]:
        """(host, path) of a request meant for ``service``: what its production rule's conditions ask for (each
        wildcard one letter), any host or path where they ask nothing."""
        rule = self.logical(f"{service}ProdRule")
        conditions = self.stack.resources[rule].properties["Conditions"] if rule else []
        wanted = {"host-header": "www.example.com", "path-pattern": "/"}
        for condition in conditions:
            config = "HostHeaderConfig" if condition["Field"] == "host-header" else "PathPatternConfig"
            values = (condition.get(config) or {}).get("Values") or condition.get("Values")
            wanted[condition["Field"]] = values[0].replace("*", "x").replace("?", "x")
        return wanted["host-header"], wanted["path-pattern"]

    def logical(self, prefix: str) -> str | None:
        """The logical id of the stack's resource whose id starts with ``prefix`` + 8 hex digits (CDK's hash)."""
        found = [x for x in self.stack.resources if x.startswith(prefix) and len(x) == len(prefix) + 8]
        return found[0] if found else None

    def target_group(self, service: str, colour: str) -> str:
        """The ARN of ``service``'s "Blue" or "Green" target group."""
        logical = self.logical(f"{service}{colour}TargetGroup")
        assert logical is not None
        return self.stack.resources[logical].physical_id

    def check(self, service: str = "Web") -> None:
        """Production traffic of ``service`` reaches its own running tasks only: it is forwarded, to the service's
        own target groups, and every target group with weight holds tasks (a fixed 404 without the rule that
        forwards, as in the middle of an engine switch, fails too; so does another service's rule taking the
        service's requests on a shared listener)."""
        weights = self.production(service)
        assert sum(weights.values()) > 0, f"production of {service} is forwarded nowhere\n{self.aws.log()}"
        own = {self.target_group(service, "Blue"), self.target_group(service, "Green")}
        for arn, weight in weights.items():
            assert weight == 0 or arn in own, (
                f"production of {service} sends {weight} to {self.name(arn)}, not its own\n{self.aws.log()}"
            )
            assert weight == 0 or self.aws.running_tasks(arn) > 0, (
                f"production sends {weight} to {self.name(arn)}, which holds no running task\n{self.aws.log()}"
            )

    def services(self) -> list[str]:
        """The construct ids of the stack's services (those with a blue target group and an ECS service)."""
        suffix = "BlueTargetGroup"
        named = [x[: -len(suffix) - 8] for x in self.stack.resources if x[:-8].endswith(suffix)]
        return sorted(x for x in named if self.logical(f"{x}Service") is not None)

    def check_all(self) -> None:
        """``check`` for every service of the stack."""
        for service in self.services():
            self.check(service)

    def _unpermitted(self, called: list[str]) -> list[str]:
        """IAM actions among ``called`` that no policy of the provider function's role allows, in the template
        CloudFormation is applying (action level only, wildcards as IAM matches them,
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html; resources are
        not compared)."""
        resources = self.stack.template["Resources"]
        [function] = [x for x in resources if x.startswith("BlueGreenEcsDeploymentTriggerHandler") and len(x) == 44]
        role = resources[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        allowed: list[str] = []
        for resource in resources.values():
            if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"].get("Roles", []):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    actions = statement["Action"]
                    allowed += [actions] if isinstance(actions, str) else actions
        return sorted({x for x in called if not any(fnmatch.fnmatchcase(x, pattern) for pattern in allowed)})

    def name(self, arn: str) -> str:
        """ "blue"/"green" for a target group of the stack, for readable messages."""
        for logical, resource in self.stack.resources.items():
            if resource.physical_id == arn:
                return logical
        return arn


@contextmanager
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A fresh account whose provider function is the real handler, on the model's clients and clock."""
    aws = Aws()
    started: list[dict[str, Any]] = []
    fakes = {
        "elbv2": clients.elbv2(aws),
        "ecs": clients.ecs(aws),
        "codedeploy": clients.codedeploy_client(aws),
        "stepfunctions": clients.stepfunctions(aws, started),
    }
    stack = Stack(Handlers(aws, fakes["ecs"]), invoke_custom=lambda *a: ("SUCCESS", "", "", {}))
    simulated = World(aws, stack, started)
    stack.invoke_custom = simulated.invoke
    stack.observer = simulated.check_all

    def clock() -> Any:
        return aws.now

    # Every client the handler modules create comes from here, and the provider is built on the model's clock.
    monkeypatch.setattr(handler_aws, "client", lambda name, *a, **k: fakes[name])
    provider = custom_resource.CustomResourceHandler(
        deployment.DeploymentHandler(fakes["codedeploy"], fakes["ecs"], clock=clock),
        fakes["stepfunctions"],
        put=simulated.put,
        clock=clock,
        sleep=lambda seconds: aws.advance(seconds),
    )
    monkeypatch.setattr(custom_resource, "_default_resource", lambda: provider)
    yield simulated
