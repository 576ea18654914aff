"""CloudFormation parameters for a standalone template: what teams vary per release and per environment.

``export --standalone`` gives every blue/green service (found by its pipeline-files metadata) these
parameters, each defaulting to what the app synthesized, so the template deploys unchanged without
``--parameter-overrides``:

- ``<Service>ImageUri``: the application container's image. Another value changes the task definition's
  ``ContainerDefinitions``, which CloudFormation updates by replacement (AWS::ECS::TaskDefinition
  reference: every property but Tags "Update requires: Replacement"), so the new revision has a new
  ARN, the deployment trigger's ``TaskDefinitionArn`` changes and the trigger runs the blue/green
  deployment (ECS-native: the service update is the deployment).
- ``<Service>DesiredCount``: the number of tasks a new service starts with. Once it runs, the
  service keeps the count it has (autoscaling's or an operator's): the live-state lookup answers the
  service's ``DesiredCount`` (docs/day-two.md), and this parameter is its ``Configured`` count.
- ``<Service>CertificateArn``: only for a service whose listeners name a certificate by a literal ARN
  (``acm.Certificate.from_certificate_arn``); a certificate created in the stack stays as it is.

``<Service>`` is the service's construct path below its stack, letters and digits only (``Web``).
The resources are found by construct path (their ``aws:cdk:logicalId`` metadata): the construct ids
``TaskDefinition``, ``Service``, ``ProdListener`` and ``TestListener`` are the library's public contract.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .errors import ExportError

_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
_IMAGE_PLACEHOLDER = "<IMAGE1_NAME>"
# ECS's limit on a service's desired count (the construct's check_int("desired_count", ..., 0, 5000)).
_MAX_DESIRED_COUNT = 5000


def logical_ids(metadata: Mapping[str, Any]) -> dict[str, str]:
    """Construct path (without the leading ``/``) -> logical id, from the stack's metadata."""
    return {
        path.lstrip("/"): str(entry["data"])
        for path, entries in metadata.items()
        for entry in entries
        if entry.get("type") == "aws:cdk:logicalId"
    }


def service_id(service_path: str) -> str:
    """``Stack/Group/Api`` -> ``GroupApi``: the prefix of the service's parameters."""
    return _NOT_ALPHANUMERIC.sub("", service_path.split("/", 1)[-1])


def parameterize(
    template: dict[str, Any], metadata: Mapping[str, Any], services: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Add each service's parameters to ``template`` and use them; returns the parameter names added.

    ``services`` maps a service's construct path to its recorded pipeline files (the app container is
    the one whose image is CodePipeline's ``<IMAGE1_NAME>`` there).
    """
    ids = logical_ids(metadata)
    resources: dict[str, Any] = template.get("Resources", {})
    added: list[str] = []
    for path, files in services.items():
        prefix = service_id(path)
        containers = files.get("taskdef.json", {}).get("containerDefinitions", [])
        app = next((c.get("name") for c in containers if c.get("image") == _IMAGE_PLACEHOLDER), None)
        task_definition = resources.get(ids.get(f"{path}/TaskDefinition/Resource", ""))
        if app is not None and task_definition is not None:
            added += _image(template, task_definition, app, prefix, path)
        lookup = resources.get(ids.get(f"{path}/LiveState/Resource/Default", ""))
        if lookup is not None:
            added += _desired_count(template, lookup, prefix, path)
        listeners = [resources.get(ids.get(f"{path}/{name}/Resource", "")) for name in ("ProdListener", "TestListener")]
        added += _certificate(template, [lst for lst in listeners if lst is not None], prefix, path)
    return added


def _add(template: dict[str, Any], name: str, parameter: dict[str, Any], path: str) -> list[str]:
    if name in template.get("Parameters", {}):
        raise ExportError(
            f"The template already has a parameter {name}, the name the standalone export gives {path}'s "
            "parameter: rename yours (CfnParameter's id)."
        )
    template.setdefault("Parameters", {})[name] = parameter
    return [name]


def _image(template: dict[str, Any], task_definition: dict[str, Any], app: str, prefix: str, path: str) -> list[str]:
    containers = task_definition.get("Properties", {}).get("ContainerDefinitions", [])
    container = next((c for c in containers if c.get("Name") == app), None)
    if container is None:
        return []
    name = f"{prefix}ImageUri"
    image = container.get("Image")
    description = (
        f"Image of container {app} of {path}. Another value registers a new task definition revision and "
        "deploys it blue/green."
    )
    if isinstance(image, str):
        parameter = {"Type": "String", "Default": image, "MinLength": 1, "Description": description}
        added = _add(template, name, parameter, path)
        container["Image"] = {"Ref": name}
        return added
    # An image CloudFormation computes (an ECR repository in the stack) cannot be a parameter's default:
    # empty keeps it, anything else replaces it.
    condition = f"{prefix}ImageUriGiven"
    parameter = {"Type": "String", "Default": "", "Description": f"{description} Empty: the app's own image."}
    added = _add(template, name, parameter, path)
    template.setdefault("Conditions", {})[condition] = {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, ""]}]}
    container["Image"] = {"Fn::If": [condition, {"Ref": name}, image]}
    return added


def _desired_count(template: dict[str, Any], lookup: dict[str, Any], prefix: str, path: str) -> list[str]:
    properties = lookup.get("Properties", {}).get("Configured", {})
    count = properties.get("DesiredCount")
    if not isinstance(count, str) or not count.isdigit():
        return []
    name = f"{prefix}DesiredCount"
    added = _add(
        template,
        name,
        {
            "Type": "Number",
            "Default": int(count),
            "MinValue": 0,
            "MaxValue": _MAX_DESIRED_COUNT,
            "Description": f"Number of tasks {path} starts with, 0 to {_MAX_DESIRED_COUNT}; a running service "
            "keeps its own count.",
        },
        path,
    )
    properties["DesiredCount"] = {"Ref": name}
    return added


def _certificate(template: dict[str, Any], listeners: list[dict[str, Any]], prefix: str, path: str) -> list[str]:
    certificates = [
        certificate
        for listener in listeners
        for certificate in listener.get("Properties", {}).get("Certificates", [])
        if isinstance(certificate.get("CertificateArn"), str)
    ]
    arns = {certificate["CertificateArn"] for certificate in certificates}
    if len(arns) != 1:
        return []
    name = f"{prefix}CertificateArn"
    added = _add(
        template,
        name,
        {
            "Type": "String",
            "Default": arns.pop(),
            "AllowedPattern": "^arn:[a-z-]+:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$",
            "Description": f"ACM certificate of the HTTPS listeners of {path}.",
        },
        path,
    )
    for certificate in certificates:
        certificate["CertificateArn"] = {"Ref": name}
    return added
