"""The two deployment engines behind ``BlueGreenFargateService``, CodeDeploy and ECS-native, and what both share:
``DeploymentEngine`` (here), the protocol each engine implements (``base.py``), the engines (``codedeploy.py``,
``ecs_native.py``) and the attributes the service exposes from them (``parts.py``), the live-state lookup whose
answer keeps a stack update from undoing what the engine changed (``live_lookup.py``), and CODE_DEPLOY's pipeline
hand-off, ``appspec.yaml`` and ``taskdef.json`` (``pipeline.py``). An engine wires the parts together, so this
folder sits right below the construct: it imports the folders below it, ``monitoring/``, ``deployment/``,
``load_balancing/``, ``fargate/``, ``functions/``, ``configuration/`` and ``handlers/``, and names the
construct's ``ServiceProps`` for the type checker only (tests/test_architecture.py, ``LAYERS``).
"""

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
