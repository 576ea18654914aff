"""The smoke test's AWS call against moto (tests/moto_worlds.py): the load balancer's nodes, by their interfaces.

What moto decides here, and the Stubber tests (test_smoke_test.py) wrote themselves: that DescribeNetworkInterfaces
filters on ``description`` (another load balancer's nodes in the same subnets are not matched), and the ``Status`` and ``PrivateIpAddress`` it reports for an attached and a detached interface. The interfaces
are the world's own (moto's CreateLoadBalancer creates none: see tests/moto_worlds.py). moto ignores MaxResults
and never pages DescribeNetworkInterfaces, so the NextToken loop stays on the Stubber tests; the requests to the
nodes are the local servers' there too.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from blue_green_ecs.handlers.lifecycle_hook import HookFailedError
from blue_green_ecs.handlers.smoke_test import load_balancer_addresses

from ..moto_worlds import Account, LoadBalancer, moto_account


@dataclass(frozen=True)
class World:
    account: Account
    serving: LoadBalancer  # a node in use in each subnet, and one being added (detached)
    serving_nodes: tuple[str, ...]  # the in-use nodes' private addresses
    lonely: LoadBalancer  # its only node detached


def _build(account: Account) -> World:
    network = account.network()
    serving, lonely, other = (account.load_balancer(network) for _ in range(3))
    nodes = tuple(account.load_balancer_node(serving, subnet) for subnet in network.subnets)
    account.load_balancer_node(serving, network.subnets[0], in_use=False)
    account.load_balancer_node(lonely, network.subnets[1], in_use=False)
    for subnet in network.subnets:
        account.load_balancer_node(other, subnet)
    return World(account, serving, nodes, lonely)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with moto_account() as account:
        yield _build(account)


def test_the_in_use_interfaces_of_the_load_balancer_are_its_nodes(world: World) -> None:
    addresses = load_balancer_addresses(world.account.client("ec2"), world.serving.full_name)

    assert addresses == tuple(sorted(world.serving_nodes))


def test_a_load_balancer_without_a_node_in_use_fails_the_hook(world: World) -> None:
    with pytest.raises(HookFailedError) as failed:
        load_balancer_addresses(world.account.client("ec2"), world.lonely.full_name)

    assert str(failed.value) == (
        f"no in-use network interfaces found for load balancer {world.lonely.full_name}; is LOAD_BALANCER_FULL_NAME "
        "the full name of a load balancer in this account and region?"
    )
