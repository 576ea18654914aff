"""docs/security.md's role table is what the authorization model says today (issue #20, item 3)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from .role_table import BEGIN, CONFIGURATIONS, DOCUMENT, END, generic, render, replaced, table


def _templates(request: pytest.FixtureRequest) -> dict[str, Any]:
    out = {}
    for name in CONFIGURATIONS:
        synthesized = request.getfixturevalue(name)
        template = synthesized if isinstance(synthesized, Template) else synthesized.template
        out[name] = template.to_json()
    return out


def test_the_role_table_in_docs_security_md_is_current(request: pytest.FixtureRequest) -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    generated = table(_templates(request))
    assert replaced(document, generated) == document, (
        "docs/security.md's role table is stale: run `python -m tests.authorization.role_table`"
    )
    # every role kind of the table is there, and the two defects' grants are shown with their scope
    assert "`ecs:ListServices` | CODE_DEPLOY + ECS_NATIVE" in generated
    assert "ArnEquals ecs:cluster = Cluster.Arn" in generated
    assert "StringEquals iam:PassedToService = ecs-tasks.amazonaws.com" in generated


def test_template_values_read_as_written() -> None:
    join = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":x:", {"Ref": "WebServiceD04B5F3E"}]]}
    assert render(join) == "arn:${AWS::Partition}:x:${<service>Service}"
    assert render({"Fn::GetAtt": ["WebLogsD9759FC4", "Arn"]}) == "<service>Logs.Arn"
    assert generic("WebsiteD04B5F3E") == "Website"  # a construct id that only starts like a service's


def test_the_markers_are_there_once() -> None:
    document = DOCUMENT.read_text(encoding="utf-8")
    assert document.count(BEGIN) == 1
    assert document.count(END) == 1
