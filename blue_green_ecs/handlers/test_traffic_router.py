"""Built-in lifecycle hook of ``test_traffic_header``: the header rule follows green into its target group.

The header rule on the production listener sends requests carrying the test header to the target group green
runs in. Stack updates point it there (the live-state lookup), but a deployment started outside CloudFormation
(CodePipeline's CodeDeployToECS action with the exported AppSpec, ``aws deploy create-deployment``) changes no
template. So the rule is also moved by this hook, which runs after green's tasks are registered and before any
test or production traffic moves: CodeDeploy's ``AfterInstall`` event, Amazon ECS's ``POST_SCALE_UP`` stage.
Production then still goes to one target group of the pair; green is in the other.

It runs under either engine through the ``lifecycle_hook`` helper. A deployment whose header rule cannot be
pointed at green fails here, before any traffic moves: tests sent with the header would otherwise check the
version that is already live.

Environment:

``PROD_LISTENER_ARN``
    The production listener of a shared load balancer; empty for a service's own, found by
    ``LOAD_BALANCER_ARN`` and ``PROD_PORT``.
``PROD_RULE_PRIORITY``
    ECS-native: the priority of the production rule whose weights ECS shifts. Empty under CodeDeploy, where
    production is the listener's default action.
``TEST_TRAFFIC_RULE_PRIORITY``
    The header rule's priority on the production listener.
``BLUE_TARGET_GROUP_ARN``, ``GREEN_TARGET_GROUP_ARN``
    The service's target group pair.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from . import lifecycle_hook
else:
    # Inside the Lambda asset the handlers directory is the import root; in the library a package module.
    lifecycle_hook = importlib.import_module(f"{__package__}.lifecycle_hook" if __package__ else "lifecycle_hook")

ENVIRONMENT = (
    "PROD_LISTENER_ARN",
    "LOAD_BALANCER_ARN",
    "PROD_PORT",
    "PROD_RULE_PRIORITY",
    "TEST_TRAFFIC_RULE_PRIORITY",
    "BLUE_TARGET_GROUP_ARN",
    "GREEN_TARGET_GROUP_ARN",
)


def log(action: str, **fields: Any) -> None:
    """One JSON line to CloudWatch Logs."""
    print(json.dumps({"logger": "blue_green_ecs.test_traffic_router", "action": action, **fields}, default=str))


def _default_client() -> Any:
    return lifecycle_hook.hook_client("elbv2")


def forward_weights(actions: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Target group -> weight of a rule's or listener's forward action (a plain TargetGroupArn weighs 1)."""
    weights: dict[str, int] = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        groups = (action.get("ForwardConfig") or {}).get("TargetGroups")
        if groups:
            for group in groups:
                weights[str(group["TargetGroupArn"])] = int(group.get("Weight", 1))
        elif action.get("TargetGroupArn"):
            weights[str(action["TargetGroupArn"])] = 1
    return weights


def _rules(client: Any, listener_arn: str) -> Iterator[Mapping[str, Any]]:
    params: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = client.describe_rules(**params)
        yield from page.get("Rules") or []
        if not page.get("NextMarker"):
            return
        params["Marker"] = page["NextMarker"]


def _listener_on(client: Any, load_balancer_arn: str, port: str) -> Mapping[str, Any]:
    params: dict[str, Any] = {"LoadBalancerArn": load_balancer_arn}
    while True:
        page = client.describe_listeners(**params)
        for listener in page.get("Listeners") or []:
            if str(listener.get("Port")) == port:
                return dict(listener)
        if not page.get("NextMarker"):
            raise lifecycle_hook.HookFailedError(f"Load balancer {load_balancer_arn} has no listener on port {port}.")
        params["Marker"] = page["NextMarker"]


def route(client: Any, environment: Mapping[str, str]) -> bool:
    """Point the header rule at the target group of the pair that production does not use: green's."""
    missing = [name for name in ENVIRONMENT if name not in environment]
    if missing:
        raise lifecycle_hook.HookFailedError(f"The test traffic router lacks the environment variables {missing}.")
    # A service's own listener is found (and described) by port; a shared one is named.
    described = (
        None
        if environment["PROD_LISTENER_ARN"]
        else _listener_on(client, environment["LOAD_BALANCER_ARN"], environment["PROD_PORT"])
    )
    listener = str(described["ListenerArn"]) if described is not None else environment["PROD_LISTENER_ARN"]
    pair = (environment["BLUE_TARGET_GROUP_ARN"], environment["GREEN_TARGET_GROUP_ARN"])
    rules = {str(rule.get("Priority")): rule for rule in _rules(client, listener)}
    prod_priority, header_priority = environment["PROD_RULE_PRIORITY"], environment["TEST_TRAFFIC_RULE_PRIORITY"]
    if prod_priority:
        if prod_priority not in rules:
            raise lifecycle_hook.HookFailedError(
                f"The production rule (priority {prod_priority}) of listener {listener} does not exist."
            )
        production = forward_weights(rules[prod_priority].get("Actions") or [])
    else:
        if described is None:
            [described] = client.describe_listeners(ListenerArns=[listener])["Listeners"]
        production = forward_weights(described.get("DefaultActions") or [])
    serving = sorted(arn for arn, weight in production.items() if weight > 0)
    if len(serving) != 1 or serving[0] not in pair:
        raise lifecycle_hook.HookFailedError(
            f"Production traffic of listener {listener} goes to {serving or 'no target group'}, not to exactly one of "
            f"the service's target groups {list(pair)}: cannot tell which one green runs in, so the test traffic "
            "rule was not moved."
        )
    green = pair[1] if serving[0] == pair[0] else pair[0]
    rule = rules.get(header_priority)
    if rule is None:
        raise lifecycle_hook.HookFailedError(
            f"The test traffic rule (priority {header_priority}) of listener {listener} does not exist."
        )
    if forward_weights(rule.get("Actions") or []) == {green: 1}:
        log("unchanged", rule=rule["RuleArn"], target_group=green)
        return True
    client.modify_rule(RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "TargetGroupArn": green}])
    log("moved", rule=rule["RuleArn"], target_group=green, production=serving[0])
    return True


@lifecycle_hook.codedeploy_hook
def handler(event: Mapping[str, Any], context: Any) -> bool:
    """The hook: CodeDeploy's AfterInstall, or Amazon ECS's POST_SCALE_UP."""
    return route(_default_client(), os.environ)
