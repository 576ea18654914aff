"""docs/verification.md stays honest (issue #21): every claim row says how it is known, with evidence of that kind.

The page is read as text, nothing is synthesized. Each check is a function that returns the problems it finds, run
over the page itself and, once each, over a row written to fail it, so a check that finds nothing is seen to look.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "verification.md"
README = ROOT / "README.md"
CLAIM_HEADER = ("claim", "where the docs say it", "how it is known", "evidence")

# The kinds of evidence, as the page's "how it is known" column names them (the page's legend says what each is).
AWS_DOCS = "AWS docs"
SIMULATOR = "simulator"
ASSUMPTION = "simulated on an assumption"
IAM_MODEL = "IAM model"
STUBBER = "Stubber"
MOTO = "moto"
INTEG = "integ test written, not yet run"
TEMPLATE = "template"
UNVERIFIED = "unverified"
KINDS = (ASSUMPTION, INTEG, UNVERIFIED, AWS_DOCS, SIMULATOR, IAM_MODEL, STUBBER, MOTO, TEMPLATE)

SIMULATOR_TESTS = frozenset(
    {
        "tests/test_day_two.py",
        "tests/test_day_two_test_traffic.py",
        "tests/test_day_two_hooks.py",
        "tests/test_day_two_migration.py",
        "tests/test_lifecycles.py",
        "tests/test_simulator.py",
        "tests/test_simulator_authorization.py",
    }
)
AWS_HOSTS = frozenset({"docs.aws.amazon.com", "aws.amazon.com", "repost.aws"})
AWS_GITHUB_OWNERS = frozenset({"aws", "awslabs", "aws-samples", "aws-cloudformation", "awsdocs"})

TEST_REFERENCE = re.compile(r"`(tests/[\w/.-]+\.py)::([\w:]+)(?:\[[^\]`]*\])?`")
PATH_REFERENCE = re.compile(r"`((?:tests|docs|blue_green_ecs|benchmarks|sample)/[\w/.-]*|README\.md)`")
DOC_REFERENCE = re.compile(r"^`((?:docs/[\w-]+|README)\.md)`(?:\s*§\s*(.+))?$")
URL = re.compile(r"https?://[^\s)>\]|]+")
# A test of the construct's templates: at the top of tests/ or in a package folder's mirror (tests/engines/, ...),
# not in the Lambda code's (tests/handlers/) nor in the suite's own packages.
TEMPLATE_TEST = re.compile(r"tests/(?:(?!handlers/|authorization/|integ/|simulator/)\w+/)?test_\w+\.py")
# A claim marked on its page: "unverified" inside parentheses, "(unverified)" or "(..., unverified ...)".
UNVERIFIED_MARK = re.compile(r"\([^()]*\bunverified\b")


@dataclass(frozen=True)
class Row:
    """One claim of the page: its cells, and the line it is on (for the messages)."""

    line: int
    claim: str
    where: str
    how: str
    evidence: str

    def kinds(self) -> list[str]:
        """The kinds of evidence the row names, in its order; an item naming no kind is returned as it is."""
        found = []
        for item in split_outside_parentheses(self.how):
            kind = next((kind for kind in KINDS if item.startswith(kind)), item)
            found.append(kind)
        return found

    def assumptions(self) -> list[str]:
        """The simulator assumptions the row quotes ("simulated on an assumption: <which>")."""
        return [
            item.removeprefix(ASSUMPTION).lstrip(": ")
            for item in split_outside_parentheses(self.how)
            if item.startswith(ASSUMPTION)
        ]

    def tests(self) -> list[tuple[str, str]]:
        """(module path, name) of every test the evidence names, parametrized ids dropped."""
        return TEST_REFERENCE.findall(self.evidence)

    def references(self) -> list[str]:
        """Every file the evidence names: test modules and plain paths."""
        return [module for module, _ in self.tests()] + PATH_REFERENCE.findall(self.evidence)

    def __str__(self) -> str:
        return f"docs/verification.md:{self.line} ({self.claim[:60]}...)"


def split_outside_parentheses(cell: str) -> list[str]:
    """``cell`` split at the semicolons that are not inside parentheses, each part stripped."""
    parts, depth, current = [], 0, ""
    for char in cell:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ";" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [part for part in parts if part]


def claim_rows(text: str) -> Iterator[Row]:
    """The rows of every table whose header is CLAIM_HEADER."""
    in_table = False
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("|"):
            in_table = False
            continue
        cells = tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
        if cells == CLAIM_HEADER:
            in_table = True
        elif in_table and not set(line) <= set("|- "):
            assert len(cells) == 4, f"docs/verification.md:{number} has {len(cells)} cells, not 4 (a '|' in a cell?)"
            yield Row(number, *cells)


@functools.cache
def page_rows() -> tuple[Row, ...]:
    return tuple(claim_rows(PAGE.read_text()))


@functools.cache
def names_in(module: str) -> frozenset[str]:
    """What a test module defines, as the page names it: functions and classes, ``Class::method``, and the cases of
    tests/integ/scenario.py (``Step("<name>", ...)``)."""
    tree = ast.parse((ROOT / module).read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names.update(f"{node.name}::{sub.name}" for sub in node.body if isinstance(sub, ast.FunctionDef))
    for call in ast.walk(tree):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Step" and call.args:
            first = call.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
    return frozenset(names)


@functools.cache
def headings_of(doc: str) -> frozenset[str]:
    """The headings of a Markdown file outside code blocks, without their backticks."""
    headings, fenced = set(), False
    for line in (ROOT / doc).read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            headings.add(line.lstrip("#").strip().replace("`", ""))
    return frozenset(headings)


def sections_marking_unverified(doc: str) -> list[str]:
    """The headings (without backticks) of the sections of ``doc`` whose text, outside code blocks, holds
    an unverified mark (UNVERIFIED_MARK); docs/verification.md itself is not one of the pages it checks."""
    if doc == "docs/verification.md":
        return []
    found, heading, fenced = [], "", False
    for line in (ROOT / doc).read_text().splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("#"):
            heading = line.lstrip("#").strip().replace("`", "")
        elif not fenced and UNVERIFIED_MARK.search(line) and heading not in found:
            found.append(heading)
    return found


def normalized(text: str) -> str:
    return " ".join(text.replace("`", "").lower().split())


@functools.cache
def simulator_assumptions() -> str:
    """The docstring of tests/simulator/__init__.py, where the simulator lists the assumptions AWS does not document."""
    docstring = ast.get_docstring(ast.parse((ROOT / "tests/simulator/__init__.py").read_text()))
    assert docstring is not None
    return normalized(docstring.partition("Assumptions AWS does not document")[2])


# ---- the checks: each returns its problems -------------------------------------------------------------------


def missing_tests(row: Row) -> list[str]:
    problems = []
    for module, name in row.tests():
        if not (ROOT / module).is_file():
            problems.append(f"{row}: no module {module}")
        elif name not in names_in(module):
            problems.append(f"{row}: {module} has no {name}")
    return problems


def missing_files_and_sections(row: Row) -> list[str]:
    problems = [f"{row}: no file {path}" for path in PATH_REFERENCE.findall(row.evidence) if not (ROOT / path).exists()]
    places = split_outside_parentheses(row.where)
    if not places:
        problems.append(f"{row}: says nowhere where the docs make the claim")
    for place in places:
        match = DOC_REFERENCE.match(place)
        if match is None:
            problems.append(f"{row}: {place!r} is not `README.md` or `docs/<page>.md`, optionally with § <heading>")
            continue
        doc, section = match.groups()
        if not (ROOT / doc).is_file():
            problems.append(f"{row}: no page {doc}")
        elif section is not None and section.strip() not in headings_of(doc):
            problems.append(f"{row}: {doc} has no heading {section.strip()!r}")
    return problems


def non_aws_urls(text: str) -> list[str]:
    problems = []
    for url in URL.findall(text):
        parsed = urlparse(url)
        owner = parsed.path.strip("/").split("/")[0]
        on_aws = parsed.hostname in AWS_HOSTS or (parsed.hostname == "github.com" and owner in AWS_GITHUB_OWNERS)
        if parsed.scheme != "https" or not on_aws:
            problems.append(f"{url} is not an https URL on an AWS domain or an AWS-owned GitHub repository")
    return problems


def unsupported_kinds(row: Row) -> list[str]:
    """Each kind the row names needs evidence of that kind; a template test never stands alone."""
    kinds = row.kinds()
    references = row.references()
    if not kinds:
        return [f"{row}: says nothing of how it is known"]
    problems = [f"{row}: {kind!r} is no kind of evidence ({', '.join(KINDS)})" for kind in kinds if kind not in KINDS]
    needs = {
        AWS_DOCS: bool(URL.findall(row.evidence)),
        SIMULATOR: any(path in SIMULATOR_TESTS for path in references),
        ASSUMPTION: any(path in SIMULATOR_TESTS for path in references),
        IAM_MODEL: any(
            path.startswith("tests/authorization/")
            or path
            in (
                "tests/test_deployable.py",
                "tests/test_simulator_authorization.py",
                "tests/cli/test_cli_permissions.py",
            )
            for path in references
        ),
        STUBBER: any(
            (path.startswith("tests/handlers/test_") and not path.startswith("tests/handlers/test_moto_"))
            or path
            in (
                "tests/cli/test_cli_deployments.py",
                "tests/cli/test_cli_approvals.py",
                "tests/cli/test_cli_permissions.py",
            )
            for path in references
        ),
        MOTO: any(
            path.startswith("tests/handlers/test_moto_") or path == "tests/cli/test_cli_moto.py" for path in references
        ),
        INTEG: any(path.startswith("tests/integ/") for path in references),
        TEMPLATE: any(TEMPLATE_TEST.fullmatch(path) for path in references),
    }
    problems += [f"{row}: names {kind!r} without evidence of it" for kind in kinds if not needs.get(kind, True)]
    if set(kinds) == {TEMPLATE}:
        problems.append(f"{row}: a template test shows the template, not what AWS does with it")
    if any(path.startswith("tests/integ/") for path in references) and INTEG not in kinds:
        problems.append(f"{row}: cites an integration test without saying it has not run ({INTEG!r})")
    return problems


def unknown_assumptions(row: Row) -> list[str]:
    return [
        f"{row}: {assumption!r} is not an assumption tests/simulator/__init__.py lists"
        for assumption in row.assumptions()
        if not assumption or normalized(assumption) not in simulator_assumptions()
    ]


def counts_on_the_page(text: str) -> dict[str, int]:
    """The page's table of claims by kind (after the ``<!-- counts`` marker)."""
    counts, started = {}, False
    for line in text.splitlines():
        if line.startswith("<!-- counts"):
            started = True
        elif started and line.startswith("|") and not set(line) <= set("|- "):
            kind, number = (cell.strip().strip("*") for cell in line.strip().strip("|").split("|"))
            if number.isdigit():
                counts[kind] = int(number)
        elif started and counts and not line.startswith("|"):
            break
    return counts


def counted(rows: tuple[Row, ...]) -> dict[str, int]:
    counts = {kind: sum(kind in row.kinds() for row in rows) for kind in KINDS}
    counts["unverified only"] = sum(set(row.kinds()) == {UNVERIFIED} for row in rows)
    counts["all claims"] = len(rows)
    return counts


# ---- the page ------------------------------------------------------------------------------------------------


def test_the_page_has_claims_under_every_topic_of_the_issue() -> None:
    headings = headings_of("docs/verification.md")
    for topic in ("Day two", "Rollbacks", "Hooks", "Permissions", "Shared load balancers", "test traffic header"):
        assert any(topic.lower() in heading.lower() for heading in headings), topic
    for topic in ("Engines", "Deployment timing", "The CLI", "Exported templates"):
        assert any(heading.startswith(topic) for heading in headings), topic
    assert len(page_rows()) >= 100


def test_every_test_the_page_names_exists() -> None:
    assert [problem for row in page_rows() for problem in missing_tests(row)] == []


def test_every_file_and_section_the_page_names_exists() -> None:
    assert [problem for row in page_rows() for problem in missing_files_and_sections(row)] == []


def test_every_url_is_https_on_an_aws_domain() -> None:
    assert non_aws_urls(PAGE.read_text()) == []


def test_every_claim_says_how_it_is_known_with_evidence_of_that_kind() -> None:
    assert [problem for row in page_rows() for problem in unsupported_kinds(row)] == []


def test_a_simulated_assumption_is_one_the_simulator_lists() -> None:
    assert [problem for row in page_rows() for problem in unknown_assumptions(row)] == []
    assert any(row.assumptions() for row in page_rows())


def test_nothing_is_called_verified_in_an_account() -> None:
    # no integration test has run: an account has verified nothing yet
    assert "verified in an account" not in PAGE.read_text().lower()


def test_the_counts_by_kind_match_the_rows() -> None:
    assert counts_on_the_page(PAGE.read_text()) == counted(page_rows())


def test_every_claim_a_page_marks_unverified_is_a_row_here() -> None:
    # given every section of README.md and docs/*.md that marks a claim unverified, then a row of the page places
    # an unverified claim in that section
    missing = []
    for doc in sorted([README, *(ROOT / "docs").glob("*.md")]):
        relative = doc.relative_to(ROOT).as_posix()
        for section in sections_marking_unverified(relative):
            place = f"`{relative}` § {section}"
            if not any(
                UNVERIFIED in row.kinds() and place in split_outside_parentheses(row.where) for row in page_rows()
            ):
                missing.append(place)
    assert missing == []


def test_a_row_that_says_marked_on_its_page_is_marked_there() -> None:
    unmarked = []
    for row in page_rows():
        if "marked on" in row.how:
            places = [
                match.groups()
                for place in split_outside_parentheses(row.where)
                if (match := DOC_REFERENCE.match(place))
            ]
            if not any(section in sections_marking_unverified(doc) for doc, section in places if section):
                unmarked.append(str(row))
    assert unmarked == []


def test_the_readme_links_the_page() -> None:
    assert "(docs/verification.md)" in README.read_text()


# ---- the checks find what they look for -------------------------------------------------------------------------

GOOD_ROW = (
    "| ECS rolls back. | `docs/engines.md` § How a rollback looks | AWS docs; simulator | "
    "[DeploymentAlarms](https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentAlarms.html); "
    "`tests/test_day_two.py::test_ecs_native_alarm_rolls_the_deployment_back_and_the_stack_with_it` |"
)


def one_row(row: str) -> Row:
    [parsed] = claim_rows("| " + " | ".join(CLAIM_HEADER) + " |\n| --- | --- | --- | --- |\n" + row)
    return parsed


def test_a_well_formed_row_has_no_problems() -> None:
    row = one_row(GOOD_ROW)
    assert missing_tests(row) + missing_files_and_sections(row) + unsupported_kinds(row) + non_aws_urls(GOOD_ROW) == []


@pytest.mark.parametrize(
    ("old", "new", "found"),
    [
        (
            "test_ecs_native_alarm_rolls",
            "test_ecs_native_alarm_never_rolls",
            "has no test_ecs_native_alarm_never_rolls",
        ),
        ("tests/test_day_two.py", "tests/test_day_three.py", "no module tests/test_day_three.py"),
        ("§ How a rollback looks", "§ How a rollforward looks", "has no heading 'How a rollforward looks'"),
        ("https://docs.aws.amazon.com/", "http://docs.aws.amazon.com/", "is not an https URL"),
        ("https://docs.aws.amazon.com/", "https://example.com/", "is not an https URL"),
        ("AWS docs; simulator", "AWS docs; moto", "names 'moto' without evidence of it"),
        ("AWS docs; simulator", "simulator; hearsay", "'hearsay' is no kind of evidence"),
        ("AWS docs; simulator", "template", "a template test shows the template"),
        ("AWS docs; simulator", "simulated on an assumption: ECS never fails", "is not an assumption"),
    ],
)
def test_each_check_finds_the_problem_it_is_for(old: str, new: str, found: str) -> None:
    # given a well-formed row with one thing wrong
    assert old in GOOD_ROW
    bad = GOOD_ROW.replace(old, new)
    row = one_row(bad)
    # when every check runs, then one of them names it
    problems = (
        missing_tests(row)
        + missing_files_and_sections(row)
        + unsupported_kinds(row)
        + unknown_assumptions(row)
        + non_aws_urls(bad)
    )
    assert any(found in problem for problem in problems), problems
