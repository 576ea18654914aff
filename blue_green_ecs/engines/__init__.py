"""The two deployment engines behind ``BlueGreenFargateService``: CodeDeploy and ECS-native."""

from __future__ import annotations

from enum import Enum


class DeploymentEngine(Enum):
    """Who performs the blue/green deployment.

    CODE_DEPLOY: the ``CODE_DEPLOY`` deployment controller, a CodeDeploy application and deployment
    group, and this library's deployment trigger so that ``cdk deploy`` runs the deployment. For
    teams with CodeDeploy tooling, pipelines (CodeDeployToECS) and approvals.

    ECS_NATIVE: Amazon ECS's own blue/green, canary and linear deployments (2025): the ``ECS``
    controller with a deployment strategy, an alternate target group and listener rules that ECS
    shifts itself. No CodeDeploy, no custom resource; CloudFormation waits for the deployment and
    rolls back on failure, and none of CloudFormation's CODE_DEPLOY update limits apply.
    """

    CODE_DEPLOY = "CODE_DEPLOY"
    ECS_NATIVE = "ECS_NATIVE"
