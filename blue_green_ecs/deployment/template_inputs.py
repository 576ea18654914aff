"""What a synthesized template says of one blue/green service's deployment, as ``blue-green-ecs plan`` models it.

Pure Python over the template's JSON (no CDK import), for ``plan --stack``: the engine, the traffic shift, the
termination wait (ECS: the bake time), the approval wait, the task count and size, the health check, the draining,
the slowest rollback alarm, whether ``cdk deploy`` runs the deployment, and the migration task's timeout, each read
where the library writes it (docs/cli.md § plan lists the properties). A value CloudFormation only knows at
deployment (a ``Ref``, ``Fn::GetAtt`` or another intrinsic), or a property the template leaves out, is not guessed:
it is named in ``unread``, and the caller falls back to an option or the model's default.

Which resources are the service's own (its task definition, target groups, deployment group, trigger, migration
function) the construct paths say (the cloud assembly's ``aws:cdk:logicalId`` metadata: ``owned``); what it refers
to elsewhere (a user's alarm, a custom deployment configuration) its references say.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

# The library's resource types (deployment/deployment_trigger.py, deployment/provider.py).
TRIGGER_TYPE = "Custom::BlueGreenEcsDeployment"
LIVE_STATE_TYPE = "Custom::BlueGreenEcsLiveState"
# MigrationTask's function (deployment/migration.py): its handler, and the environment variable of its timeout.
MIGRATION_HANDLER = "migration.handler"
MIGRATION_TIMEOUT_VARIABLE = "TIMEOUT_SECONDS"
# CodeDeploy's predefined ECS configurations: CodeDeployDefault.ECSCanary10Percent5Minutes and the like.
_PREDEFINED = re.compile(r"^CodeDeployDefault\.ECS(Canary|Linear)(\d+)Percent(?:Every)?(\d+)Minutes?$")
_ALL_AT_ONCE = "CodeDeployDefault.ECSAllAtOnce"
_DEREGISTRATION = "deregistration_delay.timeout_seconds"


@dataclass(frozen=True)
class TemplateInputs:
    """One service's deployment as its template says it.

    ``values``: ``PlanInputs`` and ``CostInputs`` fields by name (``shift``, ``task_cpu``, ...), for what the template
    states; ``unread``: field -> the property that did not give a value, and why (for the caller's note).
    """

    values: Mapping[str, Any]
    unread: Mapping[str, str]


class _Reader:
    """Collects each field's value, or why there is none."""

    def __init__(self, resources: Mapping[str, Any]) -> None:
        self.resources = resources
        self.values: dict[str, Any] = {}
        self.unread: dict[str, str] = {}

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        return dict(self.resources.get(logical_id, {}).get("Properties") or {})

    def number(self, field: str, where: str, value: Any, *, scale: float = 1, whole: bool = True) -> None:
        """``value`` (a number, or a number as a string) into ``field``; otherwise why not."""
        found = _number(value)
        if found is None:
            self.unread[field] = f"{where} is {_shown(value)}"
        else:
            scaled = found * scale
            self.values[field] = math.ceil(scaled - 1e-9) if whole else scaled

    def referenced(self, value: Any, resource_type: str) -> str | None:
        """The logical id ``value`` refers to (``Ref`` or ``Fn::GetAtt``) when it is a resource of that type."""
        target = None
        if isinstance(value, Mapping) and "Ref" in value:
            target = value["Ref"]
        elif isinstance(value, Mapping) and isinstance(value.get("Fn::GetAtt"), list):
            target = value["Fn::GetAtt"][0]
        if isinstance(target, str) and self.resources.get(target, {}).get("Type") == resource_type:
            return target
        return None


def read_service(resources: Mapping[str, Any], service_id: str, owned: Collection[str]) -> TemplateInputs:
    """The deployment of the ``AWS::ECS::Service`` ``service_id``, ``owned`` the logical ids below its construct."""
    reader = _Reader(resources)
    service = reader.properties(service_id)
    mine = {logical_id: resources[logical_id].get("Type") for logical_id in owned if logical_id in resources}
    groups = [i for i, kind in mine.items() if kind == "AWS::CodeDeploy::DeploymentGroup"]
    if groups:
        reader.values["engine"] = "codedeploy"
        group = reader.properties(groups[0])
        _codedeploy_shift(reader, groups[0], group)
        reader.values["deploy_on_update"] = any(kind == TRIGGER_TYPE for kind in mine.values())
        alarms = [alarm.get("Name") for alarm in (group.get("AlarmConfiguration") or {}).get("Alarms") or []]
    else:
        reader.values["engine"] = "ecs"
        configuration = service.get("DeploymentConfiguration") or {}
        _ecs_shift(reader, service_id, configuration)
        alarms = list((configuration.get("Alarms") or {}).get("AlarmNames") or [])
    _tasks(reader, service_id, service, mine)
    _target_group(reader, [i for i, kind in mine.items() if kind == "AWS::ElasticLoadBalancingV2::TargetGroup"])
    _alarms(reader, alarms)
    _migration(reader, [i for i, kind in mine.items() if kind == "AWS::Lambda::Function"])
    return TemplateInputs(values=reader.values, unread=reader.unread)


def _codedeploy_shift(reader: _Reader, group_id: str, group: Mapping[str, Any]) -> None:
    """The deployment configuration the group names, its termination wait and its approval wait."""
    name = group.get("DeploymentConfigName")
    where = f"{group_id}.DeploymentConfigName"
    custom = reader.referenced(name, "AWS::CodeDeploy::DeploymentConfig")
    predefined = _PREDEFINED.match(name) if isinstance(name, str) else None
    if name == _ALL_AT_ONCE:
        reader.values["shift"] = "all-at-once"
    elif predefined is not None:
        kind, percent, minutes = predefined.groups()
        reader.values.update(shift=kind.lower(), percent=float(percent), interval_minutes=int(minutes))
    elif custom is not None:
        _routing(reader, custom, reader.properties(custom).get("TrafficRoutingConfig") or {})
    else:
        reader.unread["shift"] = f"{where} is {_shown(name)}, no configuration this template defines"
    blue_green = group.get("BlueGreenDeploymentConfiguration") or {}
    termination = blue_green.get("TerminateBlueInstancesOnDeploymentSuccess") or {}
    reader.number(
        "termination_wait_minutes",
        f"{group_id}.BlueGreenDeploymentConfiguration.TerminateBlueInstancesOnDeploymentSuccess."
        "TerminationWaitTimeInMinutes",
        termination.get("TerminationWaitTimeInMinutes"),
    )
    ready = blue_green.get("DeploymentReadyOption") or {}
    if ready.get("ActionOnTimeout") == "STOP_DEPLOYMENT":
        where = f"{group_id}.BlueGreenDeploymentConfiguration.DeploymentReadyOption.WaitTimeInMinutes"
        reader.number("approval_wait_minutes", where, ready.get("WaitTimeInMinutes"))
    else:  # CONTINUE_DEPLOYMENT (or none): no one is waited for
        reader.values["approval_wait_minutes"] = 0


def _routing(reader: _Reader, config_id: str, routing: Mapping[str, Any]) -> None:
    """A custom deployment configuration's TrafficRoutingConfig."""
    kind = routing.get("Type")
    where = f"{config_id}.TrafficRoutingConfig"
    if kind == "AllAtOnce":
        reader.values["shift"] = "all-at-once"
        return
    keys = {"TimeBasedCanary": ("canary", "Canary"), "TimeBasedLinear": ("linear", "Linear")}
    if kind not in keys:
        reader.unread["shift"] = f"{where}.Type is {_shown(kind)}"
        return
    shift, prefix = keys[kind]
    step = routing.get(kind) or {}
    reader.values["shift"] = shift
    reader.number("percent", f"{where}.{kind}.{prefix}Percentage", step.get(f"{prefix}Percentage"), whole=False)
    reader.number("interval_minutes", f"{where}.{kind}.{prefix}Interval", step.get(f"{prefix}Interval"))


def _ecs_shift(reader: _Reader, service_id: str, configuration: Mapping[str, Any]) -> None:
    """The strategy and its step, the bake time, and the PAUSE hook's timeout (engines/ecs_native.py)."""
    where = f"{service_id}.DeploymentConfiguration"
    strategy = configuration.get("Strategy")
    steps = {"CANARY": ("canary", "CanaryConfiguration", "CanaryPercent", "CanaryBakeTimeInMinutes")}
    steps["LINEAR"] = ("linear", "LinearConfiguration", "StepPercent", "StepBakeTimeInMinutes")
    if strategy == "BLUE_GREEN":
        reader.values["shift"] = "all-at-once"
    elif strategy in steps:
        shift, key, percent, interval = steps[strategy]
        step = configuration.get(key) or {}
        reader.values["shift"] = shift
        reader.number("percent", f"{where}.{key}.{percent}", step.get(percent), whole=False)
        reader.number("interval_minutes", f"{where}.{key}.{interval}", step.get(interval))
    else:
        reader.unread["shift"] = f"{where}.Strategy is {_shown(strategy)}"
    reader.number("termination_wait_minutes", f"{where}.BakeTimeInMinutes", configuration.get("BakeTimeInMinutes"))
    pauses = [
        (index, hook)
        for index, hook in enumerate(configuration.get("LifecycleHooks") or [])
        if isinstance(hook, Mapping) and hook.get("TargetType") == "PAUSE"
    ]
    total = 0.0
    for index, hook in pauses:  # the library writes one; with several, each waits in turn
        timeout = (hook.get("TimeoutConfiguration") or {}).get("TimeoutInMinutes")
        found = _number(timeout)
        if found is None:
            where = f"{where}.LifecycleHooks.{index}.TimeoutConfiguration.TimeoutInMinutes"
            reader.unread["approval_wait_minutes"] = f"{where} is {_shown(timeout)}"
            return
        total += found
    reader.values["approval_wait_minutes"] = math.ceil(total)


def _tasks(reader: _Reader, service_id: str, service: Mapping[str, Any], mine: Mapping[str, str]) -> None:
    """The desired count and the task definition's CPU and memory."""
    count = service.get("DesiredCount")
    live_state = reader.referenced(count, LIVE_STATE_TYPE)
    if live_state is not None:
        # The template takes the live count from the live-state lookup (house rule 11: auto scaling's count is not
        # written back); what the construct was given is its Configured count, the one a first deployment starts with.
        configured = reader.properties(live_state).get("Configured") or {}
        reader.number("tasks", f"{live_state}.Configured.DesiredCount", configured.get("DesiredCount"))
    else:
        reader.number("tasks", f"{service_id}.DesiredCount", count)
    definitions = [i for i, kind in mine.items() if kind == "AWS::ECS::TaskDefinition"]
    if not definitions:
        for field in ("task_cpu", "task_memory_mib"):
            reader.unread[field] = f"no AWS::ECS::TaskDefinition of {service_id} is in the template"
        return
    definition = reader.properties(definitions[0])
    reader.number("task_cpu", f"{definitions[0]}.Cpu", definition.get("Cpu"))
    reader.number("task_memory_mib", f"{definitions[0]}.Memory", definition.get("Memory"))


def _target_group(reader: _Reader, groups: list[str]) -> None:
    """The health check and draining of the service's target groups (blue and green are configured alike)."""
    if not groups:
        for field in ("health_check_interval_seconds", "healthy_threshold", "deregistration_delay_seconds"):
            reader.unread[field] = "the service has no target group in the template"
        return
    group_id = sorted(groups)[0]
    group = reader.properties(group_id)
    interval = group.get("HealthCheckIntervalSeconds")
    reader.number("health_check_interval_seconds", f"{group_id}.HealthCheckIntervalSeconds", interval)
    reader.number("healthy_threshold", f"{group_id}.HealthyThresholdCount", group.get("HealthyThresholdCount"))
    delay = next(
        (a.get("Value") for a in group.get("TargetGroupAttributes") or [] if a.get("Key") == _DEREGISTRATION),
        None,
    )
    reader.number("deregistration_delay_seconds", f"{group_id}.TargetGroupAttributes.{_DEREGISTRATION}", delay)


def _alarms(reader: _Reader, names: list[Any]) -> None:
    """The slowest of the rollback alarms (period x evaluation periods): the worst case the timeline shows."""
    slowest: tuple[float, int, int] | None = None
    for name in names:
        alarm_id = reader.referenced(name, "AWS::CloudWatch::Alarm")
        if alarm_id is None:
            continue  # a composite alarm or one named by text: its periods are not in this template
        alarm = reader.properties(alarm_id)
        # A metric math alarm states each metric's period; the longest is the alarm's.
        periods = [alarm.get("Period")] if "Period" in alarm else []
        periods += [(metric.get("MetricStat") or {}).get("Period") for metric in alarm.get("Metrics") or []]
        values = [_number(period) for period in periods if period is not None]
        evaluations = _number(alarm.get("EvaluationPeriods"))
        if not values or None in values or evaluations is None:
            reader.unread["alarm_period_seconds"] = f"{alarm_id}.Period or EvaluationPeriods is not a number"
            continue
        period = max(v for v in values if v is not None)
        if slowest is None or period * evaluations > slowest[0]:
            slowest = (period * evaluations, int(period), int(evaluations))
    if slowest is None:
        reader.unread.setdefault("alarm_period_seconds", "the service's rollback alarms are not in the template")
        return
    reader.values.update(alarm_period_seconds=slowest[1], alarm_evaluation_periods=slowest[2])


def _migration(reader: _Reader, functions: list[str]) -> None:
    """The migration task's timeout (worst case), 0 without a migration function."""
    reader.values["migration_minutes"] = 0
    for function_id in sorted(functions):
        function = reader.properties(function_id)
        if function.get("Handler") != MIGRATION_HANDLER:
            continue
        variables = (function.get("Environment") or {}).get("Variables") or {}
        where = f"{function_id}.Environment.Variables.{MIGRATION_TIMEOUT_VARIABLE}"
        reader.number("migration_minutes", where, variables.get(MIGRATION_TIMEOUT_VARIABLE), scale=1 / 60)


def _number(value: Any) -> float | None:
    """A template's number (``5``, ``"256"``); ``None`` for an intrinsic, text, a boolean or nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            found = float(value)
        except ValueError:
            return None
        return found if math.isfinite(found) else None
    return None


def _shown(value: Any) -> str:
    """A property's value as a message shows it."""
    if value is None:
        return "not set"
    if isinstance(value, Mapping):
        return f"{json.dumps(value, sort_keys=True)} (known only when CloudFormation deploys it)"
    return repr(value)
