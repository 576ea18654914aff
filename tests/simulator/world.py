"""One simulated account: the model, its clients, CloudFormation, and the real custom resource handler.

CloudFormation invokes the stack's provider function (``blue_green_ecs.handlers.custom_resource.handler``)
with the request it documents
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-requests.html): every scalar of
ResourceProperties arrives as a string. The answer is the body the handler PUTs to the ResponseURL, read as
CloudFormation reads it. When the handler starts the waiter state machine, the waiter's polls are run here,
synchronously, 15 s of model time apart (the state machine's Wait).

CloudFormation invokes the function asynchronously
(https://docs.aws.amazon.com/lambda/latest/dg/services-cloudformation.html): Lambda runs it again after a function
error, a timeout included, twice, one and then two minutes later
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), and stops an invocation at
the function's Timeout. A request with no answer within the resource's ServiceTimeout fails (``TIMED_OUT``); what
a hung invocation would still do after that is not played. ``hang``, ``unreachable_response_url``,
``propagate_iam`` and ``deny`` make the function's calls hang, its answers fail, or IAM deny them.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from blue_green_ecs.handlers import aws as handler_aws
from blue_green_ecs.handlers import custom_resource, deployment, lifecycle_hook

from ..authorization.account import Created, role_policies_in_account
from ..authorization.calls import Call, denials
from ..authorization.policy import Request, evaluate
from . import clients, hook_clients, hooks, tasks
from .aws import ACCOUNT, REGION, Aws, AwsError, weights_of
from .cloudformation import TIMED_OUT, CustomResponse, Stack, timed_out_reason
from .resources import Handlers, Resource

OUR_TYPES = ("Custom::BlueGreenEcsDeployment", "Custom::BlueGreenEcsLiveState", "Custom::BlueGreenEcsPinnedService")
POLL_SECONDS = 15
MAX_POLLS = 4 * 60  # an hour of polls: CloudFormation's limit for a custom resource
# Lambda's waits before its two retries of an asynchronous invocation that failed
LAMBDA_RETRY_SECONDS = (60, 120)
# What a call to an endpoint that never answers costs before botocore gives up (handlers/aws.py's CLIENT_CONFIG):
# 6 attempts of the 20 s read timeout, and at most 1 + 2 + 4 + 8 + 16 s of backoff between them.
BOTOCORE_GIVES_UP_SECONDS = 6 * 20 + 31
# urllib's timeout of each PUT to the ResponseURL (handlers/cfn_response.py)
PUT_TIMEOUT_SECONDS = 20


class FunctionTimedOut(BaseException):
    """Lambda stops the invocation at the function's Timeout: nothing of the handler runs on (hence not an
    Exception, which the handler would catch)."""


def _iam_action(model: Any) -> str:
    """The IAM action of a botocore operation model, e.g. ``elasticloadbalancing:DescribeListeners``."""
    return f"{model.service_model.signing_name}:{model.name}"


def _allows(policy: Mapping[str, Any], action: str) -> bool:
    """Whether an AWS::IAM::Policy's document allows ``action`` (action level only, wildcards as IAM matches them:
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html)."""
    for statement in policy.get("PolicyDocument", {}).get("Statement", []):
        actions = statement.get("Action", [])
        patterns = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") == "Allow" and any(fnmatch.fnmatchcase(action, p) for p in patterns):
            return True
    return False


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
    # every call IAM denied, explained: who made it, with which role, and the statement that is missing
    denied: list[str] = field(default_factory=list)
    _policies: tuple[tuple[Any, ...], dict[str, list[dict[str, Any]]]] | None = None
    request_ids: Iterator[int] = field(default_factory=lambda: iter(range(1, 1_000_000)))
    # the function's invocations that failed ("<RequestType> <logical id>: <error>"), each retried by Lambda
    function_errors: list[str] = field(default_factory=list)
    # IAM shows a policy version this long after CloudFormation wrote it (``propagate_iam``)
    iam_propagation: timedelta = timedelta(0)
    # actions a service control policy denies the function (``deny``)
    denied_by_scp: set[str] = field(default_factory=set)
    # IAM action -> how its calls never answer: "function" (past the function's Timeout) or "botocore"
    hanging: dict[str, str] = field(default_factory=dict)
    response_url_unreachable: bool = False
    # the AccessDenied messages of the calls ``propagate_iam`` and ``deny`` refused
    refused: list[str] = field(default_factory=list)
    _hooked: bool = False
    # the model's botocore clients by service name (the CLI's and the hooks' too)
    clients: dict[str, Any] = field(default_factory=dict)

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
            "StackId": self.stack.stack_id,
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
        # CloudFormation waits ServiceTimeout seconds for the answer (the default and the maximum: an hour).
        deadline = self.aws.now + timedelta(seconds=int(props.get("ServiceTimeout", 3600)))
        self.aws.caller = "handler"
        try:
            self._deliver(event, deadline)
            waiter = [x for x in self.started if x["name"] == custom_resource.execution_name(request_id)]
            if waiter:
                self._run_waiter(json.loads(waiter[0]["input"]))
        finally:
            self.aws.caller = "cloudformation"
        answers = self.puts[before:]
        assert len(answers) <= 1, f"{resource.logical_id} {request_type}: {len(answers)} answers to CloudFormation"
        if not answers or self.aws.now > deadline:
            if self.aws.now < deadline:
                self.aws.advance((deadline - self.aws.now).total_seconds())
            return TIMED_OUT, timed_out_reason(request_id), resource.physical_id, {}
        [answer] = answers
        return answer["Status"], answer.get("Reason", ""), answer["PhysicalResourceId"], answer.get("Data") or {}

    def _deliver(self, event: Mapping[str, Any], deadline: datetime) -> None:
        """Lambda's asynchronous invocation of the provider function: again after a function error (a timeout
        included), at most twice, while CloudFormation still waits for the answer."""
        self._hook_clients()
        for wait in (0, *LAMBDA_RETRY_SECONDS):
            if wait:
                if self.aws.now + timedelta(seconds=wait) >= deadline:
                    return
                self.aws.advance(wait)
            started = self.aws.now
            try:
                custom_resource.handler(event, None)
                return
            except FunctionTimedOut:
                end = min(started + timedelta(seconds=self._function_timeout()), deadline)
                if self.aws.now < end:
                    self.aws.advance((end - self.aws.now).total_seconds())
                error = "Task timed out"
            except AssertionError:  # the model's own checks fail the test, they are no function error
                raise
            except Exception as exc:  # a function error: Lambda retries the invocation
                error = f"{type(exc).__name__}: {exc}"
            self.function_errors.append(f"{event['RequestType']} {event['LogicalResourceId']}: {error}")
            if self.aws.now >= deadline:
                return

    def _function_timeout(self) -> int:
        """The provider function's Timeout in seconds, as the stack created it."""
        [timeout] = [
            int(r.properties.get("Timeout", 3))
            for r in self.stack.resources.values()
            if r.type == "AWS::Lambda::Function" and r.properties.get("Handler") == "custom_resource.handler"
        ]
        return timeout

    # ---- failures of the function's calls and answers ----------------------------------------------------

    def hang(self, action: str, *, past_the_function_timeout: bool) -> None:
        """The function's calls of ``action`` never answer. Past the function's Timeout: Lambda stops every
        invocation that makes one; otherwise botocore gives up after its read timeouts and raises
        ReadTimeoutError, as it does when an endpoint never answers."""
        self.hanging[action] = "function" if past_the_function_timeout else "botocore"

    def unreachable_response_url(self) -> None:
        """Every PUT of an answer to CloudFormation's presigned S3 URL times out ("If they can't send responses to
        Amazon S3, CloudFormation won't receive a response and the stack operation fails": the CustomResource
        reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudformation-customresource.html)."""
        self.response_url_unreachable = True

    def propagate_iam(self, seconds: float) -> None:
        """IAM shows each version of the provider role's policies ``seconds`` after CloudFormation wrote it, and
        until then the previous one, or none ("Changes that I make are not always immediately visible", IAM User
        Guide, https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency):
        a call its policies allow only in a version IAM does not show yet is denied (action level)."""
        self.iam_propagation = timedelta(seconds=seconds)

    def deny(self, *actions: str) -> None:
        """A service control policy denies the provider function ``actions`` (patterns): an explicit deny wins over
        any allow (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html)."""
        self.denied_by_scp |= set(actions)

    def _hook_clients(self) -> None:
        """Have the provider function's clients consult ``_before_call`` before each call is answered."""
        if self._hooked:
            return
        self._hooked = True
        for name in ("elbv2", "ecs", "codedeploy", "stepfunctions"):
            fake = handler_aws.client(name)

            def before(model: Any, fake: Any = fake, **_: Any) -> None:
                self._before_call(fake, model)

            # Emitted before the parameters are built, so a denied call reaches neither the model nor IAM's.
            fake.meta.events.register("provide-client-params.*.*", before)

    def _before_call(self, client: Any, model: Any) -> None:
        if self.aws.caller != "handler" or not (self.hanging or self.denied_by_scp or self.iam_propagation):
            return
        action = _iam_action(model)
        how = next((h for pattern, h in self.hanging.items() if fnmatch.fnmatchcase(action, pattern)), None)
        if how == "function":
            raise FunctionTimedOut(action)
        if how == "botocore":
            self.aws.advance(BOTOCORE_GIVES_UP_SECONDS)
            raise ReadTimeoutError(
                endpoint_url=f"https://{model.service_model.endpoint_prefix}.{REGION}.amazonaws.com/"
            )
        role = self.provider_role()
        caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role.rsplit('/', 1)[-1]}/provider"
        # IAM's wording (https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)
        if any(fnmatch.fnmatchcase(action, pattern) for pattern in self.denied_by_scp):
            why = "with an explicit deny in a service control policy"
        elif self._not_yet_visible(role, action):
            why = f"because no identity-based policy allows the {action} action"
        else:
            return
        code, status = (
            ("AccessDenied", 403) if model.service_model.protocol == "query" else ("AccessDeniedException", 400)
        )
        message = f"User: {caller} is not authorized to perform: {action} {why}"
        self.refused.append(message)
        error = {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}
        raise client.exceptions.from_code(code)(error, model.name)

    def _not_yet_visible(self, role_arn: str, action: str) -> bool:
        """Whether the provider role's policies allow ``action`` only in versions IAM does not show yet."""
        if not self.iam_propagation:
            return False
        role, shown_until = role_arn.rsplit("/", 1)[-1], self.aws.now - self.iam_propagation
        allowed = shown = False
        for logical, resource in self.stack.resources.items():
            if resource.type != "AWS::IAM::Policy" or role not in resource.properties.get("Roles", []):
                continue
            allowed = allowed or _allows(resource.properties, action)
            visible = [props for at, props in self.stack.history.get(logical, []) if at <= shown_until]
            shown = shown or bool(visible and _allows(visible[-1], action))
        return allowed and not shown

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
        if self.response_url_unreachable:
            self.aws.advance(PUT_TIMEOUT_SECONDS)
            raise TimeoutError("timed out")  # urllib's socket timeout, an OSError
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
        # a pair being replaced (a create-only property changed) is the service's until the cleanup deletes it
        own |= {
            r.physical_id
            for r in self.stack.replaced
            if any(r.logical_id == self.logical(f"{service}{colour}TargetGroup") for colour in ("Blue", "Green"))
        }
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

    # ---- IAM ----------------------------------------------------------------------------------------------

    def policies(self) -> dict[str, list[dict[str, Any]]]:
        """Role ARN -> policy documents of every role the stack has created, as created so far."""
        iam = [r for r in self.stack.resources.values() if r.type.startswith("AWS::IAM::")]
        key = tuple((r.logical_id, id(r), id(r.properties)) for r in iam)
        if self._policies is None or self._policies[0] != key:
            created = [Created(r.type, r.physical_id, r.properties, r.attributes) for r in iam]
            self._policies = (key, role_policies_in_account(created))
        return self._policies[1]

    def provider_role(self) -> str:
        """The ARN of the role the provider function (the real handler) runs with."""
        [role] = [
            str(r.properties["Role"])
            for r in self.stack.resources.values()
            if r.type == "AWS::Lambda::Function" and r.properties.get("Handler") == "custom_resource.handler"
        ]
        return role

    def authorize(self, role_arn: str, made_by: str, requests: Sequence[Request]) -> list[str]:
        """IAM's decision on ``requests`` made with ``role_arn`` (by an AWS service): each denial, explained, is
        recorded in ``denied`` and returned."""
        documents = self.policies().get(role_arn)
        if documents is None:
            refused = [f"{made_by}: {role_arn} is not a role of the account (not created, or deleted)"]
        else:
            decisions = [evaluate(documents, r) for r in requests]
            refused = [f"{made_by} with {role_arn}: {d.explain()}" for d in decisions if not d.allowed]
        self.denied += refused
        return refused

    def authorize_call(self, service_model: Any, operation: str, params: Mapping[str, Any]) -> None:
        """A client call of the provider function or of a hook function (hooks.py), authorized against its role's
        policies as created so far: AccessDenied, as the service answers it, when IAM denies it."""
        if self.aws.caller == "handler":
            role, who = self.provider_role(), "the provider function"
        elif self.aws.caller.startswith(hooks.CALLER_PREFIX):
            role, who = hooks.role_of(self, self.aws.caller), self.aws.caller
        else:
            return
        groups = {d.id: (d.group.application, d.group.name) for d in self.aws.deployments.values()}
        configs = {(g.application, g.name): g.config_name for g in self.aws.groups.values()}
        named = (str(params.get("applicationName")), str(params.get("deploymentGroupName")))
        # The roles each registered task definition names (RunTask passes them to ECS tasks).
        task_roles = {arn: tuple(roles) for arn, roles in self.aws.task_definition_roles.items()}
        call = Call.of(
            service_model,
            operation,
            params,
            REGION,
            ACCOUNT,
            deployment_groups=groups,
            deployment_config=configs.get(named),
            task_roles=task_roles,
        )
        documents = self.policies().get(role)
        refused = denials(documents, call) if documents is not None else [f"{role} is not a role of the account"]
        if refused:
            self.denied += [f"{who} with {role}: {x}" for x in refused]
            code = "AccessDenied" if service_model.service_name == "elbv2" else "AccessDeniedException"
            raise AwsError(code, " ".join(refused))

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

    def of_type(kind: str) -> list[Resource]:
        return [r for r in stack.resources.values() if r.type == kind]

    # The built-in hooks' clients (lifecycle_hook.hook_client) and CodeDeploy's reports answer from the model too.
    fakes["cloudwatch"] = hook_clients.cloudwatch(
        aws,
        lambda: [r.physical_id for r in of_type("AWS::CloudWatch::Alarm") + of_type("AWS::CloudWatch::CompositeAlarm")],
    )
    fakes["ssm"] = hook_clients.ssm(aws)
    fakes["lambda"] = tasks.lambda_client(aws)
    fakes["logs"] = hook_clients.logs(aws)
    fakes["ec2"] = hook_clients.ec2(
        aws, lambda: {r.physical_id: str(r.properties.get("CidrBlock")) for r in of_type("AWS::EC2::Subnet")}
    )
    monkeypatch.setattr(lifecycle_hook, "hook_client", lambda name: fakes[name])
    monkeypatch.setattr(lifecycle_hook, "_default_client", lambda: fakes["codedeploy"])
    aws.invoke_function = lambda function, event: hooks.run(simulated, function, event)
    simulated.clients = fakes

    def clock() -> Any:
        return aws.now

    # Every client the handler modules create comes from here, and the provider is built on the model's clock.
    monkeypatch.setattr(handler_aws, "client", lambda name, *a, **k: fakes[name])
    provider = custom_resource.CustomResourceHandler(
        deployment.DeploymentHandler(fakes["codedeploy"], fakes["ecs"], clock=clock, sleep=aws.advance),
        fakes["stepfunctions"],
        put=simulated.put,
        clock=clock,
        sleep=lambda seconds: aws.advance(seconds),
    )
    monkeypatch.setattr(custom_resource, "_default_resource", lambda: provider)
    aws.authorize_call, aws.authorize = simulated.authorize_call, simulated.authorize
    yield simulated
    # Every call anyone made in this account, the provider function and AWS's services on the stack's roles,
    # is one IAM allows.
    assert simulated.denied == [], "\n".join(simulated.denied)
