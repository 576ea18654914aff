"""The cloud assembly that ``status``, ``approve``, ``rollback`` and ``watch`` check a service's names against
before any AWS call (docs/cli.md).

``cdk synth`` and ``cdk deploy`` write the app's cloud assembly to ``cdk.out`` (cdk.json's ``output`` when it
sets one): each stack's name, construct path, environment, template and construct metadata, a Stage's stacks in
a nested assembly. A ``--stack`` no stack has, or a ``--path`` that is no blue/green service of the stack, is
refused with the ones there are, before a region or credentials are looked for; a stack whose environment names a
region is looked for there.

A blue/green service is an ``AWS::ECS::Service`` with the CodeDeploy deployment controller or an ECS deployment
strategy (BLUE_GREEN, CANARY, LINEAR), matched to a construct path the way ``deployments.resolve`` matches it in
the deployed stack: its logical id is the path below the stack, letters and digits only, then ``Service`` and
CDK's 8-character hash. The template decides whether a path is one; the ``aws:cdk:logicalId`` metadata only names
the paths a message lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import CliError
from .export import StackArtifact, stacks

MANIFEST = "manifest.json"
_STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")


@dataclass(frozen=True)
class Service:
    """A blue/green service of a stack: its construct path below the stack and its engine."""

    path: str
    engine: str  # "CodeDeploy" or "ECS-native", as messages name it
    # Its AWS::ECS::Service resource (``plan --stack`` reads it); the path and engine are what tell services apart.
    logical_id: str = field(default="", compare=False)


@dataclass(frozen=True)
class AssemblyStack:
    """A stack of the cloud assembly, as the four commands need it."""

    name: str  # what CloudFormation calls it: --stack
    path: str  # its construct path (a stack in a Stage: Stage/Stack)
    region: str | None  # the region of its environment; None when environment-agnostic
    logical_ids: frozenset[str]  # of its blue/green AWS::ECS::Service resources
    services: tuple[Service, ...]
    assembly: str  # the cloud assembly's folder, as messages show it

    def has_service(self, path: str) -> bool:
        """Whether ``path`` (``Web`` or ``<stack>/Web``, as ``deployments.resolve`` takes it) names one."""
        below = path.split("/", 1)[1] if path.startswith(f"{self.name}/") else path
        return any(_is_service_of(below, logical_id) for logical_id in self.logical_ids)


def logical_prefix(path: str) -> str:
    """How CDK's logical ids begin for the constructs at ``path`` (below the stack): its letters and digits."""
    return re.sub(r"[^A-Za-z0-9]", "", path)


def _is_service_of(below: str, logical_id: str) -> bool:
    """Whether ``logical_id`` is the ECS service of the construct at ``below`` (``deployments.resolve``'s rule)."""
    return re.match(rf"^{re.escape(logical_prefix(below))}Service[0-9A-F]{{8}}$", logical_id) is not None


def default_directory() -> Path:
    """Where the CDK CLI writes the cloud assembly of the app in the current folder: cdk.json's ``output``, else
    cdk.out (relative, as messages show it)."""
    try:
        config = json.loads(Path("cdk.json").read_text())
    except (OSError, ValueError):
        config = {}
    output = config.get("output") if isinstance(config, dict) else None
    return Path(output if isinstance(output, str) and output else "cdk.out")


def read(directory: Path, shown: str | None = None) -> list[AssemblyStack]:
    """Every stack of the cloud assembly in ``directory`` (``shown`` as messages name it; default: the path), a
    Stage's (nested assemblies) included."""
    shown = str(directory) if shown is None else shown
    manifest = json.loads((directory / MANIFEST).read_text())
    found = []
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    by_name = {stack.name: stack for stack in stacks(directory)}
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        stack = by_name[artifact.get("properties", {}).get("stackName", artifact_id)]
        path = str(artifact.get("displayName", stack.name))
        region = str(artifact.get("environment", "")).rsplit("/", 1)[-1]
        resources: dict[str, Any] = json.loads(stack.template_file.read_text()).get("Resources", {})
        engines = {logical_id: engine for logical_id, r in resources.items() if (engine := _engine(r)) is not None}
        found.append(
            AssemblyStack(
                name=stack.name,
                path=path,
                region=None if region in ("", "unknown-region") else region,
                logical_ids=frozenset(engines),
                services=_services(stack.metadata, path, engines),
                assembly=shown,
            )
        )
    for artifact in artifacts.values():
        if artifact.get("type") == "cdk:cloud-assembly":
            found += read(directory / artifact["properties"]["directoryName"], shown)
    return found


def _engine(resource: dict[str, Any]) -> str | None:
    """``CodeDeploy`` or ``ECS-native`` for a blue/green ECS service, else ``None``."""
    if resource.get("Type") != "AWS::ECS::Service":
        return None
    properties = resource.get("Properties") or {}
    if (properties.get("DeploymentController") or {}).get("Type") == "CODE_DEPLOY":
        return "CodeDeploy"
    if (properties.get("DeploymentConfiguration") or {}).get("Strategy") in _STRATEGIES:
        return "ECS-native"
    return None


def _services(metadata: Mapping[str, Any], stack_path: str, engines: dict[str, str]) -> tuple[Service, ...]:
    """The construct paths (below the stack) whose logical id prefix is a blue/green service's, in synthesis order."""
    found = []
    for path, entries in metadata.items():
        for entry in entries:
            logical_id = entry.get("data")
            if entry.get("type") != "aws:cdk:logicalId" or logical_id not in engines:
                continue
            parts = path.removeprefix(f"/{stack_path}/").split("/")
            # The service's resource is a few levels below the service construct (Web/Service/Service).
            for length in range(len(parts) - 1, 0, -1):
                below = "/".join(parts[:length])
                if _is_service_of(below, logical_id):
                    found.append(Service(below, engines[logical_id], logical_id))
                    break
    return tuple(found)


def check(directory: Path, shown: str, stack: str, path: str) -> AssemblyStack:
    """The stack named ``stack`` in the assembly at ``directory`` (``shown`` as messages name it), which has a
    blue/green service at ``path``; refused, with the names there are, otherwise."""
    try:
        found = read(directory, shown)
    except (OSError, ValueError, KeyError) as error:
        raise CliError(
            f"Cannot read the cloud assembly {shown} ({type(error).__name__}: {error}): synthesize it again "
            "(`cdk synth`), or pass --no-assembly."
        ) from error
    by_name = {s.name: s for s in found}
    if stack not in by_name:
        by_path = {s.path: s for s in found}
        if stack in by_path:
            raise CliError(
                f"Invalid --stack {stack!r}: that is the construct path of stack {by_path[stack].name!r}; "
                f"CloudFormation knows it as --stack {by_path[stack].name}."
            )
        names = ", ".join(repr(s.name) for s in found) or "none"
        raise CliError(
            f"Invalid --stack {stack!r}: the cloud assembly {shown} has no such stack; its stacks are {names}. Use "
            "one of them, pass --assembly DIR of the app that deploys it, or --no-assembly to skip this check."
        )
    target = by_name[stack]
    if not target.has_service(path):
        services = ", ".join(f"{s.path!r} ({s.engine})" for s in target.services)
        there = (
            f"its services are {services}. Use --path with one of them."
            if services
            else "it has none (a BlueGreenFargateService). Check --stack."
        )
        raise CliError(
            f"Invalid --path {path!r}: stack {stack!r} in the cloud assembly {shown} has no blue/green service "
            f"there; {there}"
        )
    return target


@dataclass(frozen=True)
class ServiceTemplate:
    """A blue/green service's template, for ``plan --stack``: the template's resources, the service's logical id,
    the logical ids below its construct path (what it owns), and where the template is, as the title shows it."""

    resources: Mapping[str, Any]
    service: Service
    owned: frozenset[str]
    template: str


def service_template(directory: Path, shown: str, stack: str, path: str | None) -> ServiceTemplate:
    """The template of stack ``stack`` and its blue/green service at ``path`` (``Web`` or ``<stack>/Web``; ``None``:
    the stack's only one), refused with the stacks or services there are."""
    if not (directory / MANIFEST).is_file():
        raise CliError(
            f"Invalid --assembly {shown!r}: it holds no {MANIFEST}; synthesize the app first (`npx cdk synth`, or "
            "`make synth` for the bundled sample) or pass --assembly DIR of the folder `cdk synth` writes."
        )
    found = {s.name: s for s in read(directory, shown)}
    if stack not in found:
        names = ", ".join(repr(name) for name in found) or "none"
        raise CliError(
            f"Invalid --stack {stack!r}: the cloud assembly {shown} has no such stack; its stacks are {names}. Use one "
            "of them, or --assembly DIR of the app that defines it."
        )
    target = found[stack]
    listed = ", ".join(f"{s.path!r} ({s.engine})" for s in target.services)
    if path is None and len(target.services) != 1:
        there = f"{len(target.services)}: {listed}" if target.services else "none (a BlueGreenFargateService)"
        raise CliError(f"Name the service with --service PATH: stack {stack!r} has {there}.")
    below = target.services[0].path if path is None else path.removeprefix(f"{stack}/")
    chosen = next((s for s in target.services if s.path == below), None)
    if chosen is None:
        raise CliError(
            f"Invalid --service {path!r}: stack {stack!r} has no blue/green service at that construct path; its "
            f"services are {listed or 'none'}."
        )
    artifact = next(s for s in stacks_below(directory) if s.name == stack)
    prefix = f"/{target.path}/{chosen.path}/"
    owned = frozenset(
        entry["data"]
        for construct, entries in artifact.metadata.items()
        if construct.startswith(prefix)
        for entry in entries
        if entry.get("type") == "aws:cdk:logicalId" and isinstance(entry.get("data"), str)
    )
    resources = json.loads(artifact.template_file.read_text()).get("Resources", {})
    relative = artifact.template_file.relative_to(directory)
    return ServiceTemplate(resources=resources, service=chosen, owned=owned, template=f"{shown}/{relative}")


def stacks_below(directory: Path) -> list[StackArtifact]:
    """Every stack artifact of the assembly, a Stage's (nested assemblies) included."""
    found = stacks(directory)
    manifest = json.loads((directory / MANIFEST).read_text())
    for artifact in manifest.get("artifacts", {}).values():
        if artifact.get("type") == "cdk:cloud-assembly":
            found += stacks_below(directory / artifact["properties"]["directoryName"])
    return found
