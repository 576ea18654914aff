"""Synthesized templates shared by footprint.py and deploy_model.py, each synthesized once per process."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from .context import ECS_CODEDEPLOY_PYTHON, ROOT, child_env

Template = dict[str, Any]


@cache
def ours(kind: str, services: int = 1) -> Template:
    """A stack of benchmarks.stacks, synthesized in this process; after the first, each takes under a second."""
    from .stacks import synthesize

    return synthesize(kind, services)


@dataclass(frozen=True)
class EcsCodeDeployTemplates:
    """@cdklabs/cdk-ecs-codedeploy's stacks with 0, 1 and 2 services, and the versions they were made with."""

    by_services: dict[int, Template]
    versions: str


@cache
def ecs_codedeploy() -> EcsCodeDeployTemplates | None:
    """Its templates from build/bench-venv, or ``None`` when that interpreter is absent (see `make bench-venv`)."""
    if not ECS_CODEDEPLOY_PYTHON.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="bench-ecs-codedeploy-") as scratch:
        out = Path(scratch) / "templates.json"
        subprocess.run(
            [str(ECS_CODEDEPLOY_PYTHON), "-m", "benchmarks.ecs_codedeploy_stack", str(out)],
            cwd=ROOT,
            env=child_env(),
            check=True,
            capture_output=True,
        )
        result = json.loads(out.read_text())
    versions = f"cdklabs.ecs-codedeploy {result['cdklabs.ecs-codedeploy']}, aws-cdk-lib {result['aws_cdk_lib']}"
    return EcsCodeDeployTemplates({int(k): v for k, v in result["templates"].items()}, versions)
