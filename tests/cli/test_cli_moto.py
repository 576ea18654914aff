"""status, approve, reject, rollback and watch against moto's CodeDeploy (tests/moto_worlds.py).

What moto decides here, and the Stubber tests (test_cli_deployments.py) wrote themselves: which deployment is the
group's active one (ListDeployments filtered by group and includeOnlyStatuses, GetDeployment's status), and that
another group's deployment is not it.

moto gaps, kept on the Stubber tests: CodeDeploy's ContinueDeployment, StopDeployment, ListDeploymentTargets,
BatchGetDeploymentTargets and GetDeploymentConfig (not in moto's codedeploy responses.py), so approving, rolling
back and showing a deployment in flight; GetDeploymentGroup's alarmConfiguration (moto answers ``{}``: "TODO" in
its responses.py); every deployment status after Created, and GetDeployment's rollbackInfo (not in its
DeploymentInfo), so watching a rollback; ECS's ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment and ContinueServiceDeployment (the ECS-native engine's commands,
approve and reject included: test_cli_approvals.py); and CloudFormation's
DescribeStackResources (``resolve``), as moto's cloudformation needs its own extra, which the dev extra does not
install.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from blue_green_ecs.cli import deployments
from blue_green_ecs.cli.deployments import NOTHING_TO_DO, CliError, Target

from ..moto_worlds import Account, moto_account


@dataclass(frozen=True)
class World:
    account: Account
    idle: Target  # a group without a deployment
    busy: Target  # a group whose deployment moto keeps in status Created
    deployment: str  # the busy group's deployment


@pytest.fixture
def world() -> Iterator[World]:
    with moto_account() as account:

        def target(service: str) -> Target:
            application, group = account.deployment_group("shop", service)
            return Target("codedeploy", cluster="shop", service=service, application=application, group=group)

        idle, busy = target("idle"), target("busy")
        yield World(account, idle, busy, account.deployment(busy.application, busy.group))


def clients(world: World) -> dict[str, object]:
    return {name: world.account.client(name) for name in ("codedeploy", "cloudwatch", "ecs")}


def test_status_of_a_group_without_a_deployment_in_flight_ignores_other_groups(world: World) -> None:
    assert deployments.status(clients(world), world.idle) == (
        [f"deployment group {world.idle.group}: no deployment in progress"],
        None,
    )


def test_watch_of_a_group_without_a_deployment_in_flight_prints_it_once_and_exits_0(world: World) -> None:
    out = io.StringIO()

    assert deployments.watch(clients(world), world.idle, out=out, sleep=lambda _: None) == 0

    assert out.getvalue() == f"deployment group {world.idle.group}: no deployment in progress\n"


def test_approve_refuses_the_active_deployment_unless_it_waits_for_approval(world: World) -> None:
    with pytest.raises(CliError) as refused:
        deployments.approve(clients(world), world.busy)

    assert (str(refused.value), refused.value.exit_code) == (
        f"Nothing to approve: deployment {world.deployment} is Created; approve continues a deployment in status "
        "Ready.",
        NOTHING_TO_DO,
    )


def test_approve_and_rollback_without_a_deployment_in_flight_have_nothing_to_do(world: World) -> None:
    with pytest.raises(CliError) as approving:
        deployments.approve(clients(world), world.idle)
    with pytest.raises(CliError) as rolling_back:
        deployments.rollback(clients(world), world.idle)

    assert [(str(e.value), e.value.exit_code) for e in (approving, rolling_back)] == [
        (
            "Nothing to approve: no deployment in progress; approve continues a deployment in status Ready.",
            NOTHING_TO_DO,
        ),
        ("Nothing to roll back: no deployment in progress.", NOTHING_TO_DO),
    ]


def test_reject_refuses_a_deployment_not_waiting_for_approval_and_points_at_rollback(world: World) -> None:
    with pytest.raises(CliError) as busy:
        deployments.reject(clients(world), world.busy)
    with pytest.raises(CliError) as idle:
        deployments.reject(clients(world), world.idle)

    assert [(str(e.value), e.value.exit_code) for e in (busy, idle)] == [
        (
            f"Nothing to reject: deployment {world.deployment} is Created; reject stops a deployment in status Ready; "
            "to stop it, use blue-green-ecs rollback.",
            NOTHING_TO_DO,
        ),
        ("Nothing to reject: no deployment in progress; reject stops a deployment in status Ready.", NOTHING_TO_DO),
    ]
