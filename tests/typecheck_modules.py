"""Which aws-cdk-lib submodules mypy reads: the ones the code imports, and everything those import.

aws-cdk-lib's ``aws_cdk/__init__.py`` imports every one of its 350 submodules under TYPE_CHECKING, so mypy
would read all of aws-cdk-lib (about 2,200 modules: 50 s of a cold ``make typecheck``) although the code
uses a few dozen. pyproject.toml skips ``aws_cdk.*`` and follows the submodules listed between its
``typecheck-modules`` markers: those the code imports and, transitively, every submodule their own
modules import, so each type the code can meet is checked as before. ``tests/test_typecheck_modules.py``
fails when the list differs from what the code needs; ``python -m tests.typecheck_modules`` rewrites it.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
SOURCES = ("blue_green_ecs", "sample", "tests", "benchmarks", "docs", "app.py")
BEGIN = "# typecheck-modules: begin (python -m tests.typecheck_modules)"
END = "# typecheck-modules: end"
# Found without importing it: importing aws_cdk starts jsii.
_SPEC = importlib.util.find_spec("aws_cdk")
assert _SPEC is not None
assert _SPEC.origin is not None
_CDK = Path(_SPEC.origin).resolve().parent
# A submodule's own imports of its siblings, as jsii writes them (an alias with a hash; the examples in the
# docstrings import without one).
_SIBLING = re.compile(r"^\s*import aws_cdk\.(\w+)(?:\.\w+)* as _\w+_[0-9a-f]{8}$", re.M)


def _submodules() -> frozenset[str]:
    return frozenset(p.name for p in _CDK.iterdir() if (p / "__init__.py").is_file() and not p.name.startswith("_"))


def imported_by_the_code() -> set[str]:
    """The aws_cdk submodules the project's own Python files import."""
    submodules = _submodules()
    found: set[str] = set()
    paths = [
        path
        for source in SOURCES
        for path in ([ROOT / source] if source.endswith(".py") else sorted((ROOT / source).rglob("*.py")))
    ]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "aws_cdk":
                found.update(alias.name for alias in node.names if alias.name in submodules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aws_cdk."):
                found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("aws_cdk."))
    return found & submodules


def followed() -> list[str]:
    """``imported_by_the_code`` and every submodule the modules of those import, transitively."""
    submodules = _submodules()
    closure = set(imported_by_the_code())
    pending = sorted(closure)
    while pending:
        for path in (_CDK / pending.pop()).rglob("*.py"):
            for match in _SIBLING.finditer(path.read_text(encoding="utf-8")):
                name = match.group(1)
                if name in submodules and name not in closure:
                    closure.add(name)
                    pending.append(name)
    return sorted(closure)


def block(modules: list[str]) -> str:
    # "aws_cdk.*" matches the package itself too: its core module (Stack, Duration, ...) is always followed.
    lines = [BEGIN, "[[tool.mypy.overrides]]", "module = [", '    "aws_cdk",']
    lines += [f'    "aws_cdk.{name}", "aws_cdk.{name}.*",' for name in modules]
    lines += ["]", 'follow_imports = "normal"', END]
    return "\n".join(lines)


def configured() -> str:
    text = PYPROJECT.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    return text[start:end]


def main() -> None:
    text = PYPROJECT.read_text(encoding="utf-8")
    PYPROJECT.write_text(text.replace(configured(), block(followed())), encoding="utf-8")
    sys.stdout.write(f"{PYPROJECT.relative_to(ROOT)}: mypy follows {len(followed())} aws_cdk submodules\n")


if __name__ == "__main__":
    main()
