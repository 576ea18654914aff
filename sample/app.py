"""Builds the sample app from CDK context, for ``app.py`` and for the tests alike."""

from __future__ import annotations

from aws_cdk import App, Environment

from blue_green_ecs import DeploymentEngine

from .stack import BlueGreenSampleStack

STACK_NAME = "BlueGreenSample"
ENGINES = {"codedeploy": DeploymentEngine.CODE_DEPLOY, "ecs": DeploymentEngine.ECS_NATIVE}


def build(app: App) -> BlueGreenSampleStack:
    """Add stack ``BlueGreenSample`` to ``app``, configured by context.

    Context keys (cdk.json holds the defaults; override with ``-c key=value``):
        image_tag: tag of ``public.ecr.aws/nginx/nginx`` to run. Deploying another tag is a
            blue/green deployment.
        smoke_test: ``true`` adds the built-in smoke test (and the two VPC interface endpoints it
            needs in this NAT-less VPC). Default: false.
        engine: ``codedeploy`` (default) or ``ecs``: which engine performs deployments.
        deploy_on_update: ``false`` leaves deployments to a pipeline (CodePipeline's CodeDeployToECS
            with the exported pipeline files): a stack update then only registers the task definition.
            Default: true, a stack update with another image tag runs the deployment.
        account / region: pin the stack to an environment. Default: environment-agnostic, so
            ``cdk synth`` needs no AWS credentials.
    """
    tag = app.node.try_get_context("image_tag")
    if not isinstance(tag, str) or not tag.strip():
        raise ValueError(
            f"Invalid context image_tag={tag!r}: set a tag of {STACK_NAME}'s image, "
            "e.g. `cdk deploy -c image_tag=1.27` (cdk.json holds the default)."
        )
    account = app.node.try_get_context("account")
    region = app.node.try_get_context("region")
    env = Environment(account=account, region=region) if account or region else None
    smoke_test = str(app.node.try_get_context("smoke_test")).lower() == "true"
    engine_name = str(app.node.try_get_context("engine") or "codedeploy").lower()
    if engine_name not in ENGINES:
        raise ValueError(f"Invalid context engine={engine_name!r}: use one of {', '.join(sorted(ENGINES))}.")
    deploy_on_update = str(app.node.try_get_context("deploy_on_update") or "true").lower()
    if deploy_on_update not in ("true", "false"):
        raise ValueError(f"Invalid context deploy_on_update={deploy_on_update!r}: use true or false.")
    return BlueGreenSampleStack(
        app,
        STACK_NAME,
        image_tag=tag.strip(),
        smoke_test=smoke_test,
        engine=ENGINES[engine_name],
        deploy_on_update=deploy_on_update == "true",
        env=env,
    )
