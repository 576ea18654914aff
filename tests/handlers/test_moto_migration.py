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

import pytest
from moto.moto_api import state_manager

from blue_green_ecs.handlers.migration import MigrationConfig, started_by, step

from ..moto_worlds import REGION, Account, Network, moto_account


@pytest.fixture(autouse=True)
def authorized_aws_calls() -> None:
    """Not yet checked against IAM: the construct creates no role for this handler yet (issue #26 item 6 is
    delivered handler first); tests/handlers/conftest.py's IAM check takes over when ROLE_IN_TEMPLATE has it."""
    return


def _network(account: Account) -> Network:
    """moto's RunTask names the task's network interface by its private DNS name, which moto gives only in a VPC
    with DNS host names enabled (as the CDK's ec2.Vpc has them)."""
    network = account.network()
    account.client("ec2").modify_vpc_attribute(VpcId=network.vpc, EnableDnsHostnames={"Value": True})
    return network


def _revision(account: Account) -> str:
    """A new Fargate revision of family ``web``; moto's RunTask needs the container's memory, which
    moto_worlds.task_definition leaves to the task."""
    created = account.client("ecs").register_task_definition(
        family="web",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "web", "image": "nginx", "memory": 512, "essential": True}],
    )
    return str(created["taskDefinition"]["taskDefinitionArn"])


@pytest.fixture
def account() -> Iterator[Account]:
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "immediate"})
    try:
        with moto_account() as account:
            yield account
    finally:
        state_manager.unset_transition(model_name="ecs::task")


def test_starts_the_new_task_definition_once_and_passes_on_exit_zero(account: Account) -> None:
    # given a cluster, the stack's old revision and the deployment's new one
    network = _network(account)
    cluster = account.cluster()
    _revision(account)
    new = _revision(account)
    ecs = account.client("ecs")
    config = MigrationConfig.from_env(
        {
            "CLUSTER": cluster,
            "SUBNETS": ",".join(network.subnets),
            "SECURITY_GROUPS": network.security_group,
            "CONTAINER_NAME": "web",
            "COMMAND": json.dumps(["./migrate"]),
        }
    )
    tag = started_by("d-MOTO1")
    asked: list[str] = []

    def task_definition() -> str:
        asked.append(new)
        return new

    # when the hook looks three times
    outcomes = [step(ecs, config, task_definition, tag, REGION) for _ in range(3)]

    # then one task of the new revision ran, with the command override, and its exit 0 passed the hook
    tasks = ecs.list_tasks(cluster=cluster, startedBy=tag, desiredStatus="RUNNING")["taskArns"]
    tasks += ecs.list_tasks(cluster=cluster, startedBy=tag, desiredStatus="STOPPED")["taskArns"]
    assert len(tasks) == 1
    assert asked == [new]
    described = ecs.describe_tasks(cluster=cluster, tasks=tasks)["tasks"][0]
    assert described["taskDefinitionArn"] == new
    assert described["overrides"]["containerOverrides"] == [{"name": "web", "command": ["./migrate"]}]
    assert outcomes[0].done is False
    assert (outcomes[-1].done, outcomes[-1].passed) == (True, True), outcomes


def test_another_deployment_runs_its_own_task(account: Account) -> None:
    network = _network(account)
    cluster = account.cluster()
    first, second = _revision(account), _revision(account)
    ecs = account.client("ecs")
    # moto requires securityGroups (AWS takes the VPC's default security group without them).
    env = {
        "CLUSTER": cluster,
        "SUBNETS": network.subnets[0],
        "SECURITY_GROUPS": network.security_group,
        "CONTAINER_NAME": "web",
        "COMMAND": '["./migrate"]',
    }
    config = MigrationConfig.from_env(env)
    step(ecs, config, lambda: first, started_by("d-ONE"), REGION)
    step(ecs, config, lambda: second, started_by("d-TWO"), REGION)
    ran = {
        ecs.describe_tasks(cluster=cluster, tasks=ecs.list_tasks(cluster=cluster, startedBy=tag)["taskArns"])["tasks"][
            0
        ]["taskDefinitionArn"]
        for tag in (started_by("d-ONE"), started_by("d-TWO"))
    }
    assert ran == {first, second}
