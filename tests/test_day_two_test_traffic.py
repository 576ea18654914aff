"""Day two of ``test_traffic_header`` (issue #16 item 3), replayed by the lifecycle simulator.

The header rule on the production listener must send its requests to the target group the new tasks of a
deployment run in, from the moment they run, after any number of deployments; adding and removing it on a
running service must not disturb production. And the ECS-native production rule moved from priority 1 to 10
(to leave room ahead of it): an existing stack must take that move in place.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from blue_green_ecs.configuration import defaults
from blue_green_ecs.handlers import lifecycle_hook, test_traffic_router

from . import test_day_two
from .simulator import clients, codedeploy, templates
from .simulator.templates import template
from .simulator.world import World
from .test_day_two import ENGINES, IMAGE, apply, created, production_colour

sim = test_day_two.sim  # the simulated account, a fixture

HEADER = "test_traffic_header"


def header_target(sim: World, service: str = "Web") -> str | None:
    """Where the header rule forwards, or None while the stack has no header rule."""
    logical = sim.logical(f"{service}TestTrafficRule")
    if logical is None or logical not in sim.stack.resources:
        return None
    rule = sim.aws.rules.get(sim.stack.resources[logical].physical_id)
    if rule is None:
        return None
    [target] = [arn for arn, weight in _weights(rule.actions).items() if weight > 0]
    return target


def through_the_listener(sim: World, service: str = "Web") -> str:
    """Where a request with the test header goes through the production listener (the rule's priority against the
    production route's, not only the rule's action)."""
    listener = sim.stack.resources[sim.logical(f"{service}ProdListener") or ""].physical_id
    actions = sim.aws.route(listener, "www.example.com", "/", {"X-Blue-Green": templates.TEST_TRAFFIC_SECRET})
    [target] = [arn for arn, weight in _weights(actions).items() if weight > 0]
    return target


def _weights(actions: list[dict[str, Any]]) -> dict[str, int]:
    from .simulator.aws import weights_of

    return weights_of(actions)


def watch_new_tasks(sim: World, seen: list[str], service: str = "Web") -> None:
    """After every step of a deployment (old and new tasks running side by side): the header rule forwards to the
    target group of the tasks of the stack's current task definition, the new ones."""

    def observe() -> None:
        target = header_target(sim, service)
        definition = sim.logical(f"{service}TaskDefinition")
        if target is None or definition is None:
            return
        arn = sim.stack.resources[definition].physical_id
        for live in sim.aws.services.values():
            running = [x for x in live.task_sets if live.tasks(x) > 0]
            if len(running) < 2:  # no deployment in flight (the first tasks of a new stack run in blue)
                continue
            for task_set in running:
                if task_set.task_definition == arn:
                    assert target == task_set.target_group, (
                        f"the new tasks run in {sim.name(task_set.target_group)}, the header rule forwards to "
                        f"{sim.name(target)}\n{sim.aws.log()}"
                    )
                    seen.append(task_set.target_group)

    check_all = sim.stack.observer

    def after_each_resource() -> None:
        check_all()
        observe()

    sim.stack.observer = after_each_resource
    sim.aws.observer = observe  # ECS-native deployments progress inside the service's update


@pytest.mark.parametrize("engine", ENGINES)
def test_header_rule_follows_every_deployment(sim: World, engine: str) -> None:
    # given a stack with the header rule
    seen: list[str] = []
    watch_new_tasks(sim, seen)
    apply(sim, template(engine, HEADER), "CREATE_COMPLETE")
    # when four images are deployed
    for revision in range(1, 5):
        before = len(seen)
        apply(sim, template(engine, HEADER, image=f"{IMAGE}:{revision}"))
        # then the header reached the new tasks while they ran, in the target group production moved to
        colour = "Green" if revision % 2 else "Blue"
        assert production_colour(sim) == colour
        assert set(seen[before:]) == {sim.target_group("Web", colour)}
        assert through_the_listener(sim) == header_target(sim)
    # and the rule's condition is the configured header
    [rule] = [r for r in sim.aws.rules.values() if r.conditions and r.conditions[0]["Field"] == "http-header"]
    assert rule.conditions[0]["HttpHeaderConfig"] == {
        "HttpHeaderName": "x-blue-green",
        "Values": [templates.TEST_TRAFFIC_SECRET],
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("deployments", [1, 2])
def test_header_rule_added_and_removed_on_a_running_service(sim: World, engine: str, deployments: int) -> None:
    # given a running service after some deployments, without the header rule
    created(sim, engine, deployments=deployments)
    colour = production_colour(sim)
    seen: list[str] = []
    watch_new_tasks(sim, seen)
    # when the header rule is added, then it waits where the next deployment starts; production does not move
    apply(sim, template(engine, HEADER, image=f"{IMAGE}:{deployments}"))
    assert production_colour(sim) == colour
    other = sim.target_group("Web", "Blue" if colour == "Green" else "Green")
    assert header_target(sim) == other
    # and the next deployment's tasks are reached through it
    apply(sim, template(engine, HEADER, image=f"{IMAGE}:{deployments + 1}"))
    assert set(seen) == {other}
    # when it is removed again, then the update completes and production stays on the running tasks
    apply(sim, template(engine, image=f"{IMAGE}:{deployments + 1}"))
    assert header_target(sim) is None
    assert sim.aws.running_tasks(sim.target_group("Web", production_colour(sim))) >= 2


@functools.cache
def _with_production_rule_at_priority_1(engine: str) -> str:
    """The template of the release before the production rule moved to priority 10."""
    moved = defaults.OWN_PROD_RULE_PRIORITY
    defaults.OWN_PROD_RULE_PRIORITY = 1
    try:
        return templates._synthesized.__wrapped__(engine, "base", 1)
    finally:
        defaults.OWN_PROD_RULE_PRIORITY = moved


@pytest.mark.parametrize("deployments", [0, 1, 2])
def test_ecs_native_production_rule_moves_to_priority_10_in_place(sim: World, deployments: int) -> None:
    # given an ECS-native stack of the previous release (production rule at priority 1) after some deployments
    old = json.loads(_with_production_rule_at_priority_1("ECS_NATIVE"))
    apply(sim, old, "CREATE_COMPLETE")
    for revision in range(1, deployments + 1):
        changed = json.loads(_with_production_rule_at_priority_1("ECS_NATIVE"))
        for resource in changed["Resources"].values():
            if resource["Type"] == "AWS::ECS::TaskDefinition":
                for container in resource["Properties"]["ContainerDefinitions"]:
                    container["Image"] = f"{IMAGE}:{revision}"
        apply(sim, changed)
    colour = production_colour(sim)
    rule = sim.stack.resources[sim.logical("WebProdRule") or ""].physical_id
    # when the stack is updated to this release, with the header rule at priority 1 at once
    upgraded = (
        template("ECS_NATIVE", HEADER, image=f"{IMAGE}:{deployments}")
        if deployments
        else template("ECS_NATIVE", HEADER)
    )
    apply(sim, upgraded)
    # then the same rule moved to 10 in place, production where it was, and the header rule took priority 1
    assert sim.stack.resources[sim.logical("WebProdRule") or ""].physical_id == rule
    assert sim.aws.rules[rule].priority == "10"
    assert production_colour(sim) == colour
    assert header_target(sim) is not None
    # and the next deployment runs as usual
    apply(sim, template("ECS_NATIVE", HEADER, image=f"{IMAGE}:{deployments + 1}"))
    assert production_colour(sim) != colour


def run_router(sim: World) -> None:
    """The built-in router hook, as CodeDeploy (AfterInstall) or ECS (POST_SCALE_UP) runs it: the real handler with
    the environment CloudFormation gave its function, on the model's ELB client."""
    function = sim.logical("WebTestTrafficRouterFunction")
    assert function is not None
    environment = sim.stack._resolve(sim.stack.template, function)["Environment"]["Variables"]
    assert test_traffic_router.route(clients.elbv2(sim.aws), environment)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("deployments", [1, 2])
def test_header_rule_follows_a_deployment_no_stack_update_starts(sim: World, engine: str, deployments: int) -> None:
    # given a stack with the header rule after some deployments (production on green after an odd number)
    created(sim, engine, HEADER, deployments=deployments)
    before = production_colour(sim)
    # when a pipeline deploys a new task definition outside CloudFormation, and the engine runs the router hook
    # before test traffic (the template still says where the previous deployment started)
    new_definition = f"arn:aws:ecs:us-east-1:123456789012:task-definition/pipeline:{deployments + 100}"
    [service] = [s for s in sim.aws.services.values() if s.status == "ACTIVE"]
    if engine == "CODE_DEPLOY":
        previous = list(sim.aws.deployments.values())[-1]
        appspec = json.loads(json.dumps(previous.appspec))
        appspec["Resources"][0]["TargetService"]["Properties"]["TaskDefinition"] = new_definition
        codedeploy.create(sim.aws, previous.group, json.dumps(appspec), "pipeline")
    else:
        sim.aws.update_service(service, {"taskDefinition": new_definition})
    [green] = [x.target_group for x in service.task_sets if x.task_definition == new_definition]
    run_router(sim)
    # then the header reaches the new tasks before any test or production traffic moves
    assert header_target(sim) == green
    assert production_colour(sim) == before
    # and a retried invocation changes nothing
    run_router(sim)
    assert header_target(sim) == green
    # and after the deployment the rule is where production went
    sim.aws.settle()
    assert production_colour(sim) != before
    assert header_target(sim) == green == sim.target_group("Web", production_colour(sim))


def test_router_fails_the_hook_when_production_is_on_neither_target_group(sim: World) -> None:
    # given a stack with the header rule whose production listener was pointed elsewhere by hand
    created(sim, "CODE_DEPLOY", HEADER)
    listener = sim.stack.resources[sim.logical("WebProdListener") or ""].physical_id
    sim.aws.listeners[listener].actions = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}]
    # when the router runs, then it fails the hook with the reason and leaves the rule alone
    target = header_target(sim)
    with pytest.raises(lifecycle_hook.HookFailedError, match="cannot tell which one green runs in"):
        run_router(sim)
    assert header_target(sim) == target
