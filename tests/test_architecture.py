"""How the package is put together: the construct reads no context, its folders' imports run one way (the construct at
the top, the Lambda code at the bottom), no module imports itself in a cycle, and no folder or module outgrows a
reader."""

from __future__ import annotations

import ast
import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from aws_cdk.assertions import Template

from blue_green_ecs.functions.lambda_code import BUNDLES, HANDLERS_DIR
from sample.app import build

from .conftest import Synthesized
from .support import ROOT, new_app

PACKAGE = ROOT / "blue_green_ecs"
# The keys `blue-green-ecs export` used to set for the construct to read.
OLD_EXPORT_CONTEXT = {"blue-green-ecs:standalone": "true", "blue-green-ecs:pipeline-files": "true"}
CONTEXT_READS = frozenset({"try_get_context", "get_context", "tryGetContext", "getContext"})

# The package's folders, top to bottom (each folder's __init__ says what lives there, README.md § Layout and
# docs/architecture.md § Package layout why this order). A module imports modules of its own folder and of the
# folders below it, never of one above. "blue_green_ecs" is the package's own modules: the construct, its props
# and the public API; the command sits above them (it reads the version), the Lambda code below everything.
LAYERS = (
    "blue_green_ecs.cli",
    "blue_green_ecs",
    "blue_green_ecs.engines",
    "blue_green_ecs.monitoring",
    "blue_green_ecs.deployment",
    "blue_green_ecs.load_balancing",
    "blue_green_ecs.fargate",
    "blue_green_ecs.functions",
    "blue_green_ecs.configuration",
    "blue_green_ecs.handlers",
)
# What the Lambda code must not import: it runs in Lambda, where neither aws-cdk-lib nor this package is installed.
NOT_IN_LAMBDA = frozenset({"aws_cdk", "constructs", "jsii", "blue_green_ecs"})
# A module is a .py file of the folder other than its __init__.py.
MAX_MODULES_PER_FOLDER = 12
# handlers/ is the one Lambda asset of every library function: Lambda imports its modules by top-level name from the
# asset root, so it is one flat folder, and its files' names and contents are every template's asset hash and the
# standalone export's inline code. Split, every template would change.
LARGER_FOLDERS = frozenset({"blue_green_ecs.handlers"})
# tests/ mirrors the package's folders (tests/<folder>/ tests blue_green_ecs/<folder>/); besides those, the suite's
# own packages: the IAM model, the lifecycle simulator, the integration apps.
TEST_PACKAGES = frozenset({"authorization", "simulator", "integ"})


def _modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _folder(module: str, modules: dict[str, Path]) -> str:
    """The folder (package) a module lives in: a package's ``__init__`` lives in the package itself."""
    return module if modules[module].name == "__init__.py" else module.rpartition(".")[0]


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


@dataclass(frozen=True)
class _Import:
    """One name a module imports from the package: ``module`` (the package's module it names), ``name`` (the name
    taken from it, None when the module itself is imported), where, and whether only under ``TYPE_CHECKING``."""

    module: str
    name: str | None
    line: int
    type_only: bool


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _package_imports(name: str, path: Path, modules: set[str]) -> list[_Import]:
    """Every import of the package's modules by ``name``: top level, in functions, under TYPE_CHECKING.

    ``from . import x`` names the module ``x`` when there is one, else the package. A submodule's
    implicit import of its parent packages is not an edge: Python always runs those first.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[_Import] = []

    def visit(nodes: list[ast.stmt] | list[ast.AST], type_only: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node.test):
                visit(node.body, True)
                visit(node.orelse, type_only)
            elif (
                isinstance(node, ast.If)
                and isinstance(node.test, ast.UnaryOp)
                and isinstance(node.test.op, ast.Not)
                and _is_type_checking(node.test.operand)
            ):
                visit(node.body, type_only)
                visit(node.orelse, True)
            elif isinstance(node, ast.Import):
                found.extend(_Import(alias.name, None, node.lineno, type_only) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - (node.level - 1)])
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                for alias in node.names:
                    if f"{module}.{alias.name}" in modules:
                        found.append(_Import(f"{module}.{alias.name}", None, node.lineno, type_only))
                    else:
                        found.append(_Import(module, alias.name, node.lineno, type_only))
            else:
                visit(list(ast.iter_child_nodes(node)), type_only)

    visit(ast.parse(path.read_text()).body, False)
    return [imported for imported in found if imported.module in modules and imported.module != name]


def _imports(name: str, path: Path, modules: set[str]) -> set[str]:
    """The package's modules that ``name`` imports anywhere: top level, in functions, under TYPE_CHECKING."""
    return {imported.module for imported in _package_imports(name, path, modules)}


def _props_types() -> frozenset[str]:
    """``ServiceProps`` and every name in its fields' annotations: the object the construct hands each part below it,
    and what it is made of."""
    from blue_green_ecs.props import ServiceProps

    annotations = (str(field.type) for field in dataclasses.fields(ServiceProps))
    return frozenset({"ServiceProps"}.union(*(re.findall(r"\w+", annotation) for annotation in annotations)))


def _against_the_layers(modules: dict[str, Path], layers: tuple[str, ...], props_types: frozenset[str]) -> list[str]:
    """Every import from a folder above the importing module's, except a type-only one of the construct's props."""
    rank = {folder: index for index, folder in enumerate(layers)}
    wrong = []
    for name, path in modules.items():
        here = _folder(name, modules)
        for imported in _package_imports(name, path, set(modules)):
            there = _folder(imported.module, modules)
            if rank[there] > rank[here] or there == here:
                continue
            if imported.type_only and imported.name in props_types:
                continue  # the parts name the props the construct hands them, for the type checker only
            what = imported.module if imported.name is None else f"{imported.module}.{imported.name}"
            kind = "under TYPE_CHECKING, and not the props" if imported.type_only else "at run time"
            wrong.append(
                f"{name} (line {imported.line}) imports {what} {kind}: {there} is above {here}, which may import only "
                f"its own folder and the folders below it ({', '.join(layers[rank[here] + 1 :]) or 'none'})"
            )
    return wrong


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
    assert "blue_green_ecs.engines.pipeline" in graph["blue_green_ecs.engines.codedeploy"]
    cycles = _cycles(graph)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_every_folder_has_its_place_in_the_layers() -> None:
    modules = _modules()
    assert sorted({_folder(name, modules) for name in modules}) == sorted(LAYERS)


def test_imports_run_down_the_layers() -> None:
    """Every import, at the top of a module, in a function or under TYPE_CHECKING, stays in its folder or goes to a
    folder below it. The one reference upward: the parts name the props the construct hands them (``ServiceProps``
    and the types of its fields) in their signatures, for the type checker only."""
    modules = _modules()
    # The graph is real: the construct imports its parts, the engines the deployment trigger, the parts the props.
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert "blue_green_ecs.load_balancing.load_balancing" in graph["blue_green_ecs.service"]
    assert "blue_green_ecs.deployment.deployment_trigger" in graph["blue_green_ecs.engines.codedeploy"]
    assert "blue_green_ecs.props" in graph["blue_green_ecs.load_balancing.load_balancing"]
    wrong = _against_the_layers(modules, LAYERS, _props_types())
    assert wrong == [], "imports against the layers (LAYERS, top to bottom):\n" + "\n".join(wrong)


def test_the_layer_check_names_the_module_the_import_and_the_rule(tmp_path: Path) -> None:
    # given: a package of two folders, whose lower one imports the upper one in a function and under TYPE_CHECKING
    (tmp_path / "pkg" / "top").mkdir(parents=True)
    (tmp_path / "pkg" / "low").mkdir()
    for folder in ("pkg", "pkg/top", "pkg/low"):
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "pkg" / "top" / "a.py").write_text("from ..low import b\n\nclass ServiceProps: ...\nclass Other: ...\n")
    (tmp_path / "pkg" / "low" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from ..top.a import Other, ServiceProps\n\n\n"
        "def f():\n    from ..top import a\n"
    )
    layers = ("pkg", "pkg.top", "pkg.low")
    # when
    wrong = _against_the_layers(_modules(tmp_path / "pkg"), layers, frozenset({"ServiceProps"}))
    # then: the function-level import and the type-only import of another name are named; ServiceProps is not
    assert wrong == [
        "pkg.low.b (line 4) imports pkg.top.a.Other under TYPE_CHECKING, and not the props: pkg.top is above pkg.low, "
        "which may import only its own folder and the folders below it (none)",
        "pkg.low.b (line 8) imports pkg.top.a at run time: pkg.top is above pkg.low, which may import only its own "
        "folder and the folders below it (none)",
    ]


def _lambda_imports(tree: ast.Module) -> list[tuple[int, int, str]]:
    """(line, level, module) of every import of a handler module, ``importlib.import_module("x")`` included."""
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, 0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, node.level, node.module or ""))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "import_module":
            found.extend((node.lineno, 0, str(arg.value)) for arg in node.args if isinstance(arg, ast.Constant))
    return found


def test_the_lambda_code_imports_nothing_of_aws_cdk_lib_nor_of_the_package_outside_it() -> None:
    """The bottom layer runs in Lambda: the standard library, boto3 and its own modules (by top-level name in the
    asset, ``from . import x`` or ``importlib.import_module`` in the library)."""
    assert HANDLERS_DIR == PACKAGE / "handlers"
    assert LAYERS[-1] == "blue_green_ecs.handlers"
    found = []
    for path in sorted(HANDLERS_DIR.glob("*.py")):
        for line, level, module in _lambda_imports(ast.parse(path.read_text())):
            if level > 1 or (level == 0 and module.split(".")[0] in NOT_IN_LAMBDA):
                found.append(f"handlers/{path.name} (line {line}) imports {'.' * level}{module}")
    assert found == [], "the Lambda code imports what Lambda does not have:\n" + "\n".join(found)


def test_no_folder_holds_more_than_twelve_modules() -> None:
    sizes = {
        folder: len([path for path in (ROOT / folder.replace(".", "/")).glob("*.py") if path.name != "__init__.py"])
        for folder in LAYERS
    }
    over = {folder: size for folder, size in sizes.items() if size > MAX_MODULES_PER_FOLDER}
    assert set(over) - LARGER_FOLDERS == set(), f"folders of more than {MAX_MODULES_PER_FOLDER} modules: {over}"
    # The Lambda asset's exception is still needed, or it goes.
    assert set(over) >= LARGER_FOLDERS


def test_the_test_folders_mirror_the_package() -> None:
    test_folders = {path.parent.name for path in (ROOT / "tests").glob("*/__init__.py")}
    package_folders = {folder.rpartition(".")[2] for folder in LAYERS if folder != "blue_green_ecs"}
    assert test_folders - TEST_PACKAGES <= package_folders


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
