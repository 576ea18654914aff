"""How the package is put together: the construct reads no context, and no module imports itself in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

from aws_cdk.assertions import Template

from blue_green_ecs.lambda_code import BUNDLES, HANDLERS_DIR
from sample.app import build

from .conftest import Synthesized
from .support import ROOT, new_app

PACKAGE = ROOT / "blue_green_ecs"
# The keys `blue-green-ecs export` used to set for the construct to read.
OLD_EXPORT_CONTEXT = {"blue-green-ecs:standalone": "true", "blue-green-ecs:pipeline-files": "true"}
CONTEXT_READS = frozenset({"try_get_context", "get_context", "tryGetContext", "getContext"})


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def test_the_construct_reads_no_context() -> None:
    """House rule 7: tools adjust synthesis from the outside; the library never reads context."""
    reads = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}"
        for path in _modules().values()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr in CONTEXT_READS
    ]
    assert reads == []


def test_the_old_export_context_changes_nothing(sample: Synthesized) -> None:
    with_old_keys = Template.from_stack(build(new_app(**OLD_EXPORT_CONTEXT)))
    assert with_old_keys.to_json() == sample.template.to_json()


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere: top level, in functions, under TYPE_CHECKING.

    ``from . import x`` names the module ``x`` when there is one, else the package. A submodule's
    implicit import of its parent packages is not an edge: Python always runs those first.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - (node.level - 1)])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            for alias in node.names:
                found.add(f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module)
    return {imported for imported in found if imported in modules and imported != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (closed: first module repeated last) for every back edge a depth-first search finds."""
    cycles: list[list[str]] = []
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                cycles.append([*stack[stack.index(imported) :], imported])
            elif imported not in state:
                visit(imported)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_cycle_finder_names_the_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_between_the_package_modules() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    # The graph is real: the construct imports its engines, the engine the pipeline module.
    assert "blue_green_ecs.engines.parts" in graph["blue_green_ecs.service"]
    assert "blue_green_ecs.engines.codedeploy" in graph["blue_green_ecs.engines.parts"]
    assert "blue_green_ecs.pipeline" in graph["blue_green_ecs.engines.codedeploy"]
    cycles = _cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def _handler_imports(module: str) -> set[str]:
    """The handler modules ``module`` imports: ``from . import x`` (for type checking), ``import x``,
    and ``importlib.import_module("x")`` as the handlers do at run time."""
    names = {path.stem for path in HANDLERS_DIR.glob("*.py")} - {"__init__", module}
    found: set[str] = set()
    for node in ast.walk(ast.parse((HANDLERS_DIR / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module":
            found.update(
                str(constant.value).lstrip(".")
                for constant in ast.walk(node)
                if isinstance(constant, ast.Constant) and isinstance(constant.value, str)
            )
    return found & names


def test_every_bundle_holds_the_handler_modules_its_modules_import() -> None:
    """The inline code embeds exactly the listed helpers: one missing would fail only in Lambda."""
    for main, helpers in BUNDLES.items():
        for index, module in enumerate([*helpers, main]):
            assert _handler_imports(module) <= set(helpers[:index]), (
                f"BUNDLES[{main!r}]: {module} imports {sorted(_handler_imports(module))}, "
                f"list them before it in {helpers}"
            )


# Issue #11's measures of a structure someone new can read: the constructor is a table of contents,
# and no module is a second constructor in disguise.
MAX_CONSTRUCTOR_BODY_LINES = 150
MAX_MODULE_LINES = 450


def test_the_constructor_body_is_a_table_of_contents() -> None:
    tree = ast.parse((PACKAGE / "service.py").read_text())
    [init] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__" and ast.get_docstring(node)
    ]
    body = init.body[1:]  # the docstring documents the props and does not count
    assert body[-1].end_lineno is not None
    lines = body[-1].end_lineno - body[0].lineno + 1
    assert lines <= MAX_CONSTRUCTOR_BODY_LINES, f"BlueGreenFargateService.__init__ body has {lines} lines"


def test_no_module_is_over_the_line_limit() -> None:
    sizes = {name: len(path.read_text().splitlines()) for name, path in _modules().items()}
    assert {name: size for name, size in sizes.items() if size > MAX_MODULE_LINES} == {}


def test_the_props_object_holds_exactly_the_constructors_keyword_arguments() -> None:
    # ServiceProps.from_arguments reads the constructor's locals(): a prop added to one and not the other
    # would be ignored (or fail with a KeyError); mypy cannot see through locals(), so this test does.
    import dataclasses
    import inspect

    from blue_green_ecs import BlueGreenFargateService
    from blue_green_ecs.props import ServiceProps

    parameters = inspect.signature(BlueGreenFargateService.__init__).parameters.values()
    keyword_only = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert sorted(keyword_only) == sorted(field.name for field in dataclasses.fields(ServiceProps))
