"""Session fixtures: each representative configuration is synthesized (and cfn-linted) once.

The suite runs on every core (pytest-xdist, ``-n auto`` in pyproject.toml). A session fixture is synthesized once
per worker that asks for it, so tests are grouped: those that use a shared configuration run on the worker that
synthesizes it, those that use a module's own synthesized fixture run on one worker with the rest of that module,
and the rest go wherever a worker is free. cfn-lint's answer for a template is shared by all workers (support.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from _pytest.nodeid import NodeId, coerce_node_id
from aws_cdk import Stack
from aws_cdk.assertions import Template

from blue_green_ecs import BlueGreenFargateService

from . import configurations
from .support import LINT_CACHE, synth

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

# The session fixtures below, which synthesize a shared configuration.
CONFIGURATIONS = (
    "platform",
    "two_services",
    "sample",
    "sample_ecs",
    "https",
    "existing_cluster",
    "minimal",
    "handler_roles",
    "migration",
)


def pytest_configure(config: pytest.Config) -> None:
    # Workers inherit the environment of the process that starts them, which configures first.
    if not hasattr(config, "workerinput") and LINT_CACHE not in os.environ:
        folder = tempfile.mkdtemp(prefix="blue-green-ecs-cfn-lint-")
        os.environ[LINT_CACHE] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


def _group(item: pytest.Item) -> str | None:
    """The xdist group of a test: the first shared configuration it uses, else its module when it uses one of
    the module's own module-scoped fixtures, else none."""
    names: Sequence[str] = getattr(item, "fixturenames", ())
    for name in CONFIGURATIONS:
        if name in names:
            return name
    definitions = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    if any(defs and defs[-1].scope == "module" for name in names for defs in [definitions.get(name, ())]):
        return item.nodeid.split("::")[0]
    return None


def pytest_itemcollected(item: pytest.Item) -> None:
    group = _group(item)
    if group is None or item.get_closest_marker("xdist_group") is not None:
        return
    item.add_marker(pytest.mark.xdist_group(group))
    # loadgroup schedules by the "@group" suffix of the test's id. pytest-xdist 3.8 writes it to `item._nodeid`,
    # which pytest 9 no longer reads (it keeps the id in `item._id`), so every test would run wherever a worker
    # is free; until xdist follows, the suffix is written where pytest reads it. A test whose group names a
    # configuration then shows it: `tests/test_service.py::test_x@sample`.
    # xdist sets the option only when it starts workers (not with -n 0).
    if getattr(item.config.option, "loadgroup", False) and isinstance(getattr(item, "_id", None), NodeId):
        item._id = coerce_node_id(f"{item.nodeid}@{group}")


@dataclass(frozen=True)
class Synthesized:
    """A stack, its service construct and its template."""

    stack: Stack
    service: BlueGreenFargateService
    template: Template


@pytest.fixture(scope="session")
def sample() -> Synthesized:
    stack = configurations.sample()
    return Synthesized(stack, stack.web, synth(stack))  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def minimal() -> Synthesized:
    stack, service = configurations.minimal()
    return Synthesized(stack, service, synth(stack))


@pytest.fixture(scope="session")
def https() -> Synthesized:
    stack, service = configurations.https()
    return Synthesized(stack, service, synth(stack))


@pytest.fixture(scope="session")
def existing_cluster() -> Synthesized:
    stack, service = configurations.existing_cluster()
    return Synthesized(stack, service, synth(stack))


@dataclass(frozen=True)
class TwoServices:
    """Two services in one stack and cluster (``configurations.two_services``) and the template."""

    stack: Stack
    first: BlueGreenFargateService
    second: BlueGreenFargateService
    template: Template


@pytest.fixture(scope="session")
def two_services() -> TwoServices:
    stack, first, second = configurations.two_services()
    return TwoServices(stack, first, second, synth(stack))


@pytest.fixture(scope="session")
def sample_ecs() -> Synthesized:
    stack = configurations.sample_ecs()
    return Synthesized(stack, stack.web, synth(stack))  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def handler_roles() -> Template:
    """``configurations.handler_roles``, read for its policies only (cdk-nag still checks it): cfn-lint runs on the
    same constructs in other configurations."""
    return Template.from_stack(configurations.handler_roles())


@pytest.fixture(scope="session")
def migration() -> TwoServices:
    """``configurations.migration``: the migration task under both engines (the IAM model reads its roles)."""
    stack, api, native = configurations.migration()
    return TwoServices(stack, api, native, synth(stack))


@dataclass(frozen=True)
class SynthesizedPlatform:
    """``configurations.platform``, its app synthesized once, and every stack's template by stack name."""

    platform: configurations.Platform
    templates: dict[str, Template]


@pytest.fixture(scope="session")
def platform() -> SynthesizedPlatform:
    """The multi-stack app: cdk-nag checks every stack as the app synthesizes (once: each ``synth`` below reads
    the same cloud assembly), and every template passes cfn-lint."""
    built = configurations.platform()
    return SynthesizedPlatform(built, {stack.stack_name: synth(stack) for stack in built.stacks})
