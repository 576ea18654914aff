"""``blue-green-ecs export``: synthesize an app and write its templates (and pipeline files) to a folder.

The app is synthesized as it is (the construct reads no context); the command adjusts the result:
the pipeline files come from the services' construct metadata in the cloud assembly, and
``--standalone`` turns the library's Lambda functions from the handlers asset into inline code.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ExportError
from .parameters import parameterize
from .pipeline_files import fill, placeholders

__all__ = ["Asset", "ExportError", "export", "fill", "placeholders"]
# The construct metadata `pipeline.record_pipeline_files` adds to a CodeDeploy service (kept here as
# well: importing the construct's modules would start aws-cdk-lib's jsii runtime for every export).
PIPELINE_FILES_METADATA = "blue-green-ecs:pipeline-files"
# Without this, every new VPC carries aws-cdk-lib's custom resource (a Lambda asset) that empties the
# default security group; a standalone template cannot use assets.
RESTRICT_DEFAULT_SG = "@aws-cdk/aws-ec2:restrictDefaultSecurityGroup"


@dataclass(frozen=True)
class Asset:
    """A file asset a template refers to."""

    asset_id: str
    source: str
    resources: tuple[str, ...]


def load_app(directory: Path, app: str | None) -> tuple[str, dict[str, Any]]:
    """The app command and context, like the CDK CLI: ``--app`` or cdk.json's ``app``, and cdk.json's context."""
    cdk_json = directory / "cdk.json"
    config: dict[str, Any] = {}
    if cdk_json.is_file():
        try:
            config = json.loads(cdk_json.read_text())
        except json.JSONDecodeError as error:
            raise ExportError(f"{cdk_json} is not valid JSON: {error}") from error
    command = app or config.get("app")
    if not command:
        raise ExportError(
            f"No app to synthesize: pass --app 'python app.py', or run in a directory with a cdk.json "
            f"(looked in {directory})."
        )
    return str(command), dict(config.get("context", {}))


def synthesize(
    command: str,
    directory: Path,
    context: Mapping[str, Any],
    outdir: Path,
    progress: Callable[[str], None],
    *,
    reports_to: Path | None = None,
) -> None:
    """Run the app as the CDK CLI would: context and output folder through CDK_CONTEXT_JSON / CDK_OUTDIR.

    ``outdir`` is temporary: when synthesis fails, the validation reports aws-cdk-lib wrote there
    are copied to ``reports_to`` (the export's folder), and the message names the copies.
    """
    env = dict(os.environ)
    env["CDK_OUTDIR"] = str(outdir)
    env["CDK_CONTEXT_JSON"] = json.dumps(dict(context))
    env.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    # The app runs with this interpreter's environment first on PATH, so `python3 app.py` finds the
    # same packages as this command.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    progress(f"synthesizing: {command}")
    try:
        result = subprocess.run(
            command, shell=True, cwd=directory, env=env, capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise ExportError(f"Could not run the app {command!r}: {error}") from error
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        for report in keep_validation_reports(outdir, reports_to):
            # aws-cdk-lib's message ends "A copy of this report can be found in: <outdir>/...", a
            # folder deleted when the command ends: point at the copy instead.
            tail = tail.replace(str(outdir / report.name), str(report))
            if str(report) not in tail:
                tail += f"\nThe validation report is kept in {report}."
        raise ExportError(f"Synthesis failed: {command!r} exited with {result.returncode}.\n{tail}")
    if not (outdir / "manifest.json").is_file():
        raise ExportError(f"{command!r} ran but wrote no cloud assembly: is it a CDK app that calls app.synth()?")


# What aws-cdk-lib's validation writes to the cloud assembly (cx-api VALIDATION_REPORT_FILE, and the
# legacy file of context @aws-cdk/core:validationReportJson).
VALIDATION_REPORTS = ("validation-report.json", "policy-validation-report.json")


def keep_validation_reports(outdir: Path, folder: Path | None) -> list[Path]:
    """Copy the validation reports of a failed synthesis from ``outdir`` to ``folder``; returns the copies."""
    kept = []
    for name in VALIDATION_REPORTS:
        report = outdir / name
        if folder is not None and report.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            kept.append(Path(shutil.copy2(report, folder / name)))
    return kept


@dataclass(frozen=True)
class StackArtifact:
    """A stack of the cloud assembly: its name, template, assets manifest and construct metadata."""

    name: str
    template_file: Path
    assets_manifest: Path | None
    metadata: Mapping[str, Any]


def stacks(outdir: Path) -> list[StackArtifact]:
    """Every stack in the cloud assembly."""
    manifest = json.loads((outdir / "manifest.json").read_text())
    found = []
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    for artifact_id, artifact in artifacts.items():
        if artifact.get("type") != "aws:cloudformation:stack":
            continue
        properties = artifact.get("properties", {})
        name = properties.get("stackName", artifact_id)
        assets = next(
            (
                outdir / artifacts[dep]["properties"]["file"]
                for dep in artifact.get("dependencies", [])
                if artifacts.get(dep, {}).get("type") == "cdk:asset-manifest"
            ),
            None,
        )
        found.append(StackArtifact(name, outdir / properties["templateFile"], assets, stack_metadata(outdir, artifact)))
    return found


def stack_metadata(outdir: Path, artifact: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Construct path -> metadata entries of a stack artifact: inline (older aws-cdk-lib) and/or in its
    ``additionalMetadataFile`` (newer versions)."""
    metadata: dict[str, list[dict[str, Any]]] = {
        path: list(entries) for path, entries in artifact.get("metadata", {}).items()
    }
    extra = artifact.get("additionalMetadataFile")
    if extra:
        for path, entries in json.loads((outdir / extra).read_text()).items():
            metadata.setdefault(path, []).extend(entries)
    return metadata


def recorded_pipeline_files(metadata: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Construct path (without the leading ``/``) -> the pipeline files recorded for that service."""
    return {
        path.lstrip("/"): entry["data"]
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == PIPELINE_FILES_METADATA
    }


def zip_asset_directories(assets_manifest: Path | None) -> dict[str, Path]:
    """S3 object key -> source directory of every zip file asset in the manifest."""
    if assets_manifest is None or not assets_manifest.is_file():
        return {}
    manifest = json.loads(assets_manifest.read_text())
    found = {}
    for asset in manifest.get("files", {}).values():
        source = asset.get("source", {})
        if source.get("packaging") != "zip" or not source.get("path"):
            continue
        for destination in asset.get("destinations", {}).values():
            key = destination.get("objectKey")
            if isinstance(key, str):
                found[key] = assets_manifest.parent / source["path"]
    return found


def inline_library_functions(template: dict[str, Any], assets_manifest: Path | None) -> list[str]:
    """Make the library's own Lambda functions inline code; returns their logical ids.

    A function is the library's when its Handler is one of ``lambda_code.BUNDLES`` and its Code is
    an asset (matched by S3 object key in the assets manifest) whose directory holds that bundle's
    modules exactly as this package has them: a user's function of the same Handler in another asset
    stays as it is (and blocks the standalone export).
    """
    # Imported here: it starts aws-cdk-lib's jsii runtime, which only --standalone needs.
    from ..functions.lambda_code import BUNDLES, HANDLERS_DIR, INLINE_HANDLER, bundle_of, inline_code_for

    directories = zip_asset_directories(assets_manifest)
    changed = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Lambda::Function":
            continue
        properties = resource.get("Properties", {})
        handler = properties.get("Handler")
        main = bundle_of(handler) if isinstance(handler, str) else None
        code = properties.get("Code")
        key = code.get("S3Key") if isinstance(code, dict) else None
        if main is None or not isinstance(key, str) or key not in directories:
            continue
        directory = directories[key]
        if not all(
            (directory / f"{name}.py").is_file()
            and (directory / f"{name}.py").read_bytes() == (HANDLERS_DIR / f"{name}.py").read_bytes()
            for name in (main, *BUNDLES[main])
        ):
            continue
        properties["Code"] = {"ZipFile": inline_code_for(str(handler))}
        properties["Handler"] = INLINE_HANDLER
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            for name in [name for name in metadata if name.startswith("aws:asset:")]:
                del metadata[name]
            if not metadata:
                del resource["Metadata"]
        changed.append(logical_id)
    return changed


def referenced_assets(template: Mapping[str, Any], assets_manifest: Path | None, template_file: Path) -> list[Asset]:
    """File and image assets the template refers to (its own upload excluded)."""
    if assets_manifest is None or not assets_manifest.is_file():
        return []
    manifest = json.loads(assets_manifest.read_text())
    resources: Mapping[str, Any] = template.get("Resources", {})
    found = []
    for kind in ("files", "dockerImages"):
        for asset_id, asset in manifest.get(kind, {}).items():
            source = asset.get("source", {})
            path = source.get("path") or source.get("directory") or asset_id
            if Path(path).name == template_file.name:
                continue
            users = tuple(logical_id for logical_id, resource in resources.items() if asset_id in json.dumps(resource))
            if users:
                found.append(Asset(asset_id, str(path), users))
    return found


def make_standalone(template: dict[str, Any]) -> dict[str, Any]:
    """Drop what only a CDK-bootstrapped account has: the BootstrapVersion parameter and its rule."""
    parameters = template.get("Parameters", {})
    parameters.pop("BootstrapVersion", None)
    if not parameters:
        template.pop("Parameters", None)
    rules = template.get("Rules", {})
    rules.pop("CheckBootstrapVersion", None)
    if not rules:
        template.pop("Rules", None)
    return template


def _yaml() -> Any:
    """PyYAML, which only the export needs: it comes with the ``cli`` extra, not with the library."""
    try:
        import yaml
    except ImportError:
        raise ExportError(
            "Writing YAML (appspec.yaml, --format yaml) needs PyYAML: pip install 'blue-green-ecs[cli]'."
        ) from None
    return yaml


def write(path: Path, document: Any, output_format: str) -> None:
    """JSON or YAML (CloudFormation reads both; YAML keeps the long form of intrinsic functions)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if output_format == "yaml":
        path.write_text(_yaml().safe_dump(document, sort_keys=False, width=120))
    else:
        path.write_text(json.dumps(document, indent=1) + "\n")


def export(
    *,
    app: str | None,
    directory: Path,
    out: Path,
    output_format: str,
    standalone: bool,
    progress: Callable[[str], None],
    extra_context: Mapping[str, str] | None = None,
) -> list[Path]:
    """Synthesize, then write every stack's template and every CodeDeploy service's pipeline files."""
    if output_format not in ("json", "yaml"):
        raise ExportError(f"Unknown format {output_format!r}: use json or yaml.")
    _yaml()  # before synthesizing: appspec.yaml is YAML whatever the format
    command, app_context = load_app(directory, app)
    context: dict[str, Any] = {**app_context, **(extra_context or {})}
    if standalone:
        context[RESTRICT_DEFAULT_SG] = False
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="blue-green-ecs-") as tmp:
        outdir = Path(tmp)
        synthesize(command, directory, context, outdir, progress, reports_to=out)
        found = stacks(outdir)
        if not found:
            raise ExportError(f"{command!r} defines no stack.")
        problems = []
        for artifact in found:
            name = artifact.name
            template = json.loads(artifact.template_file.read_text())
            files = recorded_pipeline_files(artifact.metadata)
            if standalone:
                make_standalone(template)
                # What teams vary per release and environment, as parameters: docs/cli.md lists them.
                parameterize(template, artifact.metadata, files)
                inline_library_functions(template, artifact.assets_manifest)
                blocking = referenced_assets(template, artifact.assets_manifest, artifact.template_file)
                if blocking:
                    problems.append(
                        f"{name}: "
                        + "; ".join(f"asset {a.source} (used by {', '.join(a.resources)})" for a in blocking)
                    )
                    continue
            outputs: dict[str, Any] = {}
            for service_path, service_files in files.items():
                folder = out / name / service_path.split("/", 1)[-1].replace("/", "-")
                appspec = placeholders(service_files["appspec.yaml"], outputs, "appspec.yaml")
                appspec["version"] = 0.0  # CodeDeploy wants 0.0; JSON synthesis turned it into 0
                write(folder / "appspec.yaml", appspec, "yaml")
                taskdef = placeholders(service_files["taskdef.json"], outputs, "taskdef.json")
                write(folder / "taskdef.json", taskdef, "json")
                written += [folder / "appspec.yaml", folder / "taskdef.json"]
            if outputs:
                # The values the pipeline files name: `blue-green-ecs fill` puts them in after deploying.
                template.setdefault("Outputs", {}).update(
                    {f"BlueGreenEcs{key}": value for key, value in sorted(outputs.items())}
                )
            target = out / f"{name}.template.{output_format}"
            write(target, template, output_format)
            written.insert(0, target)
            progress(f"wrote {target}")
        if problems:
            raise ExportError(
                "Cannot make these templates standalone: they use assets that only a CDK-bootstrapped account "
                "can serve.\n" + "\n".join(f"  - {p}" for p in problems)
            )
    return written
