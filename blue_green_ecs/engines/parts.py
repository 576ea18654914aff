"""Which engine a service has, and what the engine created, as typed attributes of the service.

Reading a part of the engine the service does not use is an ``AttributeError`` that names the
engine in use, so ``getattr(service, "deployment_group", None)`` works and the types stay true:
``service.deployment_group`` is an ``EcsDeploymentGroup``, never ``None``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from constructs import Node

from . import DeploymentEngine
from .codedeploy import CodeDeployEngine
from .ecs_native import EcsNativeEngine

if TYPE_CHECKING:
    from aws_cdk import aws_codedeploy as codedeploy
    from aws_cdk import aws_elasticloadbalancingv2 as elbv2
    from aws_cdk import aws_iam as iam

    from ..deployment.deployment_trigger import DeploymentTrigger


def engine_for(kind: DeploymentEngine) -> CodeDeployEngine | EcsNativeEngine:
    """A new engine object of ``kind`` for one service."""
    return EcsNativeEngine() if kind is DeploymentEngine.ECS_NATIVE else CodeDeployEngine()


class EngineAttributes:
    """The engine's parts of ``BlueGreenFargateService`` (a mixin: the construct sets ``_engine``)."""

    _engine: CodeDeployEngine | EcsNativeEngine
    engine: DeploymentEngine
    node: Node

    @property
    def code_deploy(self) -> CodeDeployEngine:
        """The CodeDeploy engine and what it created (``engine=DeploymentEngine.CODE_DEPLOY`` only)."""
        if not isinstance(self._engine, CodeDeployEngine):
            raise AttributeError(f"{self.node.path} uses engine={self.engine}: it has no CodeDeploy parts.")
        return self._engine

    @property
    def ecs_native(self) -> EcsNativeEngine:
        """The ECS-native engine and what it created (``engine=DeploymentEngine.ECS_NATIVE`` only)."""
        if not isinstance(self._engine, EcsNativeEngine):
            raise AttributeError(f"{self.node.path} uses engine={self.engine}: it has no ECS-native parts.")
        return self._engine

    @property
    def application(self) -> codedeploy.IEcsApplication:
        """The CodeDeploy application (CODE_DEPLOY only)."""
        return self.code_deploy.application

    @property
    def deployment_config(self) -> codedeploy.IEcsDeploymentConfig:
        """The deployment configuration ``traffic_shift`` maps to (CODE_DEPLOY only)."""
        return self.code_deploy.deployment_config

    @property
    def deployment_group(self) -> codedeploy.EcsDeploymentGroup:
        """The CodeDeploy deployment group (CODE_DEPLOY only)."""
        return self.code_deploy.deployment_group

    @property
    def deployment_trigger(self) -> DeploymentTrigger | None:
        """The custom resource that deploys on update; ``None`` with ``deploy_on_update=False`` (CODE_DEPLOY only)."""
        return self.code_deploy.trigger

    @property
    def appspec_properties(self) -> dict[str, Any]:
        """The AppSpec inputs (container, network, hooks) of the trigger and the pipeline files (CODE_DEPLOY only)."""
        return self.code_deploy.appspec_properties

    @property
    def test_traffic_rule(self) -> elbv2.ApplicationListenerRule | None:
        """The production listener's rule for ``test_traffic_header`` (either engine); ``None`` without one."""
        return self._engine.test_traffic_rule

    @property
    def prod_listener_rule(self) -> elbv2.ApplicationListenerRule:
        """The production listener rule whose weights ECS shifts (ECS_NATIVE only)."""
        return self.ecs_native.prod_listener_rule

    @property
    def test_listener_rule(self) -> elbv2.ApplicationListenerRule:
        """The test listener rule whose weights ECS shifts (ECS_NATIVE only)."""
        return self.ecs_native.test_listener_rule

    @property
    def infrastructure_role(self) -> iam.IRole:
        """The role ECS shifts the listener rules with (ECS_NATIVE only)."""
        return self.ecs_native.infrastructure_role
