"""docs/props.md is generated from the docstrings (docs/generate_props.py), the docstrings cover the code, and
the recipes of docs/recipes.md synthesize."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from blue_green_ecs import BlueGreenFargateService
from docs.generate_props import (
    PROPS,
    DocstringDriftError,
    dataclass_options,
    field_entries_of,
    parameter_entries,
    render,
    undocumented_attributes,
)


def test_props_reference_is_generated_from_the_docstrings() -> None:
    assert PROPS.read_text() == render(), "docs/props.md differs from the docstrings: run `make docs`"


def test_every_prop_has_a_docstring_entry_and_every_entry_a_prop() -> None:
    entries = parameter_entries(BlueGreenFargateService.__init__, "BlueGreenFargateService.__init__")
    assert [entry.name for entry in entries][:1] == ["image"]


def test_undocumented_and_unknown_parameters_are_named() -> None:
    # given a function whose docstring misses one parameter and documents one it does not have
    def configure(scope: object, *, port: int = 80, path: str = "/") -> None:
        """Configure.

        :param port: the port. Default: 80.
        :param timeout: the timeout. Default: 5 seconds.
        """

    # when / then
    with pytest.raises(DocstringDriftError) as raised:
        parameter_entries(configure, "configure")
    assert str(raised.value) == (
        "configure: no :param entry for path; :param entries for timeout, which configure does not have. "
        "Document every parameter with ':param name: text. Default: ...' in its docstring (and remove entries "
        "of removed parameters), then run `make docs`."
    )


def test_every_option_field_has_a_docstring_entry() -> None:
    for cls in dataclass_options():
        assert [entry.name for entry in field_entries_of(cls)] == [field.name for field in dataclasses.fields(cls)]


def test_every_public_attribute_is_in_the_class_docstring() -> None:
    assert undocumented_attributes(BlueGreenFargateService) == []


def test_every_optional_prop_and_field_states_its_default() -> None:
    entries = parameter_entries(BlueGreenFargateService.__init__, "BlueGreenFargateService.__init__")
    entries += [entry for cls in dataclass_options() for entry in field_entries_of(cls)]
    assert [entry.name for entry in entries if not entry.required and not entry.default_text] == []


RECIPES = Path(__file__).resolve().parent.parent / "docs" / "recipes.md"


def _recipes() -> list[tuple[str, str]]:
    """(heading, code) of every python block of docs/recipes.md."""
    found: list[tuple[str, str]] = []
    heading = ""
    text = RECIPES.read_text()
    for match in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```$", text, flags=re.M | re.S):
        if match.group(1):
            heading = match.group(1)
        else:
            found.append((heading, match.group(2)))
    return found


@pytest.mark.parametrize(("heading", "code"), _recipes(), ids=[heading for heading, _ in _recipes()])
def test_every_recipe_synthesizes(heading: str, code: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(code, f"docs/recipes.md ({heading})", "exec"), namespace)
    assembly = namespace["app"].synth()
    assert assembly.stacks, heading
