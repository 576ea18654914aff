"""Generate docs/props.md from the docstrings: one source for every prop's documentation.

``python -m docs.generate_props`` (``make docs``) writes docs/props.md; tests/test_docs.py fails when the
file differs from :func:`render`. Everything is found by introspection, nothing is listed by name:

- the props: the keyword-only parameters of ``BlueGreenFargateService.__init__``, with their type
  annotation and default value from ``inspect.signature`` and their text from the ``:param name:``
  entries of its docstring (``Default: ...`` there is the authoritative description of the default);
- the attributes: the ``Attributes:`` section of the class docstring, typed from the ``self.name: T``
  assignments and properties of the class, and its public methods;
- the option types: every class that ``blue_green_ecs`` exports besides the construct: dataclasses by
  their fields (``:param field:`` in the class docstring) or, when they are built by classmethods
  (``TrafficShift``), by those; enums by their docstring and members.

A parameter or field without a ``:param`` entry, or an entry without one, raises
:class:`DocstringDriftError` naming them, so the reference cannot drift from the code.
docs/props_appendix.md, the hand-written part (the numbers behind the defaults, the validation rules,
the predefined deployment configurations), is appended as it is.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import inspect
import re
import textwrap
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import Any

import blue_green_ecs

DOCS = Path(__file__).resolve().parent
PROPS = DOCS / "props.md"
APPENDIX = DOCS / "props_appendix.md"
CONSTRUCT = "BlueGreenFargateService"

_FIELD = re.compile(r"^:param (\w+):\s*(.*)$")
_ROLE = re.compile(r":(?:meth|func|class|attr|mod):`~?([^`]+)`")
_DEFAULT = re.compile(r"\s*\bDefault:\s*")
# Parameters of a construct that are not props.
_CONSTRUCT_ARGUMENTS = {"self", "scope", "construct_id"}


class DocstringDriftError(ValueError):
    """A parameter or field without a docstring entry, or an entry for one that does not exist."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One documented name: its type, its description, its default as documented and as a value."""

    name: str
    annotation: str
    description: str
    default_text: str
    python_default: str
    required: bool


def markdown(text: str) -> str:
    """Docstring markup (``code``, :meth:`x`) as Markdown, on one line."""
    text = _ROLE.sub(lambda match: f"`{match.group(1)}`", text)
    return " ".join(text.replace("``", "`").split())


def cell(text: str) -> str:
    """``text`` in a table cell: pipes escaped (in code spans too, as GitHub Markdown requires)."""
    return text.replace("|", "\\|")


def field_entries(docstring: str | None) -> dict[str, str]:
    """The ``:param name: text`` entries of a docstring (continuation lines joined), by name."""
    entries: dict[str, str] = {}
    current: str | None = None
    for line in inspect.cleandoc(docstring or "").splitlines():
        match = _FIELD.match(line)
        if match:
            current = match.group(1)
            entries[current] = match.group(2)
        elif line.startswith(":") or not line.strip():
            current = None
        elif current is not None and line[0].isspace():
            entries[current] += " " + line.strip()
        else:
            current = None
    return {name: markdown(text) for name, text in entries.items()}


def section(docstring: str | None, title: str) -> dict[str, str]:
    """A Google-style section (``Attributes:``) as ``name: text`` entries (continuation lines joined)."""
    entries: dict[str, str] = {}
    inside = False
    current: str | None = None
    for line in inspect.cleandoc(docstring or "").splitlines():
        if not inside:
            inside = line.strip() == f"{title}:"
            continue
        if line.strip() and not line.startswith(" "):
            break  # the next section or paragraph
        body = line.strip()
        indent = len(line) - len(line.lstrip())
        name, separator, text = body.partition(": ")
        if separator and indent <= 4 and re.fullmatch(r"[\w /]+", name):
            current = name
            entries[current] = text
        elif current is not None and body:
            entries[current] += " " + body
    return {name: markdown(text) for name, text in entries.items()}


def summary(docstring: str | None) -> str:
    """The first paragraph of a docstring."""
    return markdown(inspect.cleandoc(docstring or "").split("\n\n")[0])


def body(docstring: str | None) -> list[str]:
    """The paragraphs of a docstring up to its fields or sections, as Markdown."""
    paragraphs = []
    for paragraph in inspect.cleandoc(docstring or "").split("\n\n"):
        if paragraph.startswith(":") or re.match(r"^\w+:\n", paragraph):
            break
        paragraphs.append(markdown(paragraph))
    return paragraphs


def python_default(value: Any) -> str:
    """A default value as Python source, when it is a literal (or an enum member); else empty."""
    if value is inspect.Parameter.empty or value is dataclasses.MISSING:
        return ""
    if isinstance(value, enum.Enum):
        return f"`{type(value).__name__}.{value.name}`"
    if value is None or isinstance(value, bool | int | float):
        return f"`{value!r}`"
    if isinstance(value, str):
        return f'`"{value}"`' if '"' not in value else f"`{value!r}`"
    return ""


def split_default(text: str) -> tuple[str, str]:
    """(description, default) of an entry whose default follows ``Default:``."""
    parts = _DEFAULT.split(text)
    if len(parts) == 1:
        return text, ""
    return " ".join(parts[:-1]).strip(), parts[-1].strip().removesuffix(".")


def check_entries(owner: str, names: list[str], documented: dict[str, str], *, optional: Collection[str] = ()) -> None:
    """Raise :class:`DocstringDriftError` unless ``names`` and the documented names match.

    ``optional`` names may be documented without being in ``names`` (a construct's ``scope``).
    """
    missing = [name for name in names if name not in documented]
    unknown = [name for name in documented if name not in names and name not in optional]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"no :param entry for {', '.join(missing)}")
        if unknown:
            problems.append(f":param entries for {', '.join(unknown)}, which {owner} does not have")
        raise DocstringDriftError(
            f"{owner}: {'; '.join(problems)}. Document every parameter with ':param name: text. Default: ...' "
            "in its docstring (and remove entries of removed parameters), then run `make docs`."
        )


def parameter_entries(function: Callable[..., Any], owner: str) -> list[Entry]:
    """The keyword-only parameters of ``function``, documented by its docstring's ``:param`` entries."""
    parameters = [p for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY]
    documented = field_entries(function.__doc__)
    others = set(inspect.signature(function).parameters) - {p.name for p in parameters}
    check_entries(owner, [p.name for p in parameters], documented, optional=others)
    entries = []
    for parameter in parameters:
        description, default_text = split_default(documented[parameter.name])
        entries.append(
            Entry(
                parameter.name,
                str(parameter.annotation),
                description,
                default_text,
                python_default(parameter.default),
                parameter.default is parameter.empty,
            )
        )
    return entries


def field_entries_of(cls: type) -> list[Entry]:
    """The fields of a dataclass, documented by its docstring's ``:param`` entries."""
    fields = [field for field in dataclasses.fields(cls) if field.init]
    documented = field_entries(cls.__doc__)
    check_entries(cls.__name__, [field.name for field in fields], documented)
    entries = []
    for field in fields:
        description, default_text = split_default(documented[field.name])
        required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        entries.append(
            Entry(field.name, str(field.type), description, default_text, python_default(field.default), required)
        )
    return entries


def entry_table(entries: list[Entry], first: str) -> list[str]:
    rows = [
        f"| {first} | type | description | default | Python default |",
        "| --- | --- | --- | --- | --- |",
    ]
    for entry in entries:
        default = entry.default_text or ("required" if entry.required else "")
        rows.append(
            f"| `{entry.name}` | {cell(f'`{entry.annotation}`')} | {cell(entry.description)} | {cell(default)} "
            f"| {cell(entry.python_default)} |"
        )
    return rows


def public_attributes(cls: type) -> dict[str, str]:
    """Attribute name -> annotation, of the ``self.name`` assignments and the properties of ``cls``."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    found: dict[str, str] = {}
    for node in ast.walk(tree):
        targets: list[tuple[ast.expr, str]] = []
        if isinstance(node, ast.AnnAssign):
            targets = [(node.target, ast.unparse(node.annotation))]
        elif isinstance(node, ast.Assign):
            targets = [(target, "") for target in node.targets]
        for target, annotation in targets:
            for element in target.elts if isinstance(target, ast.Tuple) else [target]:
                public = (
                    isinstance(element, ast.Attribute)
                    and isinstance(element.value, ast.Name)
                    and element.value.id == "self"
                    and not element.attr.startswith("_")
                )
                if public and isinstance(element, ast.Attribute) and (annotation or element.attr not in found):
                    found[element.attr] = annotation or found.get(element.attr, "")
    for name, member in vars(cls).items():
        if isinstance(member, property) and not name.startswith("_") and member.fget is not None:
            found[name] = str(inspect.signature(member.fget).return_annotation)
    return found


def undocumented_attributes(cls: type) -> list[str]:
    """Public attributes of ``cls`` that its docstring's ``Attributes:`` section leaves out."""
    documented = {name.strip() for entry in section(cls.__doc__, "Attributes") for name in entry.split("/")}
    return [name for name in public_attributes(cls) if name not in documented]


def public_methods(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """The public methods ``cls`` defines itself (not inherited)."""
    for name, member in vars(cls).items():
        if not name.startswith("_") and inspect.isfunction(member):
            yield name, member


def construct_section(cls: type) -> list[str]:
    init = cls.__init__  # type: ignore[misc]
    props = parameter_entries(init, f"{cls.__name__}.__init__")
    required = [f"`{p.name}`" for p in inspect.signature(init).parameters.values() if _is_required_prop(p)]
    lines = [
        f"`{cls.__name__}(scope, construct_id, *, {', '.join(name.strip('`') for name in required)}, ...)`: "
        f"{summary(cls.__doc__)} Every prop is keyword-only; required: {', '.join(required) or 'none'}. "
        "Descriptions and defaults are the docstrings'; *Python default* is the value in the signature when it is "
        "a literal (`None`: the prop is not given, and the default applies).",
        "",
        "## Props",
        "",
        *entry_table(props, "prop"),
        "",
        "## Attributes",
        "",
    ]
    annotations = public_attributes(cls)
    documented = section(cls.__doc__, "Attributes")
    lines += ["| attribute | type | description |", "| --- | --- | --- |"]
    for name, text in documented.items():
        found = dict.fromkeys(annotations.get(part.strip(), "") for part in name.split("/"))
        types = " / ".join(f"`{annotation}`" for annotation in found if annotation)
        names = " / ".join(f"`{part.strip()}`" for part in name.split("/"))
        lines.append(f"| {names} | {cell(types)} | {cell(text)} |")
    for name in undocumented_attributes(cls):
        annotation = f"`{annotations[name]}`" if annotations[name] else ""
        lines.append(f"| `{name}` | {cell(annotation)} | *(no entry in the class docstring yet)* |")
    methods = list(public_methods(cls))
    if methods:
        lines += ["", "Methods:", ""]
        for name, method in methods:
            parameters = ", ".join(p for p in inspect.signature(method).parameters if p != "self")
            lines.append(f"- `{name}({parameters})`: {summary(method.__doc__)}")
    return lines


def _is_required_prop(parameter: inspect.Parameter) -> bool:
    return parameter.kind is parameter.KEYWORD_ONLY and parameter.default is parameter.empty


def option_section(name: str, cls: type) -> list[str]:
    lines = [f"### `{name}`", ""]
    if issubclass(cls, enum.Enum):
        lines += [*_paragraphs(cls.__doc__), "Members: " + ", ".join(f"`{member.name}`" for member in cls) + "."]
        return lines
    lines += _paragraphs(cls.__doc__)
    if factories(cls):
        for factory_name, factory in factories(cls):
            signature = _signature(factory)
            lines += [f"#### `{name}.{factory_name}{signature}`", "", *_paragraphs(factory.__doc__)]
            entries = parameter_entries(factory, f"{name}.{factory_name}")
            if entries:
                lines += [*entry_table(entries, "parameter"), ""]
    else:
        lines += [*entry_table(field_entries_of(cls), "field"), ""]
    return lines


def factories(cls: type) -> list[tuple[str, Callable[..., Any]]]:
    """The public classmethods of ``cls``: a class built by them is documented by them, not by its fields."""
    return [
        (name, getattr(cls, name))
        for name, member in vars(cls).items()
        if isinstance(member, classmethod) and not name.startswith("_")
    ]


def dataclass_options() -> list[type]:
    """The exported dataclasses documented by their fields (not built by factories)."""
    return [cls for _, cls in option_types() if dataclasses.is_dataclass(cls) and not factories(cls)]


def _signature(function: Callable[..., Any]) -> str:
    """``(*, percent: float, interval: Duration)``: the parameters as written, annotations unquoted."""
    parts: list[str] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind is parameter.KEYWORD_ONLY and "*" not in parts:
            parts.append("*")
        annotation = "" if parameter.annotation is parameter.empty else f": {parameter.annotation}"
        parts.append(f"{parameter.name}{annotation}")
    return "(" + ", ".join(parts) + ")"


def _paragraphs(docstring: str | None) -> list[str]:
    return [line for paragraph in body(docstring) for line in (paragraph, "")]


def option_types() -> list[tuple[str, type]]:
    """The classes ``blue_green_ecs`` exports besides the construct: dataclasses and enums."""
    found = []
    for name in blue_green_ecs.__all__:
        exported = getattr(blue_green_ecs, name)
        option = isinstance(exported, type) and (dataclasses.is_dataclass(exported) or issubclass(exported, enum.Enum))
        if name != CONSTRUCT and option:
            found.append((name, exported))
    return found


def render() -> str:
    """docs/props.md, from the docstrings and signatures, followed by docs/props_appendix.md."""
    construct: type = getattr(blue_green_ecs, CONSTRUCT)
    lines = [
        "# Props reference",
        "",
        "<!-- Generated from the docstrings by `make docs` (docs/generate_props.py): edit the docstrings, or",
        "     docs/props_appendix.md for the sections after the option types, not this file. -->",
        "",
        *construct_section(construct),
        "",
        "## Option types",
        "",
    ]
    for name, cls in option_types():
        lines += option_section(name, cls)
        if lines[-1]:
            lines.append("")
    text = "\n".join(lines).rstrip("\n") + "\n"
    return text + "\n" + APPENDIX.read_text().strip("\n") + "\n"


def main() -> None:
    PROPS.write_text(render())
    print(f"wrote {PROPS.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
