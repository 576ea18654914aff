"""Apps of many services in several stacks, as a platform team lays them out, and the child that synthesizes one.

``python -m benchmarks.layouts LAYOUT SIDE --services N --per-stack K [--profile]`` builds one App: a
``Network`` stack (benchmarks/network.py's VPC and cluster, and on the shared layout the load balancers)
and service stacks ``Services0``, ``Services1``... of at most K services each, every one referring to
the network stack's resources. It synthesizes the App and prints one JSON line: the time spent
importing, building and synthesizing, the resources and template size of each stack, and the load
balancers, listener rules and target groups of the assembly. scale_curve.py runs it in a fresh process
per measurement, as synth_time.py runs benchmarks/stacks.py, so jsii's start-up is counted as `cdk
synth` pays it.

Layouts:

- ``own``: every service has its own load balancer; the construct's defaults (CODE_DEPLOY engine,
  deployment trigger, access logs) against ``HandWrittenBlueGreenService(with_features=True)``.
- ``shared``: the load balancers live in the network stack, one per SERVICES_PER_LOAD_BALANCER services,
  and each service adds its production and test rules to one of them: ``BlueGreenLoadBalancer`` with
  ``engine=ECS_NATIVE`` services against ``HandWrittenSharedLoadBalancer`` / ``HandWrittenSharedService``.

Like benchmarks/stacks.py, the hand-written side never imports blue_green_ecs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .footprint import STACK_LIMIT, services_per_stack

STARTED = time.perf_counter()

OWN = "own"
SHARED = "shared"
LAYOUTS = (OWN, SHARED)
CONSTRUCT = "construct"
HAND_WRITTEN = "hand-written"
SIDES = (CONSTRUCT, HAND_WRITTEN)
NETWORK_STACK = "Network"
SERVICE_STACK = "Services"

# Application Load Balancer quotas (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/
# load-balancer-limits.html): 100 target groups per load balancer, not adjustable, and 100 rules per load
# balancer besides the listeners' default rules, adjustable. A service on a shared load balancer takes
# two of each (blue and green; a production and a test rule), so one load balancer holds 50 services
# and the curve adds one per 50, rather than ask for a quota that cannot be raised.
TARGET_GROUPS_PER_LOAD_BALANCER = 100
RULES_PER_LOAD_BALANCER = 100
TARGET_GROUPS_PER_SERVICE = 2
RULES_PER_SERVICE = 2
SERVICES_PER_LOAD_BALANCER = min(
    TARGET_GROUPS_PER_LOAD_BALANCER // TARGET_GROUPS_PER_SERVICE, RULES_PER_LOAD_BALANCER // RULES_PER_SERVICE
)
# Application Load Balancers per Region, by default (adjustable): the own-load-balancer layout passes it.
LOAD_BALANCERS_PER_REGION = 50
# CloudFormation's other per-stack quota that a full stack of services reaches: a template of at most
# 1 MB (uploaded to S3), which aws-cdk-lib checks at this many bytes of the template as written.
TEMPLATE_BYTES_LIMIT = 1_000_000

_TYPES = {
    "load_balancers": "AWS::ElasticLoadBalancingV2::LoadBalancer",
    "listener_rules": "AWS::ElasticLoadBalancingV2::ListenerRule",
    "target_groups": "AWS::ElasticLoadBalancingV2::TargetGroup",
}


def load_balancers_for(services: int) -> int:
    """How many shared load balancers ``services`` services need under the quotas above."""
    return max(1, -(-services // SERVICES_PER_LOAD_BALANCER))


def _construct_service(layout: str) -> Callable[[Any, int, Any, Any], None]:
    from aws_cdk import aws_ecs as ecs

    from blue_green_ecs import BlueGreenFargateService, DeploymentEngine, Routing

    from .network import IMAGE

    def add(stack: Any, index: int, cluster: Any, edge: Any) -> None:
        image = ecs.ContainerImage.from_registry(IMAGE)
        if layout == OWN:
            BlueGreenFargateService(stack, f"Service{index}", image=image, cluster=cluster)
            return
        BlueGreenFargateService(
            stack,
            f"Service{index}",
            image=image,
            cluster=cluster,
            engine=DeploymentEngine.ECS_NATIVE,
            shared_load_balancer=edge,
            routing=Routing(priority=_priority(index), host_headers=[_host(index)]),
        )

    return add


def _hand_written_service(layout: str) -> Callable[[Any, int, Any, Any], None]:
    from .l2_shared_stack import HandWrittenSharedService
    from .l2_stack import HandWrittenBlueGreenService

    def add(stack: Any, index: int, cluster: Any, edge: Any) -> None:
        if layout == OWN:
            HandWrittenBlueGreenService(stack, f"Service{index}", cluster=cluster, with_features=True)
            return
        HandWrittenSharedService(
            stack, f"Service{index}", cluster=cluster, edge=edge, host=_host(index), priority=_priority(index)
        )

    return add


def _edge(side: str, network: Any, index: int, vpc: Any) -> Any:
    if side == CONSTRUCT:
        from blue_green_ecs import BlueGreenLoadBalancer

        return BlueGreenLoadBalancer(network, f"Edge{index}", vpc=vpc)
    from .l2_shared_stack import HandWrittenSharedLoadBalancer

    return HandWrittenSharedLoadBalancer(network, f"Edge{index}", vpc=vpc)


def _priority(index: int) -> int:
    # Unique among the services of one load balancer, which is all ELB asks.
    return index % SERVICES_PER_LOAD_BALANCER + 1


def _host(index: int) -> str:
    return f"service{index}.example.com"


def build(layout: str, side: str, services: int, per_stack: int, *, outdir: str) -> Any:
    """A new App (writing to ``outdir``): the network stack and ``services`` services, ``per_stack`` a stack."""
    from aws_cdk import App, Stack

    from .context import cdk_context
    from .network import shared_cluster

    if per_stack < 1:
        raise ValueError(f"--per-stack {per_stack}: a stack holds at least one service")
    app = App(context=cdk_context(), outdir=outdir)
    network = Stack(app, NETWORK_STACK)
    cluster = shared_cluster(network)
    edges = (
        [_edge(side, network, index, cluster.vpc) for index in range(load_balancers_for(services))]
        if layout == SHARED
        else []
    )
    add = (_construct_service if side == CONSTRUCT else _hand_written_service)(layout)
    # Kept in Python: finding a stack again through the construct tree would be a jsii request per service.
    service_stacks: list[Any] = []
    for index in range(services):
        if index % per_stack == 0:
            service_stacks.append(Stack(app, f"{SERVICE_STACK}{len(service_stacks)}"))
        edge = edges[index // SERVICES_PER_LOAD_BALANCER] if edges else None
        add(service_stacks[-1], index, cluster, edge)
    return app


def templates(assembly_directory: str) -> dict[str, str]:
    """Every stack's template in a cloud assembly as written (what `cdk deploy` uploads), by stack name.

    Read from disk, so no jsii request is made."""
    directory = Path(assembly_directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    return {
        name: (directory / artifact["properties"]["templateFile"]).read_text()
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
    }


def census(texts: dict[str, str]) -> dict[str, Any]:
    """Resources and template bytes in all and per stack, and the load-balancing resources ELB's quotas count."""
    by_stack: dict[str, dict[str, Any]] = {name: json.loads(text) for name, text in texts.items()}
    per_stack = {name: len(template.get("Resources", {})) for name, template in by_stack.items()}
    types = Counter(
        resource["Type"] for template in by_stack.values() for resource in template.get("Resources", {}).values()
    )
    return {
        "resources": sum(per_stack.values()),
        "stacks": len(per_stack),
        "stack_resources": per_stack,
        "stack_bytes": {name: len(text.encode()) for name, text in texts.items()},
        # Outputs are capped too (200 a template): the network stack's grow with what service stacks refer to.
        "max_outputs": max((len(t.get("Outputs", {})) for t in by_stack.values()), default=0),
        **{key: types[resource_type] for key, resource_type in _TYPES.items()},
    }


def _profiled(enabled: bool) -> AbstractContextManager[Any]:
    if not enabled:
        return nullcontext(None)
    from .jsii_profile import profiled

    return profiled()


def _requests(build: Any, synth: Any) -> dict[str, Any] | None:
    """Two jsii_profile.Profiles' requests: their counts, and every call site's (build and synth together)."""
    if build is None or synth is None:
        return None
    sites: dict[str, list[float]] = {}
    for profile in (build, synth):
        for name, cost in profile.by_site.items():
            calls, spent = sites.get(name, [0, 0.0])
            sites[name] = [calls + cost.calls, spent + cost.seconds]
    return {"build_calls": build.calls, "synth_calls": synth.calls, "calls": build.calls + synth.calls, "sites": sites}


@dataclass(frozen=True)
class Packing:
    """A service stack's resources and template bytes with one service and per further one; services a stack holds."""

    first: int
    further: int
    first_bytes: int
    further_bytes: int

    @property
    def by_resources(self) -> int:
        return services_per_stack(self.first, self.further)

    @property
    def by_bytes(self) -> int:
        return 1 + (TEMPLATE_BYTES_LIMIT - self.first_bytes) // self.further_bytes

    @property
    def per_stack(self) -> int:
        return min(self.by_resources, self.by_bytes)


def notes(packing: Mapping[str, Packing]) -> str:
    """The layouts, the quotas they respect and how many services a stack holds, for the docs."""
    packed = "; ".join(
        f"{name}: {p.first} resources and {p.first_bytes / 1000:.0f} kB with one service, {p.further} and "
        f"{p.further_bytes / 1000:.0f} kB per further one, so {p.per_stack} a stack, by "
        f"{'template size' if p.by_bytes < p.by_resources else 'resources'}"
        for name, p in packing.items()
    )
    return (
        "Each app has a network stack (the VPC, flow logs and cluster of `benchmarks/network.py`; on the shared "
        "layout also the load balancers) and service stacks referring to it, each holding as many services as "
        f"CloudFormation's quotas per stack allow: {STACK_LIMIT} resources and a template of 1 MB (aws-cdk-lib "
        f"checks {TEMPLATE_BYTES_LIMIT:,} bytes as written), worked out per side from a probe synthesis "
        f"({packed}). The construct's defaults face the hand-written stacks with the same features "
        "(`HandWrittenBlueGreenService(with_features=True)`; `HandWrittenSharedLoadBalancer` and "
        f"`HandWrittenSharedService`). On the shared layout one load balancer holds "
        f"{SERVICES_PER_LOAD_BALANCER} services: each takes two target groups and two listener rules, and "
        f"an Application Load Balancer has at most {TARGET_GROUPS_PER_LOAD_BALANCER} target groups (not "
        f"adjustable) and by default {RULES_PER_LOAD_BALANCER} rules besides the listeners' defaults "
        "(adjustable; https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html"
        f"), so from {SERVICES_PER_LOAD_BALANCER + 1} services the network stack holds a second load "
        "balancer, and rule priorities are unique on each. With a load balancer per service, more than "
        f"{LOAD_BALANCERS_PER_REGION} services pass the default quota of "
        f"{LOAD_BALANCERS_PER_REGION} Application Load Balancers per Region (adjustable)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layout", choices=LAYOUTS)
    parser.add_argument("side", choices=SIDES)
    parser.add_argument("--services", type=int, default=1)
    parser.add_argument("--per-stack", type=int, default=1, help="services per service stack")
    parser.add_argument("--profile", action="store_true", help="count jsii requests (slower: not for timing)")
    parser.add_argument("--outdir", help="cloud assembly directory (default: a temporary one)")
    args = parser.parse_args(argv)

    import aws_cdk  # noqa: F401  (jsii's start-up: the kernel process and aws-cdk-lib's assembly)

    with tempfile.TemporaryDirectory(prefix="bench-layout-") as scratch:
        outdir = args.outdir or scratch
        imported = time.perf_counter()
        with _profiled(args.profile) as build_profile:
            app = build(args.layout, args.side, args.services, args.per_stack, outdir=outdir)
        built = time.perf_counter()
        with _profiled(args.profile) as synth_profile:
            assembly = app.synth()
        synthesized = time.perf_counter()
        counts = census(templates(assembly.directory))
    report = {
        "layout": args.layout,
        "side": args.side,
        "services": args.services,
        "per_stack": args.per_stack,
        "import_s": imported - STARTED,
        "build_s": built - imported,
        "synth_s": synthesized - built,
        **counts,
        "requests": _requests(build_profile, synth_profile),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
