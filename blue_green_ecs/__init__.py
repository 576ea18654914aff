"""Blue/green deployments of ECS Fargate services through CodeDeploy, as one AWS CDK construct."""

from .engines import DeploymentEngine
from .hooks import DeploymentHooks, SmokeTest, hook_code
from .pipeline import appspec_document, pipeline_files, taskdef_document
from .rollback_alarms import RollbackAlarmOptions
from .service import BlueGreenFargateService
from .traffic_shift import TrafficShift, TrafficShiftKind

__all__ = [
    "BlueGreenFargateService",
    "DeploymentEngine",
    "DeploymentHooks",
    "RollbackAlarmOptions",
    "SmokeTest",
    "TrafficShift",
    "TrafficShiftKind",
    "appspec_document",
    "hook_code",
    "pipeline_files",
    "taskdef_document",
]
