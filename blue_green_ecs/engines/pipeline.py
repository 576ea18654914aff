"""Pipeline hand-off: ``appspec.yaml`` and ``taskdef.json`` for CodePipeline's CodeDeployToECS action.

Teams whose pipeline starts deployments (``deploy_on_update=False``) feed the action two files. They
are built here from the same inputs as the deployment trigger's AppSpec, so the two paths cannot
drift apart. Deploy-time values (role ARNs, subnet and security group ids, the log group) are CDK
tokens in the documents: pass them to ``s3deploy.Source.json_data`` / ``Source.data`` with
:func:`pipeline_files`, and CloudFormation writes the concrete files at deploy time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import jsii
from aws_cdk import IStableAnyProducer, Lazy, Stack, Token
from aws_cdk import aws_ecs as ecs
from constructs import Construct, Node

from ..handlers.appspec import build_appspec
from . import DeploymentEngine

# The placeholders CodePipeline's CodeDeployToECS action substitutes.
TASK_DEFINITION_PLACEHOLDER = "<TASK_DEFINITION>"
IMAGE_PLACEHOLDER = "<IMAGE1_NAME>"
# Construct metadata of a CodeDeploy service: {"appspec.yaml": ..., "taskdef.json": ...}, resolved in
# the cloud assembly's stack metadata (not in the template), where `blue-green-ecs export` reads it.
PIPELINE_FILES_METADATA = "blue-green-ecs:pipeline-files"

# Maps whose keys are the user's, not property names (the L1 properties are camelCase): container
# labels, log and FireLens driver options, Docker volume driver options and labels.
_FREE_FORM_KEYS = frozenset({"dockerLabels", "options", "driverOpts", "labels"})
_TASK_PROPERTIES = (
    "family",
    "task_role_arn",
    "execution_role_arn",
    "network_mode",
    "requires_compatibilities",
    "cpu",
    "memory",
    "runtime_platform",
    "ephemeral_storage",
    "volumes",
)


class PipelineService(Protocol):
    """What the pipeline documents read of a service; ``BlueGreenFargateService`` is one."""

    @property
    def node(self) -> Node: ...

    @property
    def task_definition(self) -> ecs.TaskDefinition: ...

    @property
    def container(self) -> ecs.ContainerDefinition: ...

    @property
    def engine(self) -> DeploymentEngine: ...

    @property
    def appspec_properties(self) -> Mapping[str, Any]: ...


def appspec_document(service: PipelineService, *, task_definition: str = TASK_DEFINITION_PLACEHOLDER) -> dict[str, Any]:
    """The service's AppSpec, with CodePipeline's task definition placeholder by default."""
    return _appspec(_appspec_inputs(service), task_definition)


def _appspec(appspec: Mapping[str, Any], task_definition: str) -> dict[str, Any]:
    return build_appspec({**appspec, "TaskDefinitionArn": task_definition})


def _appspec_inputs(service: PipelineService) -> Mapping[str, Any]:
    if service.engine is not DeploymentEngine.CODE_DEPLOY:
        raise ValueError(
            f"Invalid service={service.node.path!r}: pipeline files are for engine=DeploymentEngine.CODE_DEPLOY; "
            "ECS-native services deploy from CloudFormation updates."
        )
    return service.appspec_properties


def taskdef_document(service: PipelineService, *, image: str = IMAGE_PLACEHOLDER) -> dict[str, Any]:
    """The service's task definition in RegisterTaskDefinition form, the app image as ``image``."""
    document = _taskdef(_task_resource(service.task_definition), service.container.container_name, image)
    tokens: dict[str, Any] = _as_tokens(document)
    return tokens


def _task_resource(task_definition: ecs.TaskDefinition) -> ecs.CfnTaskDefinition:
    resource = task_definition.node.default_child
    if not isinstance(resource, ecs.CfnTaskDefinition):
        raise TypeError(f"{task_definition.node.path} has no CfnTaskDefinition")
    return resource


def _taskdef(resource: ecs.CfnTaskDefinition, container_name: str, image: str) -> dict[str, Any]:
    """The task definition's resolved RegisterTaskDefinition form (intrinsics as plain dicts)."""
    # The L1's properties (camelCase, as the ECS API spells them) in one resolution: each call into
    # the jsii runtime costs, and this runs in every synthesis (see record_pipeline_files).
    resolved = resource.stack.resolve(resource._cfn_properties)
    document: dict[str, Any] = {}
    for name in _TASK_PROPERTIES:
        value = resolved.get(_camel(name))
        if value not in (None, [], {}):
            document[_camel(name)] = _api_form(value)
    containers = _api_form(resolved.get("containerDefinitions", []))
    for container in containers:
        if container["name"] == container_name:
            container["image"] = image
    document["containerDefinitions"] = containers
    return document


def pipeline_files(service: PipelineService) -> dict[str, str]:
    """``appspec.yaml`` and ``taskdef.json`` contents, resolved by CloudFormation at deploy time.

    For example, into the pipeline's source bucket::

        files = pipeline_files(web)
        s3deploy.BucketDeployment(self, "PipelineFiles", destination_bucket=bucket,
            sources=[s3deploy.Source.data(name, text) for name, text in files.items()])

    The AppSpec is JSON, which is also valid YAML, so CodeDeploy reads it as appspec.yaml.
    """
    stack = Stack.of(service.task_definition)
    return {
        "appspec.yaml": stack.to_json_string(appspec_document(service)),
        "taskdef.json": stack.to_json_string(taskdef_document(service)),
    }


def record_pipeline_files(
    scope: Construct, *, task_definition: ecs.TaskDefinition, container_name: str, appspec: Mapping[str, Any]
) -> None:
    """Record the pipeline files as ``scope``'s construct metadata :data:`PIPELINE_FILES_METADATA`.

    Construct metadata goes to the cloud assembly's stack metadata, keyed by construct path and
    resolved to CloudFormation intrinsics; the template stays as it is. `blue-green-ecs export`
    writes the files from there. The documents are produced at synthesis, so containers added
    to the task definition after the service was constructed are in ``taskdef.json``.
    """
    producer = _PipelineFiles(_task_resource(task_definition), container_name, dict(appspec))
    scope.node.add_metadata(PIPELINE_FILES_METADATA, Lazy.any(producer))


@jsii.implements(IStableAnyProducer)
class _PipelineFiles:
    """Produces the metadata of :func:`record_pipeline_files` when the stack's metadata is resolved."""

    def __init__(self, resource: ecs.CfnTaskDefinition, container_name: str, appspec: Mapping[str, Any]) -> None:
        self._resource = resource
        self._container_name = container_name
        self._appspec = appspec

    def produce(self) -> Any:
        return {
            "appspec.yaml": _appspec(self._appspec, TASK_DEFINITION_PLACEHOLDER),
            "taskdef.json": _taskdef(self._resource, self._container_name, IMAGE_PLACEHOLDER),
        }


def _camel(name: str) -> str:
    """snake_case or PascalCase -> camelCase, the ECS API's spelling."""
    if "_" in name:
        head, *rest = name.split("_")
        return head + "".join(part.capitalize() for part in rest)
    return name[:1].lower() + name[1:]


def _api_form(value: Any, *, free_form: bool = False) -> Any:
    """CloudFormation's PascalCase task definition properties in the ECS API's camelCase."""
    if isinstance(value, list):
        return [_api_form(item) for item in value]
    if not isinstance(value, dict) or _is_intrinsic(value):
        return value
    if free_form:
        return dict(value)
    return {_camel(key): _api_form(item, free_form=key in _FREE_FORM_KEYS) for key, item in value.items()}


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    if len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Ref" or key.startswith("Fn::")


def _as_tokens(value: Any) -> Any:
    """Turn resolved intrinsics back into tokens, so the document can be used like any CDK value."""
    if isinstance(value, list):
        return [_as_tokens(item) for item in value]
    if isinstance(value, dict):
        if _is_intrinsic(value):
            return Token.as_string(value)
        return {key: _as_tokens(item) for key, item in value.items()}
    return value
