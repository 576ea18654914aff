"""The library's own lifecycle hooks of a service, next to the user's: the smoke test, the pre-flight check, the
test traffic router, the step analysis and the migration task, each optional and each at its own event."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..load_balancing.test_traffic import TestTrafficRouter, router_for
from .hooks import SmokeTestFunction, hooks_by_event
from .migration import MigrationTaskFunction
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
    # The engine grants it what differs: under CODE_DEPLOY, reading the deployment group's deployments.
    migration: MigrationTaskFunction | None = None

    @property
    def migration_function(self) -> lambda_.Function | None:
        return self.migration.function if self.migration is not None else None

    @property
    def functions(self) -> list[lambda_.Function]:
        """The library's own hook functions of the service: each logs its report as one JSON line
        (handlers/hook_reason.py reads the reasons of those that failed a deployment)."""
        router = self.test_traffic_router.function if self.test_traffic_router is not None else None
        found = (self.preflight_function, self.migration_function, router, self.smoke_test_function,
                 self.step_analysis_function)  # fmt: skip
        return [f for f in found if f is not None]


class BuiltInHookAttributes:
    """The built-in hooks' parts of ``BlueGreenFargateService`` (a mixin: the construct sets ``_built_in``)."""

    _built_in: BuiltInHooks

    @property
    def smoke_test_function(self) -> lambda_.Function | None:
        """The smoke test's function, or ``None`` without ``smoke_test``."""
        return self._built_in.smoke_test_function

    @property
    def preflight_function(self) -> lambda_.Function | None:
        """The pre-flight check's function, or ``None`` without ``preflight_check``."""
        return self._built_in.preflight_function

    @property
    def step_analysis_function(self) -> lambda_.Function | None:
        """The step analysis's function, or ``None`` without ``step_analysis``."""
        return self._built_in.step_analysis_function

    @property
    def migration_function(self) -> lambda_.Function | None:
        """The migration task's function, or ``None`` without ``migration_task``."""
        return self._built_in.migration_function

    @property
    def test_traffic_router(self) -> TestTrafficRouter | None:
        """The ``TestTrafficRouter`` hook of ``test_traffic_header``, or ``None``."""
        return self._built_in.test_traffic_router


def built_in_hooks(
    scope: Construct,
    props: ServiceProps,
    *,
    vpc: ec2.IVpc,
    subnet_ids: Sequence[str],
    assign_public_ip: bool,
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
    migration = MigrationTaskFunction.for_service(
        scope, props, subnet_ids=subnet_ids, assign_public_ip=assign_public_ip, service=service
    )
    return BuiltInHooks(
        smoke_test_function=smoke_test,
        preflight_function=preflight,
        test_traffic_router=router,
        step_analysis_function=analysis,
        by_event=hooks_by_event(
            props.hooks,
            smoke_test,
            preflight,
            router.function if router else None,
            analysis,
            migration.function if migration else None,
        ),
        migration=migration,
    )
