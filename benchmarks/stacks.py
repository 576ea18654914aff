"""The compared stacks, by name, and the child process that synthesizes one of them.

``python -m benchmarks.stacks KIND [--services N] [--outdir DIR]`` builds stack KIND, synthesizes it
and prints one JSON line with the time spent importing, building and synthesizing. synth_time.py
runs it in a fresh process per measurement, so jsii's start-up is counted, as users wait for it.
Each kind imports only what it needs: the L2 kind never imports blue_green_ecs.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

STARTED = time.perf_counter()

BASELINE = "baseline"
NETWORK = "network"
L2 = "l2"
L2_FULL = "l2-full"
CONSTRUCT = "construct"
CONSTRUCT_LEAN = "construct-lean"
CONSTRUCT_TRIGGER = "construct-trigger"
CONSTRUCT_LOGS = "construct-logs"
CONSTRUCT_ECS = "construct-ecs"
ECS_PATTERNS = "ecs-patterns"
CONSTRUCT_NO_COMPARE = "construct-no-compare"
CONSTRUCT_ECS_NO_COMPARE = "construct-ecs-no-compare"
CONSTRUCT_SHARED = "construct-shared"
CONSTRUCT_SHARED_NO_COMPARE = "construct-shared-no-compare"
L2_SHARED = "l2-shared"

LABELS = {
    BASELINE: "jsii start-up: App + Stack with one resource",
    NETWORK: "the shared network alone: VPC, flow logs, cluster",
    L2: "hand-written L2 (no trigger, no access logs)",
    L2_FULL: (
        "hand-written L2 with the same features (access logs, aws-cdk-lib Provider trigger, live-state lookup, "
        "comparison alarm)"
    ),
    CONSTRUCT: "BlueGreenFargateService, defaults (deploy trigger + access logs)",
    CONSTRUCT_LEAN: "BlueGreenFargateService, deploy_on_update=False, access_logs=False",
    CONSTRUCT_TRIGGER: "BlueGreenFargateService, access_logs=False (deploy trigger only)",
    CONSTRUCT_LOGS: "BlueGreenFargateService, deploy_on_update=False (access logs only)",
    CONSTRUCT_ECS: "BlueGreenFargateService, engine=ECS_NATIVE (access logs on)",
    ECS_PATTERNS: "aws-cdk-lib ecs-patterns ApplicationLoadBalancedFargateService (rolling, not blue/green)",
    CONSTRUCT_NO_COMPARE: "BlueGreenFargateService, RollbackAlarmOptions(compare_blue_green=False)",
    CONSTRUCT_ECS_NO_COMPARE: "BlueGreenFargateService, engine=ECS_NATIVE, compare_blue_green=False",
    CONSTRUCT_SHARED: "BlueGreenLoadBalancer + BlueGreenFargateService(engine=ECS_NATIVE, shared_load_balancer=...)",
    CONSTRUCT_SHARED_NO_COMPARE: "the same on a shared load balancer, compare_blue_green=False",
    L2_SHARED: "hand-written L2: one ALB, ECS-native blue/green services on listener rules",
}
KINDS = tuple(LABELS)


def _baseline(stack: Any, services: int) -> None:
    from aws_cdk import CfnWaitConditionHandle

    # cdk.json turns on template validation, which rejects a stack without resources.
    CfnWaitConditionHandle(stack, "Nothing")


def _network(stack: Any, services: int) -> None:
    from .network import shared_cluster

    shared_cluster(stack)


def _l2(*, with_features: bool) -> Callable[[Any, int], None]:
    def build(stack: Any, services: int) -> None:
        from .l2_stack import HandWrittenBlueGreenService
        from .network import shared_cluster

        cluster = shared_cluster(stack)
        for index in range(services):
            HandWrittenBlueGreenService(stack, f"Service{index}", cluster=cluster, with_features=with_features)

    return build


def _construct(**options: Any) -> Callable[[Any, int], None]:
    def build(stack: Any, services: int) -> None:
        from aws_cdk import aws_ecs as ecs

        from blue_green_ecs import BlueGreenFargateService

        from .network import IMAGE, shared_cluster

        cluster = shared_cluster(stack)
        for index in range(services):
            BlueGreenFargateService(
                stack,
                f"Service{index}",
                image=ecs.ContainerImage.from_registry(IMAGE),
                cluster=cluster,
                **options,
            )

    return build


def _construct_ecs(stack: Any, services: int) -> None:
    from blue_green_ecs import DeploymentEngine

    _construct(engine=DeploymentEngine.ECS_NATIVE)(stack, services)


def _no_compare(**options: Any) -> Callable[[Any, int], None]:
    def build(stack: Any, services: int) -> None:
        from blue_green_ecs import RollbackAlarmOptions

        _construct(rollback_alarm_options=RollbackAlarmOptions(compare_blue_green=False), **options)(stack, services)

    return build


def _ecs_native(*, no_compare: bool) -> Callable[[Any, int], None]:
    def build(stack: Any, services: int) -> None:
        from blue_green_ecs import DeploymentEngine

        (_no_compare if no_compare else _construct)(engine=DeploymentEngine.ECS_NATIVE)(stack, services)

    return build


def _shared(*, no_compare: bool) -> Callable[[Any, int], None]:
    def build(stack: Any, services: int) -> None:
        from aws_cdk import aws_ecs as ecs

        from blue_green_ecs import (
            BlueGreenFargateService,
            BlueGreenLoadBalancer,
            DeploymentEngine,
            RollbackAlarmOptions,
            Routing,
        )

        from .network import IMAGE, shared_cluster

        cluster = shared_cluster(stack)
        edge = BlueGreenLoadBalancer(stack, "Edge", vpc=cluster.vpc)
        options = RollbackAlarmOptions(compare_blue_green=False) if no_compare else None
        for index in range(services):
            BlueGreenFargateService(
                stack,
                f"Service{index}",
                image=ecs.ContainerImage.from_registry(IMAGE),
                cluster=cluster,
                engine=DeploymentEngine.ECS_NATIVE,
                shared_load_balancer=edge,
                routing=Routing(priority=index + 1, host_headers=[f"service{index}.example.com"]),
                rollback_alarm_options=options,
            )

    return build


def _l2_shared(stack: Any, services: int) -> None:
    from .l2_shared_stack import HandWrittenSharedLoadBalancer, HandWrittenSharedService
    from .network import shared_cluster

    cluster = shared_cluster(stack)
    edge = HandWrittenSharedLoadBalancer(stack, "Edge", vpc=cluster.vpc)
    for index in range(services):
        HandWrittenSharedService(
            stack,
            f"Service{index}",
            cluster=cluster,
            edge=edge,
            host=f"service{index}.example.com",
            priority=index + 1,
        )


def _ecs_patterns(stack: Any, services: int) -> None:
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_ecs_patterns as patterns

    from .network import IMAGE, shared_cluster

    cluster = shared_cluster(stack)
    for index in range(services):
        patterns.ApplicationLoadBalancedFargateService(
            stack,
            f"Service{index}",
            cluster=cluster,
            task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry(IMAGE)
            ),
        )


BUILDERS: dict[str, Callable[[Any, int], None]] = {
    BASELINE: _baseline,
    NETWORK: _network,
    L2: _l2(with_features=False),
    L2_FULL: _l2(with_features=True),
    CONSTRUCT: _construct(),
    CONSTRUCT_LEAN: _construct(deploy_on_update=False, access_logs=False),
    CONSTRUCT_TRIGGER: _construct(access_logs=False),
    CONSTRUCT_LOGS: _construct(deploy_on_update=False),
    CONSTRUCT_ECS: _construct_ecs,
    ECS_PATTERNS: _ecs_patterns,
    CONSTRUCT_NO_COMPARE: _no_compare(),
    CONSTRUCT_ECS_NO_COMPARE: _ecs_native(no_compare=True),
    CONSTRUCT_SHARED: _shared(no_compare=False),
    CONSTRUCT_SHARED_NO_COMPARE: _shared(no_compare=True),
    L2_SHARED: _l2_shared,
}


def build(kind: str, services: int = 1, *, outdir: str | None = None) -> Any:
    """A new app (writing to ``outdir``) holding stack ``Bench`` of ``kind`` with ``services`` services."""
    from .network import new_stack

    stack = new_stack("Bench", outdir=outdir)
    BUILDERS[kind](stack, services)
    return stack


def template_of(stack: Any) -> dict[str, Any]:
    """Synthesize the stack's app and return the stack's template."""
    assembly = stack.node.root.synth()
    template: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    return template


def synthesize(kind: str, services: int = 1) -> dict[str, Any]:
    """The template of ``kind`` with ``services`` services, synthesized in this process into a scratch directory."""
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        return template_of(build(kind, services, outdir=scratch))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=KINDS)
    parser.add_argument("--services", type=int, default=1)
    parser.add_argument("--outdir", help="cloud assembly directory (default: a temporary one)")
    args = parser.parse_args(argv)

    import aws_cdk  # noqa: F401  (jsii's start-up: the kernel process and aws-cdk-lib's assembly)

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        imported = time.perf_counter()
        stack = build(args.kind, args.services, outdir=args.outdir or scratch)
        built = time.perf_counter()
        template = template_of(stack)
        synthesized = time.perf_counter()
    report = {
        "kind": args.kind,
        "import_s": imported - STARTED,
        "build_s": built - imported,
        "synth_s": synthesized - built,
        "resources": len(template.get("Resources", {})),
    }
    sys.stdout.write(json.dumps(report) + "\n")


if __name__ == "__main__":
    main()
