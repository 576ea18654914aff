"""Session fixtures: each representative configuration is synthesized (and cfn-linted) once."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from blue_green_ecs import BlueGreenFargateService

from . import configurations
from .support import synth

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


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
