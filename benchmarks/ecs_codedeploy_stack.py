"""@cdklabs/cdk-ecs-codedeploy's service with its defaults, on the same network, for footprint.py and deploy_model.py.

Runs under build/bench-venv/bin/python (aws-cdk-lib at the project's pin plus the package
``cdklabs.ecs-codedeploy`` from benchmarks/requirements-ecs-codedeploy.txt), never the project's venv:

    build/bench-venv/bin/python -m benchmarks.ecs_codedeploy_stack OUT.json

writes ``{"aws_cdk_lib": version, "templates": {"0": ..., "1": ..., "2": ...}}``: the network alone,
then with one and with two ``ApplicationLoadBalancedCodeDeployedFargateService``.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns

from .network import IMAGE, new_stack, shared_cluster

# Its load balancer access logs call logAccessLogs, which needs a concrete region; the account stays
# agnostic, which keeps the VPC's subnets the same as in the other (agnostic) stacks.
ENV = Environment(region="us-east-1")
PACKAGE = "cdklabs.ecs-codedeploy"


def template(services: int, outdir: str) -> dict[str, Any]:
    # Imported by name: the package lives only in the comparison's venv, not where mypy runs.
    ecs_codedeploy: Any = importlib.import_module("cdk.ecs_codedeploy")
    stack = new_stack("Bench", outdir=outdir, env=ENV)
    cluster = shared_cluster(stack)
    for index in range(services):
        ecs_codedeploy.ApplicationLoadBalancedCodeDeployedFargateService(
            stack,
            f"Service{index}",
            cluster=cluster,
            task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
                image=ecs.ContainerImage.from_registry(IMAGE)
            ),
        )
    app = stack.node.root
    assert isinstance(app, App)
    assembly = app.synth()
    synthesized: dict[str, Any] = assembly.get_stack_by_name(stack.stack_name).template
    return synthesized


def main() -> None:
    out = Path(sys.argv[1])
    templates = {}
    for services in (0, 1, 2):
        with tempfile.TemporaryDirectory(prefix="bench-ecs-codedeploy-") as scratch:
            templates[str(services)] = template(services, scratch)
    result = {"aws_cdk_lib": version("aws-cdk-lib"), PACKAGE: version(PACKAGE), "templates": templates}
    out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
