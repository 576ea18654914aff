"""The test traffic router against moto (tests/moto_worlds.py): the header rule moved by ModifyRule, read back.

What moto decides here, and the Stubber tests (test_test_traffic_router.py) wrote themselves: how DescribeListeners
and DescribeRules describe plain and weighted forwards and priorities, that DescribeRules pages with
Marker/NextMarker (moto: 50 rules a page), that ModifyRule accepts the forward the router writes, and how the
rule reads afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from blue_green_ecs.handlers.lifecycle_hook import HookFailedError
from blue_green_ecs.handlers.test_traffic_router import route

from ..moto_worlds import Account, LoadBalancer, forward, moto_account, not_found, weighted
from .conftest import CallChecker

HEADER = "x-blue-green-test"
OTHER_RULES = 60  # other services' rules on the shared listener: more than moto's page of 50


@dataclass(frozen=True)
class Scenario:
    """One service's load balancer, target groups, production listener and header rule."""

    load_balancer: LoadBalancer
    blue: str
    green: str
    listener: str
    header_rule: str

    def environment(self, *, shared: bool = False, prod_rule: str = "") -> dict[str, str]:
        """The router's environment as the construct sets it (a shared listener is named by ARN)."""
        return {
            "PROD_LISTENER_ARN": self.listener if shared else "",
            "LOAD_BALANCER_ARN": self.load_balancer.arn,
            "PROD_PORT": "443",
            "PROD_RULE_PRIORITY": prod_rule,
            "TEST_TRAFFIC_RULE_PRIORITY": "10",
            "BLUE_TARGET_GROUP_ARN": self.blue,
            "GREEN_TARGET_GROUP_ARN": self.green,
        }


@dataclass(frozen=True)
class World:
    account: Account
    before: Scenario  # CODE_DEPLOY: production and the header rule on blue, green's tasks registered
    settled: Scenario  # CODE_DEPLOY: production on green (weighted 0/100), the header rule already on blue
    split: Scenario  # CODE_DEPLOY: a canary moved 10% of production
    shared: Scenario  # ECS_NATIVE: a shared listener, the service's rules after 60 others


def _scenario(account: Account, production: str, header: str, prod_rule: str = "") -> Scenario:
    """A listener whose production is ``production`` (blue, green, split, or on a rule) and a header rule."""
    network = account.network()
    load_balancer = account.load_balancer(network)
    blue, green = account.target_group(network, "blue"), account.target_group(network, "green")
    shares = {"blue": ((blue, 100), (green, 0)), "green": ((blue, 0), (green, 100)), "split": ((blue, 90), (green, 10))}
    if prod_rule:
        listener = account.listener(load_balancer, 443, not_found())
        for priority in range(100, 100 + OTHER_RULES):
            account.rule(listener, priority, forward(account.target_group(network, "other")))
        account.rule(listener, int(prod_rule), weighted(*shares[production]))
    else:
        listener = account.listener(load_balancer, 443, weighted(*shares[production]))
    rule = account.rule(listener, 10, forward(blue if header == "blue" else green), header=HEADER)
    return Scenario(load_balancer, blue, green, listener, rule)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        yield World(
            account,
            before=_scenario(account, production="blue", header="blue"),
            settled=_scenario(account, production="green", header="blue"),
            split=_scenario(account, production="split", header="blue"),
            shared=_scenario(account, production="blue", header="blue", prod_rule="7"),
        )


def test_code_deploy_moves_the_header_rule_to_the_target_group_production_does_not_use(world: World) -> None:
    scenario = world.before
    elbv2 = world.account.client("elbv2")

    assert route(elbv2, scenario.environment())

    assert world.account.rule_actions(scenario.header_rule) == forward(scenario.green)


def test_a_header_rule_already_on_green_is_left_alone(world: World, authorized_aws_calls: CallChecker) -> None:
    # given production on green after a deployment: green's tasks are in blue, where the header rule forwards
    scenario = world.settled

    assert route(world.account.client("elbv2"), scenario.environment())

    assert "elasticloadbalancing:ModifyRule" not in authorized_aws_calls.calls
    assert world.account.rule_actions(scenario.header_rule) == forward(scenario.blue)


def test_split_production_fails_the_hook_and_moves_nothing(world: World) -> None:
    scenario = world.split

    with pytest.raises(HookFailedError) as failed:
        route(world.account.client("elbv2"), scenario.environment())

    assert str(failed.value) == (
        f"Production traffic of listener {scenario.listener} goes to {sorted([scenario.blue, scenario.green])}, not "
        f"to exactly one of the service's target groups {[scenario.blue, scenario.green]}: cannot tell which one "
        "green runs in, so the test traffic rule was not moved."
    )
    assert world.account.rule_actions(scenario.header_rule) == forward(scenario.blue)


def test_ecs_native_reads_production_from_its_rule_on_a_shared_listener_page_by_page(
    world: World, authorized_aws_calls: CallChecker
) -> None:
    # given a shared listener: 60 other services' rules, then the service's production rule (7, on blue) and its
    # header rule (10), both on moto's second page of DescribeRules
    scenario = world.shared

    assert route(world.account.client("elbv2"), scenario.environment(shared=True, prod_rule="7"))
    made = list(authorized_aws_calls.calls)

    assert made == [*["elasticloadbalancing:DescribeRules"] * 2, "elasticloadbalancing:ModifyRule"]
    assert world.account.rule_actions(scenario.header_rule) == forward(scenario.green)
