"""Every AWS call a handler test makes is authorized the way IAM would authorize it for the function's role.

The handler tests answer AWS with botocore's Stubber; that checks the parameters against the service model, not
whether the function's role may make the call. The autouse fixture here sees every call of every botocore client
(it wraps ``BaseClient._make_api_call``, which every client method and paginator goes through before any event
handler, the Stubber's included, so a call whose Stubber error the code swallows is seen too), translates it into
IAM's requests (tests/authorization/calls.py) and evaluates them against the synthesized identity policies of the
role the module's handler runs as (``ROLE_OF_MODULE``). A call that is not modelled, not in the role's list of
operations (``calls.ROLE_OPERATIONS``) or denied fails the test with IAM's explanation: the code under test never
sees the check (it may catch every exception), the test's result does.

Which role: ``ROLE_OF_MODULE`` names the role kind per test module; the engine is the one the code runs under,
seen by the fixture as it happens (``lifecycle_hook`` dispatching a CodeDeploy or an Amazon ECS event, the
live-state lookup's ``Engine``). A call made outside both (a test calling ``route`` or ``check_alarms`` directly)
is evaluated under every engine whose list has the operation: the code is the same under either. Each (role kind,
engine) is read from one representative configuration (``ROLE_IN_TEMPLATE``), synthesized once per session.

The handler tests use their own ARNs (account 123456789012, cluster ``shop``), not the template's, so the policies
are resolved with ``roles.resolver_for(template, names="wildcard")``: every name, id, region and account part is
``*``. What this checks is the action, the resource type and the condition keys; the exact ARNs are checked by the
deployment-lifecycle simulator.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from aws_cdk.assertions import Template
from botocore.client import BaseClient

from blue_green_ecs.handlers import lifecycle_hook, live_lookup, migration

from ..authorization.calls import CODE_DEPLOY, ECS_NATIVE, ENGINES, ROLE_IN_TEMPLATE, Call, denials, operations_of
from ..authorization.roles import resolver_for, role_documents
from ..simulator.aws import ACCOUNT

# Test module -> the role kind (calls.ROLE_OPERATIONS) its handler runs as; None: the module makes no AWS call.
ROLE_OF_MODULE: dict[str, str | None] = {
    "test_aws": "deployment_trigger",  # the trigger's clients and their retries, exercised with ListDeployments
    "test_custom_resource": "deployment_trigger",
    "test_deployment_handler": "deployment_trigger",
    "test_live_lookup": "deployment_trigger",
    "test_rollback_reason": "deployment_trigger",
    "test_hook_reason": "deployment_trigger",
    "test_request": None,
    "test_lifecycle_hook": "lifecycle_hook",
    "test_preflight": "preflight",
    "test_smoke_test": "smoke_test",
    "test_test_traffic_router": "test_traffic_router",
    "test_moto_step_analysis": "step_analysis",
    "test_migration": "migration",
    "test_moto_migration": "migration",
    # The same handlers against moto's worlds (tests/moto_worlds.py, issue #21).
    "test_moto_live_lookup": "deployment_trigger",
    "test_moto_deployment": "deployment_trigger",
    "test_moto_rollback_reason": "deployment_trigger",
    "test_moto_preflight": "preflight",
    "test_moto_smoke_test": "smoke_test",
    "test_moto_test_traffic_router": "test_traffic_router",
}


@dataclass(frozen=True)
class RolePolicies:
    """A role's identity policies (wildcard-resolved) and, for CreateDeployment, its template's deployment config."""

    name: str
    documents: list[dict[str, Any]]
    deployment_config: str | None = None


RoleLoader = Callable[[str, str], RolePolicies]


def role_policies(template: Mapping[str, Any], prefix: str, where: str) -> RolePolicies:
    """The policies of the one AWS::IAM::Role of ``template`` whose logical id is ``prefix`` and CDK's hash."""
    resources: Mapping[str, Any] = template["Resources"]
    found = [
        logical
        for logical, resource in resources.items()
        if resource["Type"] == "AWS::IAM::Role" and re.fullmatch(f"{prefix}[0-9A-F]{{8}}", logical)
    ]
    if len(found) != 1:
        raise KeyError(f"{where} has {len(found)} roles {prefix}<hash>: {found}")
    resolve = resolver_for(template, names="wildcard")
    groups = [r for r in resources.values() if r["Type"] == "AWS::CodeDeploy::DeploymentGroup"]
    config = resolve(groups[0]["Properties"].get("DeploymentConfigName")) if len(groups) == 1 else None
    return RolePolicies(f"{found[0]} of {where}", role_documents(template, found[0], resolve), config)


@pytest.fixture(scope="session")
def _role_cache() -> dict[tuple[str, str], RolePolicies]:
    return {}


@pytest.fixture
def handler_role_policies(
    request: pytest.FixtureRequest, _role_cache: dict[tuple[str, str], RolePolicies]
) -> RoleLoader:
    """(role kind, engine) -> the role's policies, read from its configuration on first use in the session."""

    def load(kind: str, engine: str) -> RolePolicies:
        if (kind, engine) not in _role_cache:
            if (kind, engine) not in ROLE_IN_TEMPLATE:
                raise KeyError(f"ROLE_IN_TEMPLATE names no configuration for the {kind} role under {engine}")
            fixture, prefix = ROLE_IN_TEMPLATE[kind, engine]
            synthesized = request.getfixturevalue(fixture)
            template = synthesized if isinstance(synthesized, Template) else synthesized.template
            _role_cache[kind, engine] = role_policies(template.to_json(), prefix, fixture)
        return _role_cache[kind, engine]

    return load


@pytest.fixture
def handler_role_kind(request: pytest.FixtureRequest) -> str | None:
    """The role kind of the test's module (``ROLE_OF_MODULE``)."""
    module = request.module.__name__.rsplit(".", 1)[-1]
    if module not in ROLE_OF_MODULE:
        pytest.fail(
            f"tests/handlers/conftest.py: ROLE_OF_MODULE has no entry for {module}: name the role kind its handler "
            "runs as (tests/authorization/calls.py ROLE_OPERATIONS), or None when it makes no AWS call",
            pytrace=False,
        )
    return ROLE_OF_MODULE[module]


@dataclass
class CallChecker:
    """Authorizes each observed call for role ``kind``; collects what IAM would refuse (never raises into the code)."""

    kind: str | None
    policies: RoleLoader
    account: str = ACCOUNT
    engine: str | None = None
    calls: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @contextmanager
    def running_under(self, engine: str) -> Iterator[None]:
        """Calls made inside are made by the role under ``engine``."""
        outer, self.engine = self.engine, engine
        try:
            yield
        finally:
            self.engine = outer

    def observe(self, client: Any, operation: str, params: Mapping[str, Any]) -> None:
        """Check one call of ``client``'s ``operation`` (API name) with ``params``."""
        region = str(client.meta.region_name or "us-east-1")
        call = Call.of(client.meta.service_model, operation, params, region, self.account)
        self.calls.append(call.action)
        try:
            self.problems.extend(self.check(call))
        except Exception as exc:  # a call the model cannot translate fails the test, not the code under test
            self.problems.append(f"{call.action}: {type(exc).__name__}: {exc}")

    def check(self, call: Call) -> list[str]:
        """What is wrong with ``call`` for this role: unlisted, or each denied requirement with IAM's explanation."""
        if self.kind is None:
            return [f"{call.action}: this test module makes no AWS call (ROLE_OF_MODULE says None)"]
        action = call.action.lower()
        listed = [e for e in ENGINES if action in (a.lower() for a in operations_of(self.kind, e))]
        engines = [self.engine] if self.engine else listed
        if not engines or (self.engine and self.engine not in listed):
            where = f"under {self.engine}" if self.engine else "under any engine"
            return [f"{call.action} is not in ROLE_OPERATIONS[{self.kind!r}] {where} (tests/authorization/calls.py)"]
        out = []
        for engine in engines:
            role = self.policies(self.kind, engine)
            for denial in denials(role.documents, replace(call, deployment_config=role.deployment_config)):
                out.append(f"{call.action} by {role.name} ({self.kind}, {engine}): {denial}")
        return out

    def report(self) -> str:
        """The problems, one paragraph each."""
        return "IAM would not authorize this test's AWS calls:\n" + "\n".join(f"- {p}" for p in self.problems)


_CHECKER = pytest.StashKey[CallChecker]()


@pytest.fixture(autouse=True)
def authorized_aws_calls(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    handler_role_kind: str | None,
    handler_role_policies: RoleLoader,
) -> Iterator[CallChecker]:
    """Check every AWS call of the test against its role's synthesized policies (see the module docstring)."""
    checker = CallChecker(handler_role_kind, handler_role_policies)
    request.node.stash[_CHECKER] = checker
    make_api_call = BaseClient._make_api_call

    def checked(client: Any, operation_name: str, api_params: Mapping[str, Any]) -> Any:
        checker.observe(client, operation_name, api_params)
        return make_api_call(client, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", checked)
    _watch_engines(checker, monkeypatch)
    yield checker
    reported = request.node.stash.get(_REPORTED, 0)
    if len(checker.problems) > reported:  # calls made after the test body, by fixtures' teardown
        pytest.fail(checker.report(), pytrace=False)


_REPORTED = pytest.StashKey[int]()


def _watch_engines(checker: CallChecker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tell ``checker`` the engine the code runs under: a hook's event, the live-state lookup's Engine."""
    # The hooks' dispatch on their event: lifecycle_hook's, and the migration's own (it answers both engines).
    for module in (lifecycle_hook, migration):
        for engine, name in ((CODE_DEPLOY, "_codedeploy"), (ECS_NATIVE, "_ecs")):
            dispatch = getattr(module, name)

            def under(*args: Any, _dispatch: Any = dispatch, _engine: str = engine) -> Any:
                with checker.running_under(_engine):
                    return _dispatch(*args)

            monkeypatch.setattr(module, name, under)
    data = live_lookup.LiveStateLookup.data

    def lookup(self: Any, new: live_lookup.LookupProperties, *args: Any, **kwargs: Any) -> Any:
        with checker.running_under(new.engine):
            return data(self, new, *args, **kwargs)

    monkeypatch.setattr(live_lookup.LiveStateLookup, "data", lookup)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A test whose body passed fails when IAM would have refused one of its calls."""
    result = yield
    checker = item.stash.get(_CHECKER, None)
    if checker is not None and checker.problems:
        item.stash[_REPORTED] = len(checker.problems)
        pytest.fail(checker.report(), pytrace=False)
    return result
