"""Day two of the built-in migration task (issue #26, item 6), replayed by the lifecycle simulator.

The engines run the stack's migration function as AWS would (tests/simulator/hooks.py): the real handler, with the
environment CloudFormation gave it, under its own role (RunTask, its iam:PassRole of the task's roles, ListTasks,
DescribeTasks, StopTask, GetDeployment or DescribeServiceRevisions, and its own re-invocation all go through the IAM
model on the template's ARNs; ``world()`` fails the test on a denial), on the model's clock. The task it starts is
the model's (tests/simulator/tasks.py): it runs ``Aws.task_seconds`` and exits with ``Aws.exit_codes[command]``.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from . import test_day_two
from .simulator.templates import LONG_MIGRATION_MINUTES, MIGRATION_COMMAND, template
from .simulator.world import World
from .test_day_two import ENGINES, IMAGE, apply, created, production_colour
from .test_day_two_hooks import watch

sim = test_day_two.sim  # the simulated account, a fixture


def migration_tasks(sim: World) -> list[tuple[str, str, datetime]]:
    """(task definition, startedBy, start) of each one-off task the model ran, in start order."""
    tasks = sorted(sim.aws.tasks.values(), key=lambda task: task.created)
    return [(task.task_definition, task.started_by, task.created) for task in tasks]


def green_started(sim: World) -> dict[str, tuple[datetime, str]]:
    """Task set or revision id -> when it was first seen as the replacement (green), with its task definition;
    filled in as the deployments run."""
    seen: dict[str, tuple[datetime, str]] = {}
    # Blue, which becomes ACTIVE (not PRIMARY) during the termination wait, was never green of these deployments.
    existing = {task_set.id for service in sim.aws.services.values() for task_set in service.task_sets}

    def each_step() -> None:
        for service in sim.aws.services.values():
            for task_set in service.task_sets:
                if task_set.status != "PRIMARY" and task_set.id not in existing:
                    seen.setdefault(task_set.id, (sim.aws.now, task_set.task_definition))

    watch(sim, each_step)
    return seen


@pytest.mark.parametrize("engine", ENGINES)
def test_each_deployment_migrates_once_with_its_new_task_definition_before_green_starts(
    sim: World, engine: str
) -> None:
    # given a stack with the migration task
    created(sim, engine, "migration")
    before = len(migration_tasks(sim))
    greens = green_started(sim)
    # when three images are deployed in a row
    for revision in range(1, 4):
        apply(sim, template(engine, "migration", image=f"{IMAGE}:{revision}"))
    # then each deployment ran one task, of its own new revision, with the migration's command, before its green
    ran = migration_tasks(sim)[before:]
    assert len(ran) == 3, ran
    assert len({started_by for _, started_by, _ in ran}) == 3
    assert all(task.command == MIGRATION_COMMAND for task in sim.aws.tasks.values())
    assert len(greens) == 3, greens
    for (definition, _, started), (green_start, green_definition) in zip(ran, greens.values(), strict=True):
        assert definition == green_definition
        assert started < green_start
    # and the hook passed where each engine runs it, and production moved every time
    stage = "PRE_SCALE_UP" if engine == "ECS_NATIVE" else "BeforeInstall"
    passes = [line for line in sim.aws.hook_log if "Migration" in line and line.split()[1] == stage]
    assert passes
    assert all(line.split()[-1] in ("SUCCEEDED", "Succeeded", "IN_PROGRESS") for line in passes), passes
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_a_failed_migration_fails_the_deployment_before_green_starts_and_the_next_image_deploys(
    sim: World, engine: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a stack with the migration task after one deployment (production on green)
    created(sim, engine, "migration", deployments=1)
    greens = green_started(sim)
    # when the next image's migration exits 1
    sim.aws.exit_codes[MIGRATION_COMMAND] = 1
    capsys.readouterr()
    status = sim.stack.deploy(template(engine, "migration", image=f"{IMAGE}:broken-migration"))
    # then no green task started, production stayed, the stack rolled back, and the reason has the log link
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    assert greens == {}
    assert production_colour(sim) == "Green"
    logs = capsys.readouterr().out
    assert "container web exited 1" in logs
    assert "Logs: https://" in logs
    if engine == "ECS_NATIVE":
        assert "PRE_SCALE_UP returned FAILED" in sim.stack.reason
    else:
        assert "HOOK_EXECUTION_FAILURE" in sim.stack.reason
        assert "BeforeInstall" in sim.stack.reason
        # cdk deploy's error carries the hook's own reason, read back from its log group (hook_reason.py)
        assert "The hook's reason: Migration task arn:aws:ecs:" in sim.stack.reason
        assert "container web exited 1. Logs: https://" in sim.stack.reason
    # and once the migration is fixed, the next image deploys
    sim.aws.exit_codes[MIGRATION_COMMAND] = 0
    apply(sim, template(engine, "migration", image=f"{IMAGE}:fixed-migration"))
    assert production_colour(sim) == "Blue"


def test_codedeploy_waits_for_a_migration_longer_than_one_invocation(
    sim: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a CODE_DEPLOY stack whose migration may take 30 minutes, and a migration that takes 22
    created(sim, "CODE_DEPLOY", "long_migration")
    sim.aws.task_seconds = 22 * 60
    assert sim.aws.task_seconds < LONG_MIGRATION_MINUTES * 60
    capsys.readouterr()
    # when an image is deployed
    apply(sim, template("CODE_DEPLOY", "long_migration", image=f"{IMAGE}:2"))
    # then the function handed over to a fresh invocation of itself once (each invocation within Lambda's
    # 15 minutes, which hooks.run asserts), the one task passed, and production moved
    handed_over = [line for line in capsys.readouterr().out.splitlines() if '"action": "handed-over"' in line]
    assert len(handed_over) == 1, handed_over
    assert len(migration_tasks(sim)) == 1
    assert production_colour(sim) == "Green"
    reports = [line for line in sim.aws.hook_log if "Migration" in line]
    assert [line.split()[-1] for line in reports] == ["Succeeded"], reports


@pytest.mark.parametrize("engine", ENGINES)
def test_a_migration_that_runs_past_its_timeout_is_stopped_and_fails_the_deployment(sim: World, engine: str) -> None:
    # given a stack with the migration task's default 15-minute timeout, and a migration that would take 20
    created(sim, engine, "migration", deployments=1)
    sim.aws.task_seconds = 20 * 60
    # when an image is deployed
    status = sim.stack.deploy(template(engine, "migration", image=f"{IMAGE}:slow-migration"))
    # then the hook stopped the deployment's task at its timeout, and the deployment and the stack failed
    assert status == "UPDATE_ROLLBACK_COMPLETE", sim.stack.reason
    last = max(sim.aws.tasks.values(), key=lambda task: task.created)
    assert last.stopped_reason == "Migration timed out (blue-green-ecs)"
    assert (last.stops - last.created).total_seconds() < 20 * 60
    assert production_colour(sim) == "Green"


@pytest.mark.parametrize("engine", ENGINES)
def test_adding_the_migration_to_a_service_deployed_once_then_deleting_and_creating_it_again(
    sim: World, engine: str
) -> None:
    # given a stack without the migration task, deployed once (production on green)
    created(sim, engine, deployments=1)
    # when the same image's stack is updated to add the migration task
    apply(sim, template(engine, "migration", image=f"{IMAGE}:1"))
    # then the update starts no deployment: no task ran, production stayed on green
    assert migration_tasks(sim) == []
    assert production_colour(sim) == "Green"
    # and the next image migrates once and moves production
    apply(sim, template(engine, "migration", image=f"{IMAGE}:2"))
    assert len(migration_tasks(sim)) == 1
    assert production_colour(sim) == "Blue"
    # and the stack deleted and created again serves production and migrates its next image
    assert sim.stack.delete() == "DELETE_COMPLETE"
    apply(sim, template(engine, "migration"), "CREATE_COMPLETE")
    assert len(migration_tasks(sim)) == 1  # the first create runs none (docs/hooks.md § The first create)
    apply(sim, template(engine, "migration", image=f"{IMAGE}:3"))
    assert len(migration_tasks(sim)) == 2
    assert production_colour(sim) == "Green"
