"""The pre-flight check against moto (tests/moto_worlds.py): alarms in every state, a service, subnets short of addresses.

What moto decides here, and the Stubber tests (test_preflight.py) wrote themselves: what DescribeAlarms answers
for metric alarms in OK, INSUFFICIENT_DATA and ALARM (set with SetAlarmState) and for a name that does not
exist, the subnets' AvailableIpAddressCount once other network interfaces took addresses (AWS keeps 5 of each
subnet: a /28 has 11), DescribeServices' desired count of a service named by ARN in a cluster named by ARN, its
failure for a service that does not exist, and DescribeSubnets' error for a subnet that does not exist (whose
message moto gets wrong: see the test).

moto gaps, kept on the Stubber tests: CodeDeploy's PutLifecycleEventHookExecutionStatus (not in moto's
codedeploy responses.py: the report goes to a Stubber here), PutCompositeAlarm (composite alarms), and
CreateService's deploymentConfiguration, which moto drops, so the service's own rollback alarms
(ALARM_NAMES_FROM_SERVICE, the ECS-native engine's) cannot come from moto.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.stub import Stubber

from blue_green_ecs.handlers.preflight import make_handler

from ..moto_worlds import ACCOUNT, REGION, Account, Network, moto_account

CODEDEPLOY_EVENT = {"DeploymentId": "d-NEW", "LifecycleEventHookExecutionId": "hook-exec-1"}
FIRING_REASON = "Threshold Crossed: 1 datapoint [7.0] was greater than or equal to the threshold (1.0)."
MISSING_ALARM = "deleted-rollback-alarm"


@dataclass(frozen=True)
class World:
    """Alarms in each state, two task subnets with 2 and 1 free addresses, services of 3 and 4 tasks."""

    account: Account
    network: Network
    cluster_arn: str
    fits: str  # ARN of a service of 3 tasks: exactly the free addresses
    too_big: str  # ARN of a service of 4 tasks
    ok: str
    quiet: str  # INSUFFICIENT_DATA
    firing: str
    firing_since: Any  # its StateUpdatedTimestamp, as DescribeAlarms answers


def _build(account: Account) -> World:
    network = account.network(subnets=("10.0.0.0/28", "10.0.0.16/28"))
    account.occupy(network.subnets[0], leave_free=2)
    account.occupy(network.subnets[1], leave_free=1)
    cluster = account.cluster()
    task_definition = account.task_definition()
    target_group = account.target_group(network, "blue")
    arn = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}"
    fits = account.service(cluster, task_definition, target_group, network, desired=3)
    too_big = account.service(cluster, task_definition, target_group, network, desired=4)
    firing = account.alarm("ALARM", FIRING_REASON, {"recentDatapoints": [7.0], "threshold": 1.0})
    return World(
        account=account,
        network=network,
        cluster_arn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{cluster}",
        fits=f"{arn}/{fits}",
        too_big=f"{arn}/{too_big}",
        ok=account.alarm("OK", "Threshold Crossed: no datapoint was greater than or equal to the threshold (1.0)."),
        quiet=account.alarm("INSUFFICIENT_DATA", "Insufficient Data: 1 datapoint was unknown."),
        firing=firing,
        firing_since=account.describe_alarm(firing)["StateUpdatedTimestamp"],
    )


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        yield _build(account)


@pytest.fixture
def report(world: World) -> Iterator[Stubber]:
    """CodeDeploy's side of the hook: moto has no PutLifecycleEventHookExecutionStatus."""
    with Stubber(world.account.client("codedeploy")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def expect_report(report: Stubber, status: str) -> None:
    report.add_response(
        "put_lifecycle_event_hook_execution_status",
        {"lifecycleEventHookExecutionId": "hook-exec-1"},
        {"deploymentId": "d-NEW", "lifecycleEventHookExecutionId": "hook-exec-1", "status": status},
    )


def environment(world: World, service: str, alarms: list[str], subnets: tuple[str, ...]) -> dict[str, str]:
    """The environment as the construct sets it under CodeDeploy (both checks on)."""
    return {
        "ALARM_NAMES": json.dumps(alarms),
        "SUBNET_IDS": ",".join(subnets),
        "CLUSTER_ARN": world.cluster_arn,
        "SERVICE_ARN": service,
        "IP_ADDRESS_HEADROOM": "0",
    }


def run(world: World, environ: dict[str, str], event: dict[str, Any] = CODEDEPLOY_EVENT) -> Any:
    account = world.account
    handler = make_handler(
        client=account.client("codedeploy"),
        cloudwatch_client=account.client("cloudwatch"),
        ecs_client=account.client("ecs"),
        ec2_client=account.client("ec2"),
        environ=environ,
    )
    return handler(event, None)


def logged(capsys: pytest.CaptureFixture[str], action: str) -> dict[str, Any]:
    """The hook's one log line of ``action``."""
    lines: list[dict[str, Any]] = [json.loads(text) for text in capsys.readouterr().out.splitlines() if text[:1] == "{"]
    [line] = [
        found for found in lines if (found.get("logger"), found.get("action")) == ("blue_green_ecs.preflight", action)
    ]
    return line


def test_alarms_not_in_alarm_and_exactly_enough_addresses_pass(
    world: World, report: Stubber, capsys: pytest.CaptureFixture[str]
) -> None:
    # given OK, INSUFFICIENT_DATA and a deleted alarm; 3 tasks and 2 + 1 free addresses
    alarms = [world.ok, world.quiet, MISSING_ALARM]
    expect_report(report, "Succeeded")

    result = run(world, environment(world, world.fits, alarms, world.network.subnets))

    assert result == {"DeploymentId": "d-NEW", "Status": "Succeeded", "Reason": "hook passed"}
    assert logged(capsys, "alarms") == {
        "logger": "blue_green_ecs.preflight",
        "action": "alarms",
        "checked": 3,
        "states": {world.ok: "OK", world.quiet: "INSUFFICIENT_DATA"},
        "in_alarm": [],
        "not_found": [MISSING_ALARM],
    }


def test_an_alarm_in_alarm_and_too_few_addresses_fail_with_both_reasons(world: World, report: Stubber) -> None:
    # given the firing alarm among OK ones, and 4 tasks for 3 free addresses
    alarms = [world.ok, world.firing]
    expect_report(report, "Failed")
    first, second = world.network.subnets

    result = run(world, environment(world, world.too_big, alarms, world.network.subnets))

    assert result == {
        "DeploymentId": "d-NEW",
        "Status": "Failed",
        "Reason": (
            "pre-flight check failed: 1 rollback alarm(s) already in ALARM, so the deployment could only roll back: "
            f"'{world.firing}' (since {world.firing_since}: {FIRING_REASON}). Fix what the alarm reports, or wait "
            "until it is OK, then deploy again. | the task subnets have 3 free IP address(es) "
            f"({first}: 2, {second}: 1) and green needs 4: 4 task(s) at the service's desired count, one address "
            "each. Free addresses in these subnets (unused network interfaces, other services), give the service "
            "more or larger subnets (task_subnets), or lower its desired count, then deploy again."
        ),
    }


def test_a_subnet_that_does_not_exist_fails_with_ec2s_error(world: World, report: Stubber) -> None:
    # given a task subnet deleted since the template was written (subnet ids are 17 hex digits)
    gone = "subnet-0fffffffffffffff0"
    subnets = (world.network.subnets[0], gone)
    expect_report(report, "Failed")

    result = run(world, environment(world, world.fits, [world.ok], subnets))

    # then EC2 refuses the whole call (InvalidSubnetID.NotFound, EC2 API Reference "Error codes"), so the hook says
    # which call failed and why. moto 5.2.5 names any one of the requested subnets, the existing one too (its
    # describe_subnets subtracts Subnet objects from the ids, so every id is "unknown"); AWS names the missing one.
    prefix = f"pre-flight check failed: cannot read the free IP addresses of subnets {subnets[0]}, {gone} "
    assert result["Reason"] in {
        f"{prefix}(ec2:DescribeSubnets): InvalidSubnetID.NotFound: The subnet ID '{named}' does not exist"
        for named in subnets
    }


def test_under_ecs_the_service_of_the_event_is_sized_and_a_missing_one_is_named(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # given Amazon ECS's PRE_SCALE_UP event naming a service that does not exist; no alarm check configured
    environ = environment(world, "", [], world.network.subnets)
    del environ["ALARM_NAMES"], environ["SERVICE_ARN"]
    gone = world.fits.rsplit("/", 1)[0] + "/deleted"
    event = {"executionId": "exec-1", "lifecycleStage": "PRE_SCALE_UP", "executionDetails": {"serviceArn": gone}}

    result = run(world, environ, event)

    # then ECS's reason for the missing service, and no CodeDeploy report (the client is moto's: it has no report)
    assert result == {"hookStatus": "FAILED"}
    assert logged(capsys, "result")["problems"] == [
        f"cannot read service {gone} in cluster {world.cluster_arn}: MISSING"
    ]
