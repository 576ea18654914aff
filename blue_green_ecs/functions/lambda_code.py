"""Packaging of the library's Lambda code: the handlers asset, its inline form, and users' hook code.

Every function of the library (the deployment trigger's handler, the smoke test, the pre-flight
check) runs from one
asset, ``handlers/``. ``blue-green-ecs export --standalone`` replaces that asset with inline code
(one ``index.py`` per function, built by :func:`inline_code_for`) after synthesis, so the construct
itself never needs to know how its templates will be deployed.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from ..configuration.validation import invalid

HANDLERS_DIR = Path(__file__).resolve().parents[1] / "handlers"
# The newest Python runtime aws-cdk-lib knows (AwsSolutions-L1); the handlers need 3.11 or newer.
HANDLER_RUNTIME = lambda_.Runtime.PYTHON_3_14

# The library's functions: main module (its ``handler`` is the function's Handler) -> the helper
# modules it imports by name, in load order (a helper may import the ones before it).
BUNDLES: Mapping[str, tuple[str, ...]] = {
    "custom_resource": (
        "appspec",
        "request",
        "messages",
        "aws",
        "live_state",
        "pinned_service",
        "live_lookup",
        "rollback_reason",
        "hook_reason",
        "deployment",
        "cfn_response",
    ),
    "smoke_test": ("lifecycle_hook",),
    "test_traffic_router": ("lifecycle_hook",),
    "preflight": ("lifecycle_hook",),
    "step_analysis": ("lifecycle_hook",),
    "migration": ("lifecycle_hook",),
}
# The entry point of every bundle, and of its inline form (``index.py``).
HANDLER_FUNCTION = "handler"
INLINE_HANDLER = f"index.{HANDLER_FUNCTION}"


def handlers_code() -> lambda_.Code:
    """The asset holding every Lambda handler of the library (one asset, shared by all functions)."""
    return lambda_.Code.from_asset(str(HANDLERS_DIR), exclude=["__pycache__", "*.pyc"])


def bundle_of(handler: str) -> str | None:
    """The main module of a Lambda Handler such as ``custom_resource.handler``, or None if not one of ours."""
    module, dot, function = handler.partition(".")
    return module if dot and function == HANDLER_FUNCTION and module in BUNDLES else None


def inline_code_for(handler: str) -> str | None:
    """The inline ``index.py`` of the library's function with this Handler, or None if not one of ours.

    ``index.py`` embeds the main module and its helpers (see :func:`inline_source`); the function's
    Handler becomes :data:`INLINE_HANDLER`. CloudFormation accepts inline code well beyond the old
    4096-character limit (aws/aws-cdk #20624).
    """
    main = bundle_of(handler)
    return None if main is None else inline_source(main, BUNDLES[main])


_FUTURE_IMPORT = "from __future__ import annotations\n"


def inline_source(main: str, helpers: Sequence[str] = ()) -> str:
    """One ``index.py`` holding the handler module ``main`` and the ``helpers`` it imports by name.

    Each helper is compiled as a module of its own name and registered in ``sys.modules`` before the
    next one and the main module run, so their ``import``s find each other exactly as in the asset.
    ``from __future__`` must open a file, so the main module's moves to the top.
    """
    loader = [
        _FUTURE_IMPORT.rstrip(),
        "import sys as _sys",
        "import types as _types",
        "",
        "",
        "def _load(_name, _source):",
        "    _module = _types.ModuleType(_name)",
        "    _sys.modules[_name] = _module",
        "    exec(compile(_source, _name + '.py', 'exec', dont_inherit=True), _module.__dict__)",
        "",
        "",
    ]
    for name in helpers:
        loader.append(f"_load({name!r}, {(HANDLERS_DIR / f'{name}.py').read_text()!r})")
    body = (HANDLERS_DIR / f"{main}.py").read_text()
    if _FUTURE_IMPORT not in body:
        raise ValueError(f"handlers/{main}.py must use {_FUTURE_IMPORT.strip()!r}, as every handler module does")
    return "\n".join(loader) + "\n" + body.replace(_FUTURE_IMPORT, "", 1)


@jsii.implements(ILocalBundling)
class _WithHookHelper:
    """Local bundling (no Docker): the user's directory plus ``lifecycle_hook.py``."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    # jsii calls this with the options struct as one positional argument, although the generated
    # ILocalBundling stub declares keyword arguments; hence the type: ignore where it is passed.
    def try_bundle(self, output_dir: str, options: Any) -> bool:
        shutil.copytree(self._directory, output_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(HANDLERS_DIR / "lifecycle_hook.py", Path(output_dir) / "lifecycle_hook.py")
        return True


def hook_code(directory: str | Path) -> lambda_.Code:
    """Lambda code for a hook: ``directory`` plus the ``lifecycle_hook`` helper module.

    The hook then only decides pass or fail::

        # my_hooks/check.py
        from lifecycle_hook import codedeploy_hook

        @codedeploy_hook
        def handler(event, context):
            return run_my_checks()  # True: pass, False or an exception: fail

        lambda_.Function(self, "Check", code=hook_code("my_hooks"), handler="check.handler",
                         runtime=lambda_.Runtime.PYTHON_3_13)

    Bundled locally at synth time, without Docker.
    """
    source = Path(directory)
    if not source.is_dir():
        raise invalid("directory", str(directory), "give the directory that holds the hook's handler module.")
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, the image is only a required field.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.14"),
            local=_WithHookHelper(source),  # type: ignore[arg-type]
        ),
    )
