"""Blue/green deployments of ECS Fargate services (CodeDeploy or ECS-native), as one AWS CDK construct.

The public names load on first use, so ``import blue_green_ecs`` (and the ``blue-green-ecs plan``
command) does not start aws-cdk-lib's jsii runtime until a construct is actually needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .auto_scaling import AutoScaling
    from .edge import Routing
    from .engines import DeploymentEngine
    from .hooks import DeploymentHooks, SmokeTest
    from .lambda_code import hook_code
    from .pipeline import appspec_document, pipeline_files, taskdef_document
    from .preflight import PreflightCheck
    from .rollback_alarms import RollbackAlarmOptions
    from .service import BlueGreenFargateService
    from .shared_load_balancer import BlueGreenLoadBalancer
    from .test_traffic import TestTrafficHeader
    from .traffic_shift import TrafficShift, TrafficShiftKind

_EXPORTS = {
    "AutoScaling": ".auto_scaling",
    "BlueGreenFargateService": ".service",
    "BlueGreenLoadBalancer": ".shared_load_balancer",
    "Routing": ".edge",
    "DeploymentEngine": ".engines",
    "DeploymentHooks": ".hooks",
    "PreflightCheck": ".preflight",
    "RollbackAlarmOptions": ".rollback_alarms",
    "SmokeTest": ".hooks",
    "TestTrafficHeader": ".test_traffic",
    "TrafficShift": ".traffic_shift",
    "TrafficShiftKind": ".traffic_shift",
    "appspec_document": ".pipeline",
    "hook_code": ".lambda_code",
    "pipeline_files": ".pipeline",
    "taskdef_document": ".pipeline",
}

__all__ = [
    "AutoScaling",
    "BlueGreenFargateService",
    "BlueGreenLoadBalancer",
    "DeploymentEngine",
    "DeploymentHooks",
    "PreflightCheck",
    "RollbackAlarmOptions",
    "Routing",
    "SmokeTest",
    "TestTrafficHeader",
    "TrafficShift",
    "TrafficShiftKind",
    "appspec_document",
    "hook_code",
    "pipeline_files",
    "taskdef_document",
]


if not TYPE_CHECKING:
    # Hidden from type checkers: a module-level __getattr__ would make every unknown name (a typo in a
    # consumer's import) an Any; they see the names imported above instead.
    def __getattr__(name: str) -> Any:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'blue_green_ecs' has no attribute {name!r}")
        return getattr(importlib.import_module(module, __name__), name)
