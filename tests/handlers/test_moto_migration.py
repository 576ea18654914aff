"""The migration hook's ECS calls against moto (tests/moto_worlds.py).

What moto decides here: that RunTask takes the request the hook sends for a Fargate task definition in awsvpc mode
(moto refuses one without networkConfiguration), that ListTasks filters by startedBy and desired status (so a
re-invocation finds the task the first one started and starts no other), and that DescribeTasks walks the task
from RUNNING to STOPPED (moto's state manager, set to advance on every read) with the container's exitCode, which
moto always reports as 0. Non-zero exits, stopCode and stoppedReason, GetDeployment's AppSpec and
DescribeServiceRevisions (not in moto) are on the Stubber tests (test_migration.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from moto.moto_api import state_manager

from blue_green_ecs.handlers.migration import MigrationConfig, started_by, step

from ..authorization.calls import CODE_DEPLOY, ECS_NATIVE
from ..moto_worlds import REGION, Account, Network, moto_account
from .conftest import CallChecker

# The task definition family of each engine's service in configurations.migration: its role runs that family only.
FAMILY = {CODE_DEPLOY: "shop-api", ECS_NATIVE: "shop-native"}


def _network(account: Account) -> Network:
    """moto's RunTask names the task's network interface by its private DNS name, which moto gives only in a VPC
    with DNS host names enabled (as the CDK's ec2.Vpc has them)."""
    network = account.network()
    account.client("ec2").modify_vpc_attribute(VpcId=network.vpc, EnableDnsHostnames={"Value": True})
    return network


@dataclass(frozen=True)
class World:
    """A cluster in a VPC, and two revisions of each engine's family (built before the tests' calls are checked)."""

    account: Account
    cluster: str
    config: MigrationConfig
    revisions: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "immediate"})
    try:
        with moto_account() as account:
            network = _network(account)
            cluster = account.cluster()
            # moto requires securityGroups (AWS takes the VPC's default security group without them).
            config = MigrationConfig.from_env(
                {
                    "CLUSTER": cluster,
                    "SUBNETS": ",".join(network.subnets),
                    "SECURITY_GROUPS": network.security_group,
                    "CONTAINER_NAME": "web",
                    "COMMAND": json.dumps(["./migrate"]),
                }
            )
            revisions = {
                e: (account.task_definition(f, container_memory=512), account.task_definition(f, container_memory=512))
                for e, f in FAMILY.items()
            }
            yield World(account, cluster, config, revisions)
    finally:
        state_manager.unset_transition(model_name="ecs::task")


@pytest.mark.parametrize("engine", [CODE_DEPLOY, ECS_NATIVE])
def test_starts_the_new_task_definition_once_and_passes_on_exit_zero(
    world: World, engine: str, authorized_aws_calls: CallChecker
) -> None:
    # given: the deployment's new revision of the service's family
    _, new = world.revisions[engine]
    ecs = world.account.client("ecs")
    tag = started_by(f"d-ONCE{engine.replace('_', '')}")
    asked: list[str] = []

    def task_definition() -> str:
        asked.append(new)
        return new

    # when the hook looks three times, as the engine's role
    with authorized_aws_calls.running_under(engine):
        outcomes = [step(ecs, world.config, task_definition, tag, REGION) for _ in range(3)]

    # then one task of the new revision ran, with the command override, and its exit 0 passed the hook
    cluster = world.cluster
    tasks = ecs.list_tasks(cluster=cluster, startedBy=tag, desiredStatus="RUNNING")["taskArns"]
    tasks += ecs.list_tasks(cluster=cluster, startedBy=tag, desiredStatus="STOPPED")["taskArns"]
    assert len(tasks) == 1
    assert asked == [new]
    described = ecs.describe_tasks(cluster=cluster, tasks=tasks)["tasks"][0]
    assert described["taskDefinitionArn"] == new
    assert described["overrides"]["containerOverrides"] == [{"name": "web", "command": ["./migrate"]}]
    assert outcomes[0].done is False
    assert (outcomes[-1].done, outcomes[-1].passed) == (True, True), outcomes


def test_another_deployment_runs_its_own_task(world: World, authorized_aws_calls: CallChecker) -> None:
    first, second = world.revisions[CODE_DEPLOY]
    ecs = world.account.client("ecs")
    with authorized_aws_calls.running_under(CODE_DEPLOY):
        step(ecs, world.config, lambda: first, started_by("d-ONE"), REGION)
        step(ecs, world.config, lambda: second, started_by("d-TWO"), REGION)
    cluster = world.cluster
    ran = {
        ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster, startedBy=tag)["taskArns"])["tasks"][
            0
        ]["taskDefinitionArn"]
        for tag in (started_by("d-ONE"), started_by("d-TWO"))
    }
    assert ran == {first, second}


def test_the_role_runs_only_its_services_family(world: World, authorized_aws_calls: CallChecker) -> None:
    """The IAM model denies the CODE_DEPLOY service's role a revision of the other service's family: RunTask is
    granted on the role's own family (checked, then the problem taken back so the test can pass)."""
    _, other = world.revisions[ECS_NATIVE]
    ecs = world.account.client("ecs")
    with authorized_aws_calls.running_under(CODE_DEPLOY):
        step(ecs, world.config, lambda: other, started_by("d-OTHERFAMILY"), REGION)
    denied = [p for p in authorized_aws_calls.problems if p.startswith("ecs:RunTask by ApiMigrationRole")]
    assert len(denied) == 1, authorized_aws_calls.problems
    assert "task-definition/shop-api:*" in denied[0]
    authorized_aws_calls.problems.remove(denied[0])
