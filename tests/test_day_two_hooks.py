"""Day two of the built-in hooks (issue #26, items 4, 5 and 7), replayed by the lifecycle simulator.

The engines run the stack's hook functions as AWS would (tests/simulator/hooks.py): the real handler code, with
the environment CloudFormation gave the function, under the function's role (every call it makes goes through
the IAM model; ``world()`` fails the test on a denial), on the model's clock, clients and traffic. Each scenario
deploys images with ``cdk deploy``'s CloudFormation update and asserts where production went, what the stack
reported, and that production never reached a green that a hook held back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from blue_green_ecs.cli import deployments

from . import test_day_two
from .simulator.templates import CHANGE_CALENDAR, template
from .simulator.world import World
from .test_day_two import ENGINES, IMAGE, apply, created, production_colour

sim = test_day_two.sim  # the simulated account, a fixture

BAD_IMAGE = f"{IMAGE}:broken"


def watch(sim: World, each_step: Callable[[], None]) -> None:
    """Run ``each_step`` after every step of the model's clock and of CloudFormation."""
    check_all = sim.stack.observer

    def after_each_resource() -> None:
        check_all()
        each_step()

    sim.stack.observer = after_each_resource
    sim.aws.observer = each_step


def green_weights(sim: World, old: str) -> list[int]:
    """Production's share on the target group production was not on (``old``'s other one), after each step."""
    other = sim.target_group("Web", "Green" if old == "Blue" else "Blue")
    seen: list[int] = []
    watch(sim, lambda: seen.append(sim.production("Web").get(other, 0)))
    return seen


def replacements(sim: World) -> list[str]:
    """The task definitions of task sets or revisions started during the deployment, after each step."""
    started: list[str] = []

    def each_step() -> None:
        for service in sim.aws.services.values():
            started.extend(ts.task_definition for ts in service.task_sets if ts.status != "PRIMARY")

    watch(sim, each_step)
    return started


# ---- the step analysis (item 5) ----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_step_analysis_passes_a_healthy_image_before_each_step(sim: World, engine: str) -> None:
    # given a stack with the step analysis, after one deployment
    created(sim, engine, "step_analysis", deployments=1)
    sim.aws.hook_log.clear()
    # when a healthy image is deployed
    apply(sim, template(engine, "step_analysis", image=f"{IMAGE}:2"))
    # then the analysis ran where the engine runs it, passed, and production moved
    assert production_colour(sim) == "Blue"
    analysis = [line for line in sim.aws.hook_log if "StepAnalysis" in line]
    if engine == "ECS_NATIVE":
        # before the canary step and before the rest (the base variant's canary: 10 %, then all)
        assert [line.split()[1:2] + line.split()[-1:] for line in analysis] == [
            ["PRE_PRODUCTION_TRAFFIC_SHIFT", "SUCCEEDED"],
            ["PRE_PRODUCTION_TRAFFIC_SHIFT", "SUCCEEDED"],
        ]
    else:
        assert [line.split()[1:2] + line.split()[-1:] for line in analysis] == [["BeforeAllowTraffic", "Succeeded"]]


@pytest.mark.parametrize("engine", ENGINES)
def test_step_analysis_holds_back_an_image_that_answers_errors_and_the_stack_rolls_back(
    sim: World, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a stack with the step analysis after one deployment (production on green)
    created(sim, engine, "step_analysis", deployments=1)
    moved = green_weights(sim, "Green")
    # when an image that answers a fifth of its requests with a 5XX is deployed
    sim.aws.error_rates[BAD_IMAGE] = 0.2
    capsys.readouterr()
    status = sim.stack.deploy(template(engine, "step_analysis", image=BAD_IMAGE))
    # then the analysis fails the deployment before any production traffic reached the image, with the numbers
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert max(moved) == 0
    assert production_colour(sim) == "Green"
    logs = capsys.readouterr().out
    assert "step analysis failed over" in logs
    assert "green 20.00%" in logs
    assert "against blue 0.00%" in logs
    # and the stack names the failed hook: ECS's reason, or CodeDeploy's failed deployment
    if engine == "ECS_NATIVE":
        assert "StepAnalysis" in sim.stack.reason
        assert "PRE_PRODUCTION_TRAFFIC_SHIFT returned FAILED" in sim.stack.reason
    else:
        assert "HOOK_EXECUTION_FAILURE" in sim.stack.reason
        assert "BeforeAllowTraffic" in sim.stack.reason
        # with the numbers, read back from the hook's log group (hook_reason.py)
        assert "The hook's reason: " in sim.stack.reason
        assert "green 20.00%" in sim.stack.reason
    # and a healthy image deploys afterwards
    apply(sim, template(engine, "step_analysis", image=f"{IMAGE}:3"))
    assert production_colour(sim) == "Blue"


def test_ecs_step_analysis_stops_a_canary_that_goes_bad_after_its_first_step(sim: World) -> None:
    # given an ECS-native stack with the step analysis, and an image that turns bad once it carries production
    created(sim, "ECS_NATIVE", "step_analysis")
    image = f"{IMAGE}:degrades"
    blue, green = sim.target_group("Web", "Blue"), sim.target_group("Web", "Green")

    def degrade() -> None:
        if sim.production("Web").get(green, 0) > 0:
            sim.aws.error_rates[image] = 0.5

    moved = green_weights(sim, "Blue")
    check = sim.aws.observer

    def each_step() -> None:
        check()
        degrade()

    sim.aws.observer = each_step
    # when it is deployed
    status = sim.stack.deploy(template("ECS_NATIVE", "step_analysis", image=image))
    # then the first analysis passed, the canary step ran, and the second analysis rolled it back
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert max(moved) == 10
    assert moved[-1] == 0
    assert [x.split()[-1] for x in sim.aws.hook_log if "StepAnalysis" in x] == ["SUCCEEDED", "FAILED"]
    assert sim.production("Web").get(blue) == 100


# ---- freeze windows (item 7) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_closed_change_calendar_refuses_the_deployment_before_green_starts(sim: World, engine: str) -> None:
    # given a stack whose pre-flight check reads a Change Calendar, after one deployment
    sim.aws.calendars[CHANGE_CALENDAR] = ("OPEN", None)
    created(sim, engine, "change_calendar", deployments=1)
    colour = production_colour(sim)
    # when the calendar is CLOSED and an image is deployed
    sim.aws.calendars[CHANGE_CALENDAR] = ("CLOSED", sim.aws.now + timedelta(hours=3))
    started = replacements(sim)
    status = sim.stack.deploy(template(engine, "change_calendar", image=f"{IMAGE}:2"))
    # then the deployment failed before a single green task started, and the stack rolled back
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert started == []
    assert production_colour(sim) == colour
    stage = "PRE_SCALE_UP" if engine == "ECS_NATIVE" else "BeforeInstall"
    assert [x.split()[1] for x in sim.aws.hook_log if "Preflight" in x and "FAIL" in x.upper()] == [stage]
    # when it opens again, then the same image deploys
    sim.aws.calendars[CHANGE_CALENDAR] = ("OPEN", None)
    apply(sim, template(engine, "change_calendar", image=f"{IMAGE}:2"))
    assert production_colour(sim) != colour


# ---- the hooks' own permissions ------------------------------------------------------------------------------------


def without_action(template_: dict[str, object], logical_prefix: str, action: str) -> dict[str, object]:
    """``template_`` with ``action`` taken out of the policies of the role whose logical id starts so."""
    resources = template_["Resources"]
    assert isinstance(resources, dict)
    removed = 0
    for resource in resources.values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        if not any(str(role.get("Ref", "")).startswith(logical_prefix) for role in resource["Properties"]["Roles"]):
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if action in actions:
                statement["Action"] = [a for a in actions if a != action] or ["none:None"]
                removed += 1
    assert removed, f"no policy of {logical_prefix}* allows {action}"
    return template_


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hook_whose_role_lacks_a_grant_fails_as_iam_fails_the_call(sim: World, engine: str) -> None:
    # given a stack with the step analysis whose function's role may not read metrics
    created(sim, engine, "step_analysis")
    broken = without_action(
        template(engine, "step_analysis", image=f"{IMAGE}:1"), "WebStepAnalysis", "cloudwatch:GetMetricData"
    )
    # when an image is deployed, then IAM denies the hook's GetMetricData, the hook fails, the deployment rolls back
    status = sim.stack.deploy(broken)
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert production_colour(sim) == "Blue"
    assert sim.denied
    assert all("cloudwatch:GetMetricData" in x for x in sim.denied), sim.denied
    assert all("StepAnalysis" in x for x in sim.denied), sim.denied
    sim.denied.clear()  # seen: the world's own check of denials is for the construct's templates


# ---- approvals (item 4) ----------------------------------------------------------------------------------------------


def waiting_for_approval(sim: World) -> bool:
    """Whether a deployment waits for approval: CodeDeploy's in status Ready, ECS's at a PAUSE hook not acted on."""
    if any(d.status == "Ready" for d in sim.aws.deployments.values()):
        return True
    return any(
        r.hook is not None and r.hook.hooks[r.hook.index].get("targetType") == "PAUSE" and not r.hook.action
        for r in sim.aws.revisions
    )


@pytest.mark.parametrize("engine", ENGINES)
def test_an_approval_nobody_gives_rolls_back_at_its_timeout(sim: World, engine: str) -> None:
    # given a stack with deployment_approval_wait_time (30 minutes), after one approved deployment's worth of state
    created(sim, engine, "approval")
    moved = green_weights(sim, "Blue")
    waited: list[bool] = []
    check = sim.aws.observer

    def each_step() -> None:
        check()
        waited.append(waiting_for_approval(sim))

    sim.aws.observer = each_step
    started = sim.aws.now
    # when an image is deployed and nobody approves it
    status = sim.stack.deploy(template(engine, "approval", image=f"{IMAGE}:1"))
    # then it waited for approval, production never moved, and at the wait's end the stack rolled back
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert any(waited)
    assert max(moved) == 0
    assert production_colour(sim) == "Blue"
    assert timedelta(minutes=30) < sim.aws.now - started < timedelta(minutes=45)
    assert ("timed out: ROLLBACK" if engine == "ECS_NATIVE" else "(TIMEOUT)") in sim.stack.reason


def operator(sim: World, engine: str, command: str) -> list[tuple[str, int]]:
    """An operator at another terminal who runs ``blue-green-ecs <command>`` (the CLI's code, on the model's clients)
    once the deployment waits for approval: what it printed, and how many clock steps had passed then."""
    if engine == "ECS_NATIVE":
        [service] = [s for s in sim.aws.services.values() if s.status == "ACTIVE"]
        target = deployments.Target("ecs", cluster=service.cluster, service=service.name)
    else:
        [group] = sim.aws.groups.values()
        target = deployments.Target(
            "codedeploy", cluster=group.cluster, service=group.service, application=group.application, group=group.name
        )
    acted: list[tuple[str, int]] = []
    steps = [0]
    check = sim.aws.observer

    def each_step() -> None:
        check()
        steps[0] += 1
        if acted or not waiting_for_approval(sim):
            return
        previous, sim.aws.caller = sim.aws.caller, "operator"
        try:
            if engine == "ECS_NATIVE":  # `blue-green-ecs status` first (CodeDeploy's reads APIs not modelled here)
                lines, _ = deployments.status(sim.clients, target, now=lambda: sim.aws.now)
                assert any("waiting for approval: blue-green-ecs approve (or reject)" in x for x in lines), lines
            acted.append((getattr(deployments, command)(sim.clients, target), steps[0]))
        finally:
            sim.aws.caller = previous

    sim.aws.observer = each_step
    return acted


@pytest.mark.parametrize("engine", ENGINES)
def test_approved_deployments_shift_only_after_the_approval_on_each_day(sim: World, engine: str) -> None:
    # given a stack with deployment_approval_wait_time
    created(sim, engine, "approval")
    for revision, old, new in ((1, "Blue", "Green"), (2, "Green", "Blue"), (3, "Blue", "Green")):
        moved = green_weights(sim, old)
        acted = operator(sim, engine, "approve")
        # when an image is deployed and the operator approves it while it waits
        apply(sim, template(engine, "approval", image=f"{IMAGE}:{revision}"))
        # then production moved only after the approval, and all of it
        [(printed, at)] = acted
        assert printed.startswith("approved deployment"), printed
        assert max(moved[:at]) == 0
        assert moved[-1] == 100
        assert production_colour(sim) == new


@pytest.mark.parametrize("engine", ENGINES)
def test_a_rejected_deployment_rolls_back_without_moving_production_and_the_next_one_deploys(
    sim: World, engine: str
) -> None:
    # given a stack with deployment_approval_wait_time after one approved deployment (production on green)
    created(sim, engine, "approval")
    operator(sim, engine, "approve")
    apply(sim, template(engine, "approval", image=f"{IMAGE}:1"))
    # when the next image is rejected while it waits
    moved = green_weights(sim, "Green")
    acted = operator(sim, engine, "reject")
    status = sim.stack.deploy(template(engine, "approval", image=f"{IMAGE}:2"))
    # then the deployment rolled back, production never moved, and the stack says why
    [(printed, _)] = acted
    assert printed.startswith("rejected deployment"), printed
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert max(moved) == 0
    assert production_colour(sim) == "Green"
    expected = "answered by ContinueServiceDeployment: ROLLBACK" if engine == "ECS_NATIVE" else "(DEPLOYMENT_STOPPED)"
    assert expected in sim.stack.reason
    # and the next image, approved, deploys
    operator(sim, engine, "approve")
    apply(sim, template(engine, "approval", image=f"{IMAGE}:3"))
    assert production_colour(sim) == "Blue"
