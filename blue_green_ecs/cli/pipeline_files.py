"""The exported pipeline files: deploy-time values as ``${Name}`` placeholders, and ``fill`` putting them in.

``taskdef.json`` and ``appspec.yaml`` must be plain documents when CodePipeline reads them: every
CloudFormation value in them (a ``Ref``, ``Fn::GetAtt``, and whole expressions such as the
``Fn::Join`` of a Secrets Manager secret's ARN) becomes ``${Name}``, and the exported template gets a
stack output ``BlueGreenEcs<Name>`` whose value is that expression. ``fill`` replaces the placeholders
with the deployed stack's outputs, and refuses to write a file that would still hold one.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from .errors import ExportError

OUTPUT_PREFIX = "BlueGreenEcs"
PIPELINE_FILE_NAMES = ("appspec.yaml", "taskdef.json")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9]+)\}")
_NOT_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")
# Intrinsics whose value is a list: a stack output holds a string only, so these cannot become one.
_LIST_VALUED = frozenset({"Fn::Split", "Fn::GetAZs", "Fn::Cidr"})


def is_intrinsic(value: object) -> bool:
    """A CloudFormation intrinsic function or Ref: a one-key dict whose key is ``Ref`` or ``Fn::...``."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return isinstance(key, str) and (key == "Ref" or key.startswith("Fn::"))


def placeholders(document: Any, outputs: dict[str, Any], where: str = "") -> Any:
    """Replace every deploy-time value with ``${Name}`` and record a stack output ``Name`` for each.

    ``where`` is the key path of ``document`` in its file, for the outputs' descriptions and errors.
    """
    if isinstance(document, list):
        return [placeholders(item, outputs, f"{where}[{index}]") for index, item in enumerate(document)]
    if not isinstance(document, dict):
        return document
    if is_intrinsic(document):
        ((function, value),) = document.items()
        if function in _LIST_VALUED:
            raise ExportError(
                f"{where} is a list CloudFormation computes at deploy time ({function}); a stack output holds "
                "one string, so the pipeline files cannot name it. Give that value as a plain list."
            )
        name = _output_name(function, value, document)
        shown = ".".join(value) if function == "Fn::GetAtt" and isinstance(value, list) else function
        if function == "Ref":
            shown = f"Ref {value}"
        outputs[name] = {"Value": document, "Description": f"{shown} (for the pipeline files: {where})"[:1024]}
        return f"${{{name}}}"
    return {key: placeholders(value, outputs, f"{where}.{key}" if where else key) for key, value in document.items()}


def _output_name(function: str, value: Any, document: Mapping[str, Any]) -> str:
    """``Ref X`` -> ``X``, ``Fn::GetAtt [X, Arn]`` -> ``XArn``; a whole expression -> its kind, the first
    resource it names and a digest of it, so that the same expression in two files is one output."""
    if function == "Ref":
        return _NOT_ALPHANUMERIC.sub("", str(value))
    if function == "Fn::GetAtt":
        parts = value if isinstance(value, list) else str(value).split(".")
        return _NOT_ALPHANUMERIC.sub("", "".join(str(part) for part in parts))
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:8].upper()
    kind = function.removeprefix("Fn::")
    return _NOT_ALPHANUMERIC.sub("", f"{kind}{_first_resource(value)}{digest}")[:200]


def _first_resource(value: Any) -> str:
    """The first resource (not pseudo parameter) an expression refers to, or ``""``."""
    if isinstance(value, list):
        return next((found for item in value if (found := _first_resource(item))), "")
    if isinstance(value, dict):
        if "Ref" in value and not str(value["Ref"]).startswith("AWS::"):
            return str(value["Ref"])
        if "Fn::GetAtt" in value and isinstance(value["Fn::GetAtt"], list):
            return str(value["Fn::GetAtt"][0])
        return next((found for item in value.values() if (found := _first_resource(item))), "")
    return ""


def read_stack_outputs(path: Path) -> dict[str, str]:
    """``OutputKey -> OutputValue`` of the one stack in ``aws cloudformation describe-stacks`` JSON."""
    expected = (
        "expected the JSON that `aws cloudformation describe-stacks --stack-name <Stack> --output json` prints "
        '({"Stacks": [{"Outputs": [{"OutputKey": ..., "OutputValue": ...}]}]})'
    )
    try:
        described = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ExportError(f"--outputs {path} is not JSON ({error}): {expected}.") from error
    stacks = described.get("Stacks") if isinstance(described, dict) else None
    if isinstance(stacks, list) and len(stacks) != 1:
        raise ExportError(f"--outputs {path} describes {len(stacks)} stacks: {expected}, for one stack.")
    stack = stacks[0] if isinstance(stacks, list) else described
    outputs = stack.get("Outputs", []) if isinstance(stack, dict) else None
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and "OutputKey" in o and "OutputValue" in o for o in outputs
    ):
        raise ExportError(f"--outputs {path} has no stack outputs list: {expected}.")
    return {str(o["OutputKey"]): str(o["OutputValue"]) for o in outputs}


def fill(folder: Path, stack_outputs: Mapping[str, str]) -> list[Path]:
    """Put deployed stack outputs (``BlueGreenEcs<Name>``) in place of ``${Name}`` in the pipeline files.

    Every file is checked before any is written: a placeholder without an output, or a CloudFormation
    value left in a file (written by an older export), fails naming the file and the key.
    """
    if not folder.is_dir():
        raise ExportError(f"{folder} is not a folder: pass the folder `blue-green-ecs export --out` wrote.")
    paths = sorted(p for p in folder.rglob("*") if p.name in PIPELINE_FILE_NAMES and p.is_file())
    if not paths:
        raise ExportError(
            f"{folder} holds no appspec.yaml or taskdef.json: pass the folder `blue-green-ecs export --out` wrote."
        )
    values = {key.removeprefix(OUTPUT_PREFIX): value for key, value in stack_outputs.items()}
    filled: dict[Path, str] = {}
    for path in paths:
        text = path.read_text()
        missing = sorted(set(_PLACEHOLDER.findall(text)) - set(values))
        if missing:
            raise ExportError(f"{path}: no stack output for {', '.join(OUTPUT_PREFIX + m for m in missing)}")
        as_json = path.suffix == ".json"
        # A value goes into a JSON string as JSON escapes it (a quote or backslash would end it).
        shown = {name: json.dumps(value)[1:-1] if as_json else value for name, value in values.items()}
        text = _PLACEHOLDER.sub(partial(_put, shown), text)
        document = json.loads(text) if as_json else _yaml_module().safe_load(text)
        left = _first_intrinsic(document, "")
        if left is not None:
            key, function = left
            raise ExportError(
                f"{path}: {key} is still a CloudFormation value ({function}), not a valid "
                f"{'task definition' if as_json else 'AppSpec'}. Export again: `blue-green-ecs export` turns every "
                "such value into a ${Name} placeholder and a stack output, which fill puts in."
            )
        filled[path] = text
    for path, text in filled.items():
        path.write_text(text)
    return list(filled)


def _put(values: Mapping[str, str], match: re.Match[str]) -> str:
    return values[match.group(1)]


def _first_intrinsic(document: Any, where: str) -> tuple[str, str] | None:
    """Key path and function of the first intrinsic in ``document``."""
    if is_intrinsic(document):
        return where or "(the document)", next(iter(document))
    items: list[tuple[str, Any]] = []
    if isinstance(document, list):
        items = [(f"{where}[{index}]", item) for index, item in enumerate(document)]
    elif isinstance(document, dict):
        items = [(f"{where}.{key}" if where else str(key), item) for key, item in document.items()]
    return next((found for key, item in items if (found := _first_intrinsic(item, key)) is not None), None)


def _yaml_module() -> Any:
    """PyYAML, on use: it comes with the ``cli`` extra (an appspec.yaml needs it; the library does not)."""
    import yaml

    return yaml
