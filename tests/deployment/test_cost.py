"""What a deployment costs beyond the service: blue and green side by side, against hand-computed numbers.

Each timeline is the one tests/cli/test_cli.py checks (60 s task start + 2 x 10 s health checks, then the shift,
the termination wait or ECS bake time, 30 s of draining); the overlap runs from green's launch (0:00) until blue
is drained. Fargate bills per second with a one-minute minimum per task (https://aws.amazon.com/fargate/pricing/).
"""

from __future__ import annotations

import dataclasses
import re
from fractions import Fraction

import pytest

from blue_green_ecs.cli.main import main
from blue_green_ecs.deployment.cost import CostInputs, describe, overlap
from blue_green_ecs.deployment.timeline import PlanInputs, plan


def _hours(seconds: int) -> Fraction:
    return Fraction(seconds, 3600)


@pytest.mark.parametrize(
    ("inputs", "cost", "seconds", "vcpu_hours", "gb_hours"),
    [
        # CodeDeploy canary 10% / 5 min, wait 5: 80 s + 300 s + 300 s + 30 s; 2 tasks of 0.25 vCPU and 0.5 GB
        (PlanInputs(), CostInputs(), 710, 2 * Fraction(1, 4) * _hours(710), 2 * Fraction(1, 2) * _hours(710)),
        # ECS canary 5% / 10 min, bake 15: 80 + 600 + 900 + 30; 3 tasks of 0.5 vCPU and 1 GB
        (
            PlanInputs(engine="ecs", percent=5, interval_minutes=10, termination_wait_minutes=15),
            CostInputs(tasks=3, task_cpu=512, task_memory_mib=1024),
            1610,
            3 * Fraction(1, 2) * _hours(1610),
            3 * 1 * _hours(1610),
        ),
        # CodeDeploy linear 25% every 3 min, wait 10: 80 + 3 x 180 + 600 + 30; 4 tasks of 1 vCPU and 2 GB
        (
            PlanInputs(shift="linear", percent=25, interval_minutes=3, termination_wait_minutes=10),
            CostInputs(tasks=4, task_cpu=1024, task_memory_mib=2048),
            1250,
            4 * 1 * _hours(1250),
            4 * 2 * _hours(1250),
        ),
        # ECS linear 20% every 2 min, bake 10: 80 + 4 x 120 + 600 + 30
        (
            PlanInputs(engine="ecs", shift="linear", percent=20, interval_minutes=2, termination_wait_minutes=10),
            CostInputs(tasks=4, task_cpu=1024, task_memory_mib=2048),
            1190,
            4 * 1 * _hours(1190),
            4 * 2 * _hours(1190),
        ),
        # CodeDeploy all at once, no wait, 15 minutes' approval before traffic moves: 80 + 900 + 30
        (
            PlanInputs(shift="all-at-once", termination_wait_minutes=0),
            CostInputs(approval_wait_minutes=15),
            1010,
            2 * Fraction(1, 4) * _hours(1010),
            2 * Fraction(1, 2) * _hours(1010),
        ),
        # ECS all at once, no bake time: 80 + 30; 10 tasks of 4 vCPU and 8 GB
        (
            PlanInputs(engine="ecs", shift="all-at-once", termination_wait_minutes=0),
            CostInputs(tasks=10, task_cpu=4096, task_memory_mib=8192),
            110,
            10 * 4 * _hours(110),
            10 * 8 * _hours(110),
        ),
    ],
)
def test_the_extra_is_one_task_set_for_the_overlap(
    inputs: PlanInputs, cost: CostInputs, seconds: int, vcpu_hours: Fraction, gb_hours: Fraction
) -> None:
    result = overlap(plan(inputs), cost)

    assert result.seconds == seconds
    assert result.vcpu_hours == pytest.approx(float(vcpu_hours), rel=1e-12)
    assert result.gb_hours == pytest.approx(float(gb_hours), rel=1e-12)
    assert result.dollars is None


def test_a_dollar_figure_only_from_the_prices_given() -> None:
    cost = CostInputs(tasks=4, task_cpu=1024, task_memory_mib=2048, vcpu_hour_price=0.04, gb_hour_price=0.005)
    timeline = plan(
        PlanInputs(engine="ecs", shift="linear", percent=20, interval_minutes=2, termination_wait_minutes=10)
    )

    # 4 vCPU and 8 GB for 1190 s
    expected = 4 * _hours(1190) * Fraction("0.04") + 8 * _hours(1190) * Fraction("0.005")
    assert overlap(timeline, cost).dollars == pytest.approx(float(expected), rel=1e-12)


def test_fargate_bills_at_least_a_minute() -> None:
    # given: a timeline shorter than a minute (no task start, health checks or draining assumed)
    timeline = plan(
        PlanInputs(
            shift="all-at-once",
            termination_wait_minutes=0,
            task_start_seconds=0,
            health_check_interval_seconds=5,
            deregistration_delay_seconds=0,
        )
    )
    assert timeline.drained == 10

    assert overlap(timeline, CostInputs(tasks=1)).seconds == 60


@pytest.mark.parametrize(
    ("cost", "message"),
    [
        (CostInputs(tasks=0), "Invalid tasks=0: use a whole number of 1 or more."),
        (CostInputs(task_cpu=-256), "Invalid task_cpu=-256: use a whole number of 1 or more."),
        (CostInputs(approval_wait_minutes=-1), "Invalid approval_wait_minutes=-1: use a whole number of 0 or more."),
        (
            CostInputs(vcpu_hour_price=-0.1, gb_hour_price=0.1),
            "Invalid vcpu_hour_price=-0.1: use a price of zero or more.",
        ),
        (
            CostInputs(vcpu_hour_price=0.04),
            "Invalid vcpu_hour_price and gb_hour_price: give both prices, or neither.",
        ),
    ],
)
def test_rejects_sizes_no_service_has_and_half_a_price(cost: CostInputs, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        overlap(plan(PlanInputs()), cost)


def test_plan_prints_the_extra_and_names_the_option_of_a_bad_value(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--engine", "ecs", "--shift", "linear", "--percent", "20", "--interval", "2",
                 "--termination-wait", "10", "--desired-count", "4", "--task-cpu", "1024", "--task-memory", "2048",
                 "--vcpu-hour-price", "0.04", "--gb-hour-price", "0.005"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "  blue and green side by side for 19:50 (0.3306 h): 4 extra task(s) of 1 vCPU and 2 GB\n"
        "  extra: 1.322 vCPU-hours and 2.644 GB-hours per deployment (Fargate bills per second, at least a minute "
        "per task)\n"
        "  at 0.04 per vCPU-hour and 0.005 per GB-hour: 0.0661 per deployment\n"
    ) in out
    # without prices, no money is printed
    assert main(["plan"]) == 0
    assert "per vCPU-hour and" not in capsys.readouterr().out
    assert main(["plan", "--desired-count", "0"]) == 1
    assert (
        capsys.readouterr().err
        == "blue-green-ecs: error: Invalid --desired-count=0: use a whole number of 1 or more.\n"
    )


def test_a_migration_task_delays_green_and_costs_one_task_of_its_own() -> None:
    # given: the default canary behind a 15-minute migration task, 2 tasks of 1 vCPU and 2 GB
    without = plan(PlanInputs())
    timeline = plan(PlanInputs(migration_minutes=15))
    cost = CostInputs(tasks=2, task_cpu=1024, task_memory_mib=2048, vcpu_hour_price=0.04, gb_hour_price=0.005)
    # then: every step after the migration moves by its 900 s, the total with it
    assert timeline.green_starts == 900
    assert timeline.rows()[:2] == [
        (0, "deployment starts: migration task runs (worst case 15 min); blue serves alone"),
        (900, "migration task done: green task set launching"),
    ]
    assert [at - 900 for at, _ in timeline.rows()[2:]] == [at for at, _ in without.rows()[1:]]
    assert timeline.total == without.total + 900
    # blue and green overlap no longer than without a migration; the migration is one task for its 15 minutes
    result = overlap(timeline, cost)
    assert result.seconds == overlap(without, cost).seconds == 710
    assert result.migration is not None
    assert (result.migration.tasks, result.migration.seconds) == (1, 900)
    assert result.migration.vcpu_hours == pytest.approx(float(1 * _hours(900)), rel=1e-12)
    assert result.migration.gb_hours == pytest.approx(float(2 * _hours(900)), rel=1e-12)
    assert describe(result, cost)[-1] == (
        "migration task: 1 task of 1 vCPU and 2 GB for up to 15:00 (blue serves alone meanwhile): 0.25 vCPU-hours "
        "and 0.5 GB-hours, 0.0125 per deployment"
    )
    assert overlap(without, cost).migration is None


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            PlanInputs(migration_minutes=51),
            "Invalid migration_minutes=51: use the migration task's timeout, a whole number of minutes from 1 to 50, "
            "or 0 without one.",
        ),
        (
            PlanInputs(migration_minutes=40, termination_wait_minutes=10),
            "Invalid migration_minutes=40: with the traffic shift and waits a deployment needs about 1 hour 10 "
            "minutes (with 15 minutes for starting tasks and draining), and `cdk deploy` can wait for at most 55 "
            "minutes; shorten the migration's timeout, the shift or the waits, or set deploy_on_update=False and "
            "start deployments from your pipeline.",
        ),
    ],
)
def test_the_migration_counts_towards_the_hour_cdk_deploy_waits(inputs: PlanInputs, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        plan(inputs)
    # without the trigger (a pipeline deploys) or under ECS, the hour does not apply
    plan(dataclasses.replace(inputs, deploy_on_update=False, migration_minutes=min(inputs.migration_minutes, 50)))
    plan(dataclasses.replace(inputs, engine="ecs", migration_minutes=min(inputs.migration_minutes, 50)))
