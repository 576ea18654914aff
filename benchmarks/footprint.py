"""Footprint: what one service, and each further service, adds to a stack.

Counts resources, Lambda functions, IAM roles, IAM policies, state machines, custom resources and
log groups in synthesized templates. Every stack holds the same network (benchmarks/network.py);
"first service" is the stack minus that network, "each further service" the two-service stack minus
the one-service stack. Run: ``.venv/bin/python -m benchmarks.footprint``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import stacks
from .context import table
from .templates import Template, ecs_codedeploy, ours


def _is_custom_resource(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == "AWS::CloudFormation::CustomResource"


COUNTS: dict[str, Callable[[str], bool]] = {
    "resources": lambda _: True,
    "Lambda functions": lambda t: t == "AWS::Lambda::Function",
    "IAM roles": lambda t: t == "AWS::IAM::Role",
    "IAM policies": lambda t: t in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"),
    "state machines": lambda t: t == "AWS::StepFunctions::StateMachine",
    "custom resources": _is_custom_resource,
    "log groups": lambda t: t == "AWS::Logs::LogGroup",
    "load balancers": lambda t: t == "AWS::ElasticLoadBalancingV2::LoadBalancer",
}
Counts = dict[str, int]


def count(template: Template) -> Counts:
    types = [resource["Type"] for resource in template.get("Resources", {}).values()]
    return {name: sum(1 for t in types if matches(t)) for name, matches in COUNTS.items()}


def minus(a: Mapping[str, int], b: Mapping[str, int]) -> Counts:
    return {name: a[name] - b[name] for name in COUNTS}


@dataclass(frozen=True)
class Row:
    label: str
    source: str
    stack_total: Counts | None
    first: Counts
    further: Counts | None


# Read from @cdklabs/cdk-ecs-codedeploy's own integration snapshot (commit fc47a4e,
# test/application-load-balanced-codedeployed-fargate-service.integ.snapshot, aws-cdk-lib 2.233, no
# cdk.json flags): its 69 resources less the VPC and cluster (24) and the API canary its test adds
# (6). The provider is per EcsDeployment, so every further service repeats all of it. Used only
# when build/bench-venv is absent; that venv synthesizes the real thing under our cdk.json.
ECS_CODEDEPLOY_SNAPSHOT: Counts = {
    "resources": 39,
    "Lambda functions": 5,
    "IAM roles": 9,
    "IAM policies": 7,
    "state machines": 1,
    "custom resources": 1,
    "log groups": 1,
    "load balancers": 1,
}
# As the issue quotes it for one service; not reproduced by either source above.
QUOTED = {"resources": 53, "Lambda functions": 5, "IAM roles": 9, "state machines": 1}

OURS = (
    (stacks.CONSTRUCT, "blue_green_ecs, CodeDeploy, defaults (deploy trigger + access logs)"),
    (stacks.CONSTRUCT_NO_COMPARE, "blue_green_ecs, CodeDeploy, `RollbackAlarmOptions(compare_blue_green=False)`"),
    (stacks.CONSTRUCT_LEAN, "blue_green_ecs, CodeDeploy, `deploy_on_update=False, access_logs=False`"),
    (stacks.CONSTRUCT_ECS, "blue_green_ecs, `engine=ECS_NATIVE` (access logs on)"),
    (stacks.CONSTRUCT_ECS_NO_COMPARE, "blue_green_ecs, `engine=ECS_NATIVE`, `compare_blue_green=False`"),
    (stacks.CONSTRUCT_SHARED, "blue_green_ecs, `engine=ECS_NATIVE` on a shared `BlueGreenLoadBalancer`"),
    (
        stacks.CONSTRUCT_SHARED_NO_COMPARE,
        "blue_green_ecs, ECS_NATIVE on a shared load balancer, `compare_blue_green=False`",
    ),
    (stacks.L2, "hand-written L2 (benchmarks/l2_stack.py: no trigger, no access logs)"),
    (stacks.L2_FULL, "hand-written L2 with the same features (access logs, aws-cdk-lib Provider trigger)"),
    (
        stacks.L2_SHARED,
        "hand-written L2 on a shared ALB (benchmarks/l2_shared_stack.py: ECS-native, access logs, no live-state "
        "lookup, no comparison alarm)",
    ),
    (stacks.ECS_PATTERNS, "aws-cdk-lib ecs-patterns `ApplicationLoadBalancedFargateService` (rolling, not blue/green)"),
)
LABELS = dict(OURS)
ECS_CODEDEPLOY_LABEL = "@cdklabs/cdk-ecs-codedeploy `ApplicationLoadBalancedCodeDeployedFargateService`, defaults"


def measure() -> tuple[Counts, list[Row]]:
    network = count(ours(stacks.NETWORK))
    rows = []
    for kind, label in OURS:
        one, two = count(ours(kind, 1)), count(ours(kind, 2))
        rows.append(Row(label, "synthesized", one, minus(one, network), minus(two, one)))
    alternative = ecs_codedeploy()
    if alternative is not None:
        zero, one, two = (count(alternative.by_services[n]) for n in (0, 1, 2))
        rows.append(
            Row(ECS_CODEDEPLOY_LABEL, f"synthesized ({alternative.versions})", one, minus(one, zero), minus(two, one))
        )
    else:
        rows.append(
            Row(
                ECS_CODEDEPLOY_LABEL,
                "its integ snapshot, commit fc47a4e (build/bench-venv absent)",
                None,
                ECS_CODEDEPLOY_SNAPSHOT,
                ECS_CODEDEPLOY_SNAPSHOT,
            )
        )
    quoted = {name: QUOTED.get(name, -1) for name in COUNTS}
    rows.append(Row("@cdklabs/cdk-ecs-codedeploy as quoted in the issue", "quoted, not reproduced", None, quoted, None))
    return network, rows


def _cells(counts: Counts | None) -> list[str]:
    if counts is None:
        return ["n/a"] * len(COUNTS)
    return [str(counts[name]) if counts[name] >= 0 else "n/a" for name in COUNTS]


def _compare(ours_row: Row, other: Row) -> str:
    assert ours_row.further is not None
    assert other.further is not None
    mine, theirs = ours_row.further, other.further
    more = [f"{name} {mine[name] - theirs[name]:+d}" for name in COUNTS if mine[name] > theirs[name]]
    fewer = [f"{name} {mine[name] - theirs[name]:+d}" for name in COUNTS if mine[name] < theirs[name]]
    if not more and not fewer:
        return f"- {ours_row.label} vs {other.label}: equal in every count."
    return (
        f"- {ours_row.label} vs {other.label}: more: {', '.join(more) or 'none'}; fewer: {', '.join(fewer) or 'none'}."
    )


def verdict(rows: list[Row]) -> list[str]:
    """The goal: each further service adds fewer than with any blue/green alternative (ecs-patterns is not one)."""
    by_label = {row.label: row for row in rows}
    defaults, lean = by_label[LABELS[stacks.CONSTRUCT]], by_label[LABELS[stacks.CONSTRUCT_LEAN]]
    l2, l2_full = by_label[LABELS[stacks.L2]], by_label[LABELS[stacks.L2_FULL]]
    alternative = by_label[ECS_CODEDEPLOY_LABEL]
    return [
        _compare(defaults, alternative),
        _compare(defaults, l2_full),
        _compare(defaults, l2),
        _compare(lean, l2),
    ]


# CloudFormation's quota of resources per stack.
STACK_LIMIT = 500
# Application Load Balancer, US East (N. Virginia), per load balancer-hour, as listed on
# https://aws.amazon.com/elasticloadbalancing/pricing/ (LCU charges, which follow the traffic, not counted).
ALB_HOURLY_USD = 0.0225
HOURS_PER_MONTH = 730
ALB_MONTHLY_USD = ALB_HOURLY_USD * HOURS_PER_MONTH
# The per-further-service goal of issue #14 for services on a shared load balancer.
SHARED_GOAL_RESOURCES = 16
SHARED_GOAL_SERVICES = 28

# The layouts compared by services per stack and fixed cost: kind (None: cdk-ecs-codedeploy) and a short name.
LAYOUTS: tuple[tuple[str | None, str], ...] = (
    (stacks.CONSTRUCT, "construct, CodeDeploy, own load balancer, defaults"),
    (stacks.CONSTRUCT_NO_COMPARE, "construct, CodeDeploy, own load balancer, `compare_blue_green=False`"),
    (stacks.CONSTRUCT_ECS, "construct, ECS_NATIVE, own load balancer, defaults"),
    (stacks.CONSTRUCT_ECS_NO_COMPARE, "construct, ECS_NATIVE, own load balancer, `compare_blue_green=False`"),
    (stacks.CONSTRUCT_SHARED, "construct, ECS_NATIVE, shared load balancer, defaults"),
    (stacks.CONSTRUCT_SHARED_NO_COMPARE, "construct, ECS_NATIVE, shared load balancer, `compare_blue_green=False`"),
    (stacks.L2, "hand-written L2, CodeDeploy, own load balancer (no trigger, no access logs)"),
    (stacks.L2_FULL, "hand-written L2, CodeDeploy, own load balancer, same features"),
    (stacks.L2_SHARED, "hand-written L2, ECS-native, shared load balancer"),
    (None, "@cdklabs/cdk-ecs-codedeploy, own load balancer"),
)


def services_per_stack(total_with_one: int, further: int) -> int:
    """How many services fit under STACK_LIMIT: the first (with the network), then ``further`` each."""
    if total_with_one > STACK_LIMIT:
        return 0
    return 1 + (STACK_LIMIT - total_with_one) // further


def added_types(kind: str) -> Counter[str]:
    """The resource types a further service of ``kind`` adds (the two-service stack minus the one-service stack)."""
    one, two = ours(kind, 1)["Resources"], ours(kind, 2)["Resources"]
    return Counter(resource["Type"] for logical, resource in two.items() if logical not in one)


def _short(resource_type: str) -> str:
    return resource_type.removeprefix("AWS::").replace("ElasticLoadBalancingV2::", "ELBv2::")


def _layout_row(network: Counts, row: Row, name: str) -> tuple[list[str], int, int]:
    assert row.further is not None
    total = (
        row.stack_total["resources"] if row.stack_total is not None else network["resources"] + row.first["resources"]
    )
    further, balancers = row.further["resources"], row.further["load balancers"]
    fits = services_per_stack(total, further)
    cost = f"${balancers * ALB_MONTHLY_USD:.2f}" if balancers else "$0 (shares the first's)"
    cells = [
        name,
        str(row.first["resources"]),
        str(row.first["load balancers"]),
        str(further),
        str(balancers),
        str(fits),
        cost,
    ]
    return cells, further, fits


def density(network: Counts, rows: list[Row]) -> str:
    """Services per stack and fixed load-balancer cost per further service, layout by layout, and issue #14's goal."""
    by_label = {row.label: row for row in rows}
    table_rows, measured = [], {}
    for kind, name in LAYOUTS:
        row = by_label[LABELS[kind] if kind is not None else ECS_CODEDEPLOY_LABEL]
        cells, further, fits = _layout_row(network, row, name)
        table_rows.append(cells)
        if kind is not None:
            measured[kind] = (further, fits)
    headers = [
        "layout",
        "first service: resources",
        "first service: load balancers",
        "further service: resources",
        "further service: load balancers",
        f"services in one stack (under {STACK_LIMIT})",
        "fixed load balancer cost per further service, per month",
    ]
    shared, shared_off = measured[stacks.CONSTRUCT_SHARED], measured[stacks.CONSTRUCT_SHARED_NO_COMPARE]
    own = measured[stacks.CONSTRUCT_ECS]
    compare_on, compare_off = added_types(stacks.CONSTRUCT_SHARED), added_types(stacks.CONSTRUCT_SHARED_NO_COMPARE)
    l2_types = added_types(stacks.L2_SHARED)
    beyond_l2 = compare_on - l2_types
    listing = ", ".join(f"{_short(t)} {n}" for t, n in sorted(compare_on.items()))

    def met(ok: bool) -> str:
        return "met" if ok else "**not met**"

    goal_on = shared[0] <= SHARED_GOAL_RESOURCES and shared[1] >= SHARED_GOAL_SERVICES
    goal_off = shared_off[0] <= SHARED_GOAL_RESOURCES and shared_off[1] >= SHARED_GOAL_SERVICES
    lines = [
        f"Services in one stack: the first service with the network ({network['resources']} resources) and then as "
        f"many further services as fit under CloudFormation's {STACK_LIMIT}-resource quota per stack. Fixed cost: "
        f"an Application Load Balancer at ${ALB_HOURLY_USD} per hour x {HOURS_PER_MONTH} hours = "
        f"${ALB_MONTHLY_USD:.2f} a month (US East (N. Virginia), https://aws.amazon.com/elasticloadbalancing/pricing/; "
        "LCU charges follow the traffic wherever it is served and are not counted). On a shared load balancer the "
        "first service's figures include the load balancer, its listeners and its access logs.",
        "",
        table(headers, table_rows),
        "",
        f"Issue #14's goal for a shared load balancer: each further service adds no load balancer and at most "
        f"{SHARED_GOAL_RESOURCES} resources, so one stack holds at least {SHARED_GOAL_SERVICES} services.",
        "",
        f"- Defaults (`compare_blue_green=True`): {shared[0]} resources per further service, {shared[1]} services "
        f"per stack: {met(goal_on)}. It adds: {listing}.",
        f"- Against the hand-written shared-ALB service ({sum(l2_types.values())} resources), the construct adds "
        + ", ".join(f"{_short(t)} {n}" for t, n in sorted(beyond_l2.items()))
        + ": the live-state lookup that keeps a stack update from writing back the rules' weights after a "
        "deployment, and the green-against-blue comparison alarm.",
        f"- With `rollback_alarm_options=RollbackAlarmOptions(compare_blue_green=False)` (the absolute 5xx and "
        f"unhealthy-host alarms stay): {shared_off[0]} resources, {shared_off[1]} services per stack: "
        f"{met(goal_off)}. It leaves out: "
        + ", ".join(f"{_short(t)} {n}" for t, n in sorted((compare_on - compare_off).items()))
        + ".",
        f"- Against the same construct with its own load balancer ({own[0]} per further service, {own[1]} services "
        f"per stack), sharing saves {own[0] - shared[0]} resources and ${ALB_MONTHLY_USD:.2f} a month per further "
        "service.",
    ]
    return "\n".join(lines)


def markdown(network: Counts, rows: list[Row]) -> str:
    headers = ["", "source", *COUNTS]
    parts = [
        "Each stack holds the same network (VPC with 2 AZs and a NAT gateway each, flow logs, cluster): "
        + ", ".join(f"{name} {network[name]}" for name in COUNTS)
        + ".",
        "",
        "**First service** (the one-service stack minus the network):",
        "",
        table(headers, [[row.label, row.source, *_cells(row.first)] for row in rows]),
        "",
        "**Each further service** (the two-service stack minus the one-service stack):",
        "",
        table(headers, [[row.label, row.source, *_cells(row.further)] for row in rows if row.further is not None]),
        "",
        "Goal, fewer per service than any alternative. Per further service:",
        "",
        *verdict(rows),
        "",
        "**Services per stack and fixed cost per further service:**",
        "",
        density(network, rows),
    ]
    return "\n".join(parts)


def main() -> None:
    print(markdown(*measure()))


if __name__ == "__main__":
    main()
