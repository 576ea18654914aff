"""Blue/green deployments of ECS Fargate services (CodeDeploy or ECS-native), as one AWS CDK construct.

The public names load on first use, so ``import blue_green_ecs`` (and the ``blue-green-ecs plan``
command) does not start aws-cdk-lib's jsii runtime until a construct is actually needed.

The package is laid out by concern, in layers whose imports run one way, top to bottom (each folder's
``__init__`` says what lives there; tests/test_architecture.py's ``LAYERS`` holds the order): ``cli/``, the
command; this folder, the construct (``service.py``) with its props (``props.py``, ``unknown_props.py``);
``engines/``; ``monitoring/``; ``deployment/``; ``load_balancing/``; ``fargate/``; ``functions/``;
``configuration/``; and at the bottom ``handlers/``, the Lambda code: one asset that all the library's functions
run from, whose modules import one another by top-level name (as Lambda loads them from the asset root) and
nothing of aws-cdk-lib or of the package outside it. The parts below the construct may name its ``ServiceProps``
(and the types of its fields) for the type checker only: the construct hands each part that one object.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .deployment.hooks import DeploymentHooks, SmokeTest
    from .deployment.migration import MigrationTask
    from .deployment.preflight import PreflightCheck
    from .deployment.step_analysis import AnalysisMetric, AnalysisQuery, StepAnalysis
    from .deployment.traffic_shift import TrafficShift, TrafficShiftKind
    from .engines import DeploymentEngine
    from .engines.pipeline import appspec_document, pipeline_files, taskdef_document
    from .fargate.auto_scaling import AutoScaling
    from .functions.lambda_code import hook_code
    from .load_balancing.edge import Routing
    from .load_balancing.shared_load_balancer import BlueGreenLoadBalancer
    from .load_balancing.test_traffic import TestTrafficHeader
    from .monitoring.rollback_alarms import RollbackAlarmOptions
    from .service import BlueGreenFargateService

_EXPORTS = {
    "AnalysisMetric": ".deployment.step_analysis",
    "AnalysisQuery": ".deployment.step_analysis",
    "AutoScaling": ".fargate.auto_scaling",
    "BlueGreenFargateService": ".service",
    "BlueGreenLoadBalancer": ".load_balancing.shared_load_balancer",
    "Routing": ".load_balancing.edge",
    "DeploymentEngine": ".engines",
    "DeploymentHooks": ".deployment.hooks",
    "MigrationTask": ".deployment.migration",
    "PreflightCheck": ".deployment.preflight",
    "RollbackAlarmOptions": ".monitoring.rollback_alarms",
    "SmokeTest": ".deployment.hooks",
    "StepAnalysis": ".deployment.step_analysis",
    "TestTrafficHeader": ".load_balancing.test_traffic",
    "TrafficShift": ".deployment.traffic_shift",
    "TrafficShiftKind": ".deployment.traffic_shift",
    "appspec_document": ".engines.pipeline",
    "hook_code": ".functions.lambda_code",
    "pipeline_files": ".engines.pipeline",
    "taskdef_document": ".engines.pipeline",
}

__all__ = [
    "AnalysisMetric",
    "AnalysisQuery",
    "AutoScaling",
    "BlueGreenFargateService",
    "BlueGreenLoadBalancer",
    "DeploymentEngine",
    "DeploymentHooks",
    "MigrationTask",
    "PreflightCheck",
    "RollbackAlarmOptions",
    "Routing",
    "SmokeTest",
    "StepAnalysis",
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
