"""The library's own lifecycle hooks of a service, next to the user's: the smoke test, the pre-flight check, the
test traffic router and the step analysis, each optional and each at its own event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..load_balancing.test_traffic import TestTrafficRouter, router_for
from .hooks import SmokeTestFunction, hooks_by_event
from .preflight import PreflightCheckFunction
from .step_analysis import StepAnalysisFunction

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk import aws_ecs as ecs
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

    from ..load_balancing.parts import LoadBalancerParts
    from ..props import ServiceProps


@dataclass(frozen=True)
class BuiltInHooks:
    """The built-in hook functions (``None`` when off) and every hook by AppSpec event, the user's included."""

    smoke_test_function: lambda_.Function | None
    preflight_function: lambda_.Function | None
    test_traffic_router: TestTrafficRouter | None
    step_analysis_function: lambda_.Function | None
    by_event: dict[str, lambda_.IFunction]


def built_in_hooks(
    scope: Construct,
    props: ServiceProps,
    *,
    vpc: ec2.IVpc,
    subnet_ids: Sequence[str],
    load_balancing: LoadBalancerParts,
    service: ecs.FargateService,
    alarm_names: Callable[[], list[str]],
    service_names_its_hooks: bool,
) -> BuiltInHooks:
    """Create the service's built-in hook functions that its props ask for."""
    smoke_test = SmokeTestFunction.for_service(scope, props, vpc=vpc, load_balancing=load_balancing)
    preflight = PreflightCheckFunction.for_service(
        scope,
        props,
        service=service,
        subnet_ids=subnet_ids,
        alarm_names=alarm_names,
        service_names_its_hooks=service_names_its_hooks,
    )
    router = router_for(scope, props, load_balancing=load_balancing)
    analysis = StepAnalysisFunction.for_service(scope, props, load_balancing=load_balancing)
    return BuiltInHooks(
        smoke_test_function=smoke_test,
        preflight_function=preflight,
        test_traffic_router=router,
        step_analysis_function=analysis,
        by_event=hooks_by_event(props.hooks, smoke_test, preflight, router.function if router else None, analysis),
    )
