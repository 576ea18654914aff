"""The AWS state the simulator keeps: ELBv2 listeners, rules and target groups, ECS services, CodeDeploy.

Only what decides where traffic goes and which tasks run is modelled. Tasks are counted, not named: a task
set (CODE_DEPLOY) or a service revision (ECS) runs ``desiredCount x scale`` tasks registered in its target
group. Time is the model's clock; ``advance`` moves it and lets deployments progress.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
T0 = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)

# UpdateService API reference: "For services using the blue/green (CODE_DEPLOY) deployment controller, only the
# desired count, deployment configuration, health check grace period, task placement constraints and strategies,
# enable ECS managed tags option, and propagate tags can be updated using this API. If the network configuration,
# platform version, task definition, or load balancer need to be updated, create a new CodeDeploy deployment."
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
# The error texts are ECS's as users report them (hashicorp/terraform-provider-aws #8005, #13473, boto/boto3 #1936;
# the load balancers' in kayac/ecspresso #393, whose tool sent UpdateService the loadBalancers of its unchanged
# service definition: "InvalidParameterException: Unable to update load balancers on services with a CODE_DEPLOY
# deployment controller. Use AWS CodeDeploy to trigger a new deployment.").
CODE_DEPLOY_REFUSALS = {
    "networkConfiguration": "network parameters",
    "platformVersion": "network parameters",
    "capacityProviderStrategy": "network parameters",
    "taskDefinition": "task definition",
    "loadBalancers": "load balancers",
    "serviceRegistries": "service registries",  # by analogy too (the construct refuses Cloud Map with CODE_DEPLOY)
}


# What DescribeServices answers for a CODE_DEPLOY service after CodeDeploy made a new task set PRIMARY: the task set's
# values, not the ones the service was created (or last updated) with. Documented in general: CodeDeploy makes its
# replacement task set primary with UpdateServicePrimaryTaskSet (its service role's AWSCodeDeployRoleForECS allows it,
# tests/authorization/service_calls.py), and "Any parameters that are updated on the primary task set in a service
# will transition to the service" (ECS API Reference, UpdateServicePrimaryTaskSet,
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateServicePrimaryTaskSet.html), which does not list
# the parameters. Reported for the load balancers (the target group swaps with every deployment: kayac/ecspresso #936
# and the fix that ignores it, #943; hashicorp/terraform-provider-aws #7315; cloudposse/terraform-aws-ecs-alb-service-
# task #148) and the task definition (hashicorp/terraform-provider-aws #632; CloudFormation's own drift detection,
# aws-cloudformation/cloudformation-coverage-roadmap #2234); moto 5.2.5 moves exactly these two. Assumed (no report
# found either way) for the network configuration, platform version and capacity provider strategy: the documented
# "any parameters", and the worse case for a template that must not write them back.
FOLLOW_THE_PRIMARY_TASK_SET = (
    "taskDefinition",
    "loadBalancers",
    "networkConfiguration",
    "platformVersion",
    "capacityProviderStrategy",
)


def code_deploy_refusal(what: str) -> str:
    """ECS's InvalidParameterException message for a refused UpdateService parameter."""
    return (
        f"Unable to update {what} on services with a CODE_DEPLOY deployment controller. "
        "Use AWS CodeDeploy to trigger a new deployment."
    )


class AwsError(Exception):
    """An AWS API error: the fake clients answer it as botocore's ClientError with this code and message."""

    def __init__(self, code: str, message: str) -> None:
        """``code`` is the API's error code, ``message`` its text."""
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def forward(target_group_arn: str) -> dict[str, Any]:
    """A forward action to one target group, as DescribeListeners returns it.

    ELBv2 answers a single-target-group forward with both TargetGroupArn and a ForwardConfig of weight 1
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_Action.html).
    """
    return {
        "Type": "forward",
        "TargetGroupArn": target_group_arn,
        "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": target_group_arn, "Weight": 1}]},
    }


def weighted(weights: Mapping[str, int]) -> dict[str, Any]:
    """A weighted forward action (ForwardConfig only), as CodeDeploy and ECS write it while shifting traffic."""
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}


def weights_of(actions: list[dict[str, Any]]) -> dict[str, int]:
    """Target group -> weight of the forward action among ``actions`` (empty for no forward)."""
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            return {group["TargetGroupArn"]: int(group.get("Weight", 1)) for group in groups}
        return {action["TargetGroupArn"]: 1}
    return {}


def matches(condition: Mapping[str, Any], host: str, path: str, headers: Mapping[str, str] | None = None) -> bool:
    """Whether a request matches one rule condition: any of its values, with the wildcards * and ?; host names
    and HTTP header names and values compare without case, paths with case
    (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html). Only the
    conditions the construct writes are modelled."""
    field_ = condition["Field"]
    config = {
        "host-header": "HostHeaderConfig",
        "path-pattern": "PathPatternConfig",
        "http-header": "HttpHeaderConfig",
    }.get(field_)
    assert config is not None, f"the simulator does not model the rule condition {field_!r}"
    values = (condition.get(config) or {}).get("Values") or condition.get("Values") or []
    if field_ == "host-header":
        return any(_wildcard(value.lower()).fullmatch(host.lower()) for value in values)
    if field_ == "http-header":
        name = condition[config]["HttpHeaderName"].lower()
        sent = {key.lower(): value for key, value in (headers or {}).items()}.get(name)
        return sent is not None and any(_wildcard(value.lower()).fullmatch(sent.lower()) for value in values)
    return any(_wildcard(value).fullmatch(path) for value in values)


def _wildcard(pattern: str) -> re.Pattern[str]:
    """ELBv2's wildcards: * any characters, ? one; nothing else is special."""
    return re.compile("".join({"*": ".*", "?": "."}.get(c, re.escape(c)) for c in pattern), re.DOTALL)


@dataclass
class Listener:
    arn: str
    load_balancer_arn: str
    port: int
    protocol: str
    actions: list[dict[str, Any]]
    certificates: list[str] = field(default_factory=list)
    ssl_policy: str | None = None


@dataclass
class Rule:
    arn: str
    listener_arn: str
    priority: str
    actions: list[dict[str, Any]]
    conditions: list[dict[str, Any]]


@dataclass
class TaskSet:
    """A CODE_DEPLOY task set, or (ECS controller) a service revision: tasks registered in one target group."""

    id: str
    status: str  # PRIMARY or ACTIVE
    task_definition: str
    target_group: str
    network: dict[str, Any]
    platform_version: str
    container: tuple[str, int]
    scale: float = 100.0
    capacity_provider_strategy: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, service: Service) -> dict[str, Any]:
        """The task set as DescribeServices returns it (taskSets[])."""
        return {
            "id": self.id,
            "taskSetArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-set/{service.cluster}/{service.name}/{self.id}",
            "status": self.status,
            "taskDefinition": self.task_definition,
            "networkConfiguration": self.network,
            "platformVersion": self.platform_version,
            "loadBalancers": [
                {
                    "targetGroupArn": self.target_group,
                    "containerName": self.container[0],
                    "containerPort": self.container[1],
                }
            ],
            "capacityProviderStrategy": self.capacity_provider_strategy,
            "scale": {"value": self.scale, "unit": "PERCENT"},
            "runningCount": service.tasks(self),
        }


@dataclass
class Service:
    arn: str
    name: str
    cluster: str
    controller: str
    desired_count: int
    task_definition: str
    network: dict[str, Any]
    platform_version: str
    load_balancers: list[dict[str, Any]]
    task_sets: list[TaskSet]
    status: str = "ACTIVE"
    capacity_provider_strategy: list[dict[str, Any]] = field(default_factory=list)
    deployment_configuration: dict[str, Any] = field(default_factory=dict)
    managed_tags: bool = False  # enableECSManagedTags
    service_registries: list[dict[str, Any]] = field(default_factory=list)

    def tasks(self, task_set: TaskSet) -> int:
        """Running tasks of a task set: its scale of the desired count, rounded up as ECS does
        (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Scale.html)."""
        return math.ceil(self.desired_count * task_set.scale / 100)

    def describe(self) -> dict[str, Any]:
        """The service as DescribeServices returns it.

        The fields hold what CreateService and UpdateService set (CloudFormation's values). A CODE_DEPLOY service
        is described with its PRIMARY task set's instead (``FOLLOW_THE_PRIMARY_TASK_SET``).
        """
        described = {
            "serviceArn": self.arn,
            "serviceName": self.name,
            "clusterArn": f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{self.cluster}",
            "status": self.status,
            "desiredCount": self.desired_count,
            "runningCount": sum(self.tasks(task_set) for task_set in self.task_sets),
            "taskDefinition": self.task_definition,
            "deploymentController": {"type": self.controller},
            "networkConfiguration": self.network,
            "platformVersion": self.platform_version,
            "loadBalancers": self.load_balancers,
            "capacityProviderStrategy": self.capacity_provider_strategy,
            "enableECSManagedTags": self.managed_tags,
            "serviceRegistries": self.service_registries,
        }
        if self.controller == "CODE_DEPLOY":
            task_sets = [task_set.describe(self) for task_set in self.task_sets]
            described["taskSets"] = task_sets
            for task_set in task_sets:
                if task_set["status"] == "PRIMARY":
                    described.update({key: task_set[key] for key in FOLLOW_THE_PRIMARY_TASK_SET})
        return described


@dataclass
class Group:
    """A CodeDeploy ECS deployment group, as its CloudFormation resource configures it."""

    application: str
    name: str
    cluster: str
    service: str
    prod_listeners: list[str]
    test_listeners: list[str]
    target_group_names: list[str]
    config_name: str
    termination_wait: int
    alarms: list[str]
    service_role: str = ""  # ServiceRoleArn: the role CodeDeploy makes the deployment's calls with
    # DeploymentReadyOption: minutes to wait in status Ready for ContinueDeployment, and what a timeout does
    ready_wait: int = 0
    ready_action: str = "CONTINUE_DEPLOYMENT"


@dataclass
class Deployment:
    id: str
    group: Group
    description: str
    appspec: dict[str, Any]
    create_time: datetime
    status: str = "InProgress"
    step: str = "start"
    step_time: datetime = T0
    original: str = ""
    replacement: str = ""
    error: dict[str, str] | None = None
    rollback: dict[str, str] | None = None
    # the lifecycle hook in flight (codedeploy.HookRun), and each event's hook outcome (event -> Succeeded/Failed)
    hook: Any = None
    events: dict[str, str] = field(default_factory=dict)
    executions: dict[str, str] = field(default_factory=dict)  # hook execution id -> its status
    ready_since: datetime | None = None
    complete_time: datetime | None = None  # when it ended (GetDeployment's completeTime)

    def info(self) -> dict[str, Any]:
        """GetDeployment's deploymentInfo."""
        info: dict[str, Any] = {
            "applicationName": self.group.application,
            "deploymentGroupName": self.group.name,
            "deploymentId": self.id,
            "status": self.status,
            "description": self.description,
            "createTime": self.create_time,
            "computePlatform": "ECS",
        }
        if self.complete_time is not None:
            info["completeTime"] = self.complete_time
        if self.error:
            info["errorInformation"] = self.error
        if self.rollback:
            info["rollbackInfo"] = self.rollback
        # The AppSpec the deployment was created with, as CreateDeployment's revision carried it.
        info["revision"] = {"revisionType": "AppSpecContent", "appSpecContent": {"content": json.dumps(self.appspec)}}
        return info


# CodeDeploy's predefined ECS configurations (https://docs.aws.amazon.com/codedeploy/latest/userguide/deployment-configurations.html).
_CANARY = re.compile(r"ECSCanary(\d+)Percent(\d+)Minutes?$")
# Simplification: a linear configuration shifts its first step, then the rest at once (the invariants only care
# that both target groups with weight hold tasks, which every intermediate step shares).
_LINEAR = re.compile(r"ECSLinear(\d+)PercentEvery(\d+)Minutes?$")
# How long new tasks take to pass the target group's health checks (2 x 10 s, plus start-up): a model choice.
READY = timedelta(seconds=60)


class Aws:
    """The whole AWS state of one account and region."""

    def __init__(self) -> None:
        """An empty account at ``T0``."""
        self.now = T0
        self.ids = itertools.count(1)
        self.load_balancers: dict[str, str] = {}  # arn -> name
        self.target_groups: dict[str, str] = {}  # arn -> name
        self.listeners: dict[str, Listener] = {}
        self.rules: dict[str, Rule] = {}
        self.clusters: set[str] = set()
        self.services: dict[str, Service] = {}
        self.groups: dict[tuple[str, str], Group] = {}
        self.deployments: dict[str, Deployment] = {}
        self.revisions: list[Any] = []  # ECS-native deployments in progress (ecs_native.Revision)
        self.finished_revisions: list[Any] = []
        self.alarming: set[str] = set()  # alarm names in state ALARM
        # (caller, IAM action) of every client call; the caller is "handler" while the provider function runs
        self.calls: list[tuple[str, str]] = []
        self.caller = "cloudformation"
        # Every call is authorized before it is answered: a client call of the caller's (botocore service model,
        # API name, params), and the calls AWS makes with a role (role ARN, who makes it, the model's requests). The world
        # installs IAM's decision here; denied calls fail as AWS fails them.
        self.authorize_call: Callable[[Any, str, Mapping[str, Any]], None] = lambda *_: None
        self.authorize: Callable[[str, str, Sequence[Any]], list[str]] = lambda *_: []
        # task definition ARN -> its task role and execution role ARNs (what a deployment passes to ECS)
        self.task_definition_roles: dict[str, list[str]] = {}
        self.task_definitions: dict[str, dict[str, Any]] = {}  # task definition ARN -> its registered definition
        # called after every step of the clock (a test's check of what deployments do between CloudFormation's steps)
        self.observer: Callable[[], None] = lambda: None
        # task definition ARN -> the image of its first container (what a target group's tasks serve)
        self.images: dict[str, str] = {}
        # The requests the model's clients send and how an image answers them (metrics.py): each listener's default
        # action and each rule receives ``requests_per_minute`` requests, spread over its forward's weights.
        self.requests_per_minute = 600
        self.error_rates: dict[str, float] = {}  # image -> share of requests answered with a 5XX
        self.latencies: dict[str, float] = {}  # image -> response time (seconds) of every request
        from .metrics import Metrics  # the metrics ELB publishes for the requests above

        self.metrics = Metrics()
        # Systems Manager Change Calendars: name or ARN -> (state OPEN/CLOSED, next transition or None)
        self.calendars: dict[str, tuple[str, datetime | None]] = {}
        # Lambda runs a function of the account (name or ARN) with an event and answers what it returned; the world
        # installs the stack's real handler code here (hooks.py). Engines call it for their lifecycle hooks.
        self.invoke_function: Callable[[str, Mapping[str, Any]], Any] = _no_functions
        # what the engines did with each lifecycle hook, one line each ("<engine> <stage> <function>: <status>")
        self.hook_log: list[str] = []
        # one-off tasks (tasks.py): task ARN -> task; how long one runs; what a command override exits with
        self.tasks: dict[str, Any] = {}
        self.task_seconds = 90
        self.exit_codes: dict[tuple[str, ...], int] = {}
        # asynchronous Lambda invocations accepted and not yet run: (function, event)
        self.queued_invocations: list[tuple[str, Any]] = []
        # CloudWatch Logs: the stack's log groups (their names), and what the hook functions printed to each:
        # (milliseconds since the epoch, line)
        self.log_groups: set[str] = set()
        self.log_events: dict[str, list[tuple[int, str]]] = {}

    def next_id(self) -> int:
        """A fresh number for ids and ARNs."""
        return next(self.ids)

    # ---- traffic -------------------------------------------------------------------------------------

    def running_tasks(self, target_group_arn: str) -> int:
        """Tasks of every ACTIVE service registered in ``target_group_arn``."""
        return sum(
            service.tasks(task_set)
            for service in self.services.values()
            if service.status == "ACTIVE"
            for task_set in service.task_sets
            if task_set.target_group == target_group_arn
        )

    def route(
        self, listener_arn: str, host: str, path: str, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The actions a request for ``host`` and ``path`` meets on ``listener_arn``: its rules in priority order,
        lowest first, the first whose conditions all match, else the listener's default action
        (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html)."""
        rules = sorted(
            (x for x in self.rules.values() if x.listener_arn == listener_arn), key=lambda x: int(x.priority)
        )
        for rule in rules:
            if all(matches(condition, host, path, headers) for condition in rule.conditions):
                return rule.actions
        return self.listeners[listener_arn].actions

    def listener_on(self, load_balancer_arn: str, port: int) -> Listener:
        """The listener of ``load_balancer_arn`` on ``port``."""
        [listener] = [x for x in self.listeners.values() if x.load_balancer_arn == load_balancer_arn and x.port == port]
        return listener

    def rule_of(self, listener_arn: str, priority: str) -> Rule:
        """The rule of ``listener_arn`` with ``priority``."""
        [rule] = [x for x in self.rules.values() if x.listener_arn == listener_arn and x.priority == priority]
        return rule

    # ---- ECS -----------------------------------------------------------------------------------------

    def service(self, cluster: str, name: str) -> Service:
        """The ACTIVE service ``name`` (or ARN) of ``cluster``; ServiceNotFoundException otherwise."""
        for service in self.services.values():
            if service.cluster == cluster and name in (service.name, service.arn) and service.status == "ACTIVE":
                return service
        raise AwsError("ServiceNotFoundException", "Service not found.")

    def update_service(self, service: Service, changes: Mapping[str, Any]) -> None:
        """UpdateService: CODE_DEPLOY refusals first, then the change; an ECS-controller revision deploys."""
        # CloudFormation's AWS::ECS::Service schema documents migrating CODE_DEPLOY -> ECS in place (docs/engines.md):
        # the call that changes the controller is not held to CODE_DEPLOY's restrictions. Assumption: ECS -> CODE_DEPLOY
        # is let through too (AWS documents neither the refusal nor its text).
        migrating = (changes.get("deploymentController") or {}).get("type") == "ECS"
        if service.controller == "CODE_DEPLOY" and not migrating:
            for key, what in CODE_DEPLOY_REFUSALS.items():
                if key in changes:
                    raise AwsError("InvalidParameterException", code_deploy_refusal(what))
        if "desiredCount" in changes:
            service.desired_count = int(changes["desiredCount"])
        if "deploymentController" in changes:
            service.controller = changes["deploymentController"]["type"]
        # enableECSManagedTags "doesn't trigger a new service deployment"; serviceRegistries "triggers a new service
        # deployment" (UpdateService API reference; AWS::ECS::Service ServiceRegistry: "When you add, update, or
        # remove the service registries configuration, Amazon ECS starts a new deployment").
        if "enableECSManagedTags" in changes:
            service.managed_tags = bool(changes["enableECSManagedTags"])
        if "serviceRegistries" in changes:
            service.service_registries = list(changes["serviceRegistries"])
        revision = {
            k: changes[k]
            for k in ("taskDefinition", "networkConfiguration", "platformVersion", "serviceRegistries")
            if k in changes
        }
        if "loadBalancers" in changes:
            service.load_balancers = list(changes["loadBalancers"])
        if revision and service.controller == "ECS":
            from .ecs_native import start_revision  # the ECS-native engine's deployment

            start_revision(self, service, revision)

    # ---- time ----------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the clock and let every active deployment progress."""
        self.metrics.record(self, self.now, seconds)
        self.now += timedelta(seconds=seconds)
        from . import codedeploy, ecs_native  # the engines act on this state

        while self.queued_invocations:
            function, event = self.queued_invocations.pop(0)
            self.invoke_function(function, event)

        for deployment in list(self.deployments.values()):
            if deployment.status in ("InProgress", "Ready"):
                codedeploy.progress(self, deployment)
        for revision in list(self.revisions):
            ecs_native.progress(self, revision)
        self.observer()

    def settle(self, limit: timedelta = timedelta(hours=2)) -> None:
        """Advance in 15-second steps until no deployment is in progress (or ``limit`` passed)."""
        end = self.now + limit
        while self.now < end and (
            self.revisions or any(d.status in ("InProgress", "Ready") for d in self.deployments.values())
        ):
            self.advance(15)

    def log(self) -> str:
        """The state in one line per listener and service, for assertion messages."""
        lines = [f"{x.port}: {weights_of(x.actions)}" for x in self.listeners.values()]
        lines += [f"rule {x.priority}@{x.listener_arn[-6:]}: {weights_of(x.actions)}" for x in self.rules.values()]
        lines += [json.dumps(s.describe(), default=str) for s in self.services.values()]
        return "\n".join(lines)


def until_it_waits(going: Callable[[], bool], state: Callable[[], object], step: Callable[[], None]) -> None:
    """Take an engine's steps while ``going()``, until a step changes nothing of ``state()``: the deployment waits
    (for the clock, a hook or an approval)."""
    while going():
        before = state()
        step()
        if state() == before:
            return


def _no_functions(function: str, event: Mapping[str, Any]) -> Any:
    raise AssertionError(f"this model runs no Lambda function (invoked {function})")


def step_of(config_name: str) -> tuple[int, int]:
    """(percent, minutes) of a predefined config's first production step; (100, 0) for all at once."""
    for pattern in (_CANARY, _LINEAR):
        match = pattern.search(config_name)
        if match:
            return int(match.group(1)), int(match.group(2))
    return 100, 0
