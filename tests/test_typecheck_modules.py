"""mypy reads the aws-cdk-lib submodules the code can meet, and only those (issue #23: a cold `make test`)."""

from __future__ import annotations

import importlib.metadata
import re

import pytest

from .typecheck_modules import PYPROJECT, ROOT, block, configured, followed, imported_by_the_code

# The list is of the aws-cdk-lib `make typecheck` installs (constraints.txt); `make test-min`'s older one has other
# submodules, and mypy does not run there.
_PINNED = re.search(r"^aws-cdk-lib==(\S+)$", (ROOT / "constraints.txt").read_text(), re.M)
pytestmark = pytest.mark.skipif(
    _PINNED is None or importlib.metadata.version("aws-cdk-lib") != _PINNED.group(1),
    reason="the list is of constraints.txt's aws-cdk-lib, which make typecheck runs on",
)


def test_pyproject_follows_every_aws_cdk_submodule_the_code_can_meet() -> None:
    assert configured() == block(followed()), (
        f"{PYPROJECT.name}'s list of aws_cdk submodules for mypy is stale: run `python -m tests.typecheck_modules`"
    )


def test_the_list_holds_what_the_code_imports_and_what_those_import() -> None:
    modules, imported = followed(), imported_by_the_code()
    assert {"aws_ecs", "aws_elasticloadbalancingv2", "aws_codedeploy", "assertions"} <= imported
    # aws_ecs's own signatures name Application Auto Scaling and EC2 Auto Scaling types: followed, though no file
    # here imports them.
    assert {"aws_applicationautoscaling", "aws_autoscaling"} <= set(modules) - imported
    assert "aws_mediapackage" not in modules
