"""Test suite wall time after set-up: `pytest` over the whole suite, as `make test` runs it last.

Runs ``.venv/bin/python -m pytest -q -p no:cacheprovider`` in the repository (the venv already
installed, so set-up is not counted) and reports the wall time against the 60 s goal, with where it
goes: interpreter start-up, collection (which imports aws-cdk-lib and starts jsii), then setup
(where the session fixtures synthesize each shared configuration once), call and teardown.
Run: ``.venv/bin/python -m benchmarks.suite_time``.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .context import ROOT, child_env, python, seconds, table

GOAL_S = 60.0
COMMAND = ["-m", "pytest", "-q", "-p", "no:cacheprovider"]


@dataclass(frozen=True)
class SuiteTime:
    wall: float
    report: dict[str, Any]
    # One plain synthesis (a fresh process synthesizing an App with a one-resource Stack, the benchmarks'
    # `baseline` kind), measured in the same run: the suite's time in those units does not depend on the machine.
    reference_s: float | None = None


def measure(reference_s: float | None = None) -> SuiteTime:
    with tempfile.TemporaryDirectory(prefix="bench-suite-") as scratch:
        report_path = Path(scratch) / "phases.json"
        lint_answers = Path(scratch) / "cfn-lint"
        lint_answers.mkdir()
        env = child_env()
        env["BENCH_SUITE_REPORT"] = str(report_path)
        # tests/support.py keeps one cfn-lint answer per distinct template there, with the time it took.
        env["BLUE_GREEN_ECS_CFN_LINT_CACHE"] = str(lint_answers)
        started = time.perf_counter()
        done = subprocess.run(
            [python(), *COMMAND, "-p", "benchmarks.suite_phases"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        wall = time.perf_counter() - started
        if not report_path.exists():
            raise RuntimeError(f"pytest wrote no report (exit {done.returncode}):\n{done.stdout[-3000:]}")
        report: dict[str, Any] = json.loads(report_path.read_text())
        answers = [json.loads(path.read_text()) for path in lint_answers.glob("*.json")]
        report["cfn_lint"] = {"templates": len(answers), "seconds": sum(a.get("seconds", 0.0) for a in answers)}
    return SuiteTime(wall, report, reference_s)


def markdown(result: SuiteTime) -> str:
    r = result.report
    phases = r["phases_s"]
    workers = int(r.get("workers", 0))
    busy = sum(phases.values())
    collection = "collection (imports the test modules)" + (
        f"; with {workers} workers, until the last has collected (each starts its own interpreter and jsii)"
        if workers
        else ""
    )
    rows = [
        [collection, seconds(r["collection_s"])],
        [
            "setup (the shared configurations are synthesized here, once each per worker that uses them)",
            seconds(phases.get("setup", 0.0)),
        ],
        ["call", seconds(phases.get("call", 0.0))],
        ["teardown", seconds(phases.get("teardown", 0.0))],
        [f"setup + call + teardown{', summed over the workers' if workers else ''}", seconds(busy)],
        ["**wall time**", f"**{seconds(result.wall)}**"],
    ]
    outcomes = ", ".join(f"{count} {name}" for name, count in sorted(r["outcomes"].items()))
    verdict = "met" if result.wall < GOAL_S else "not met"
    lines = [
        f"`{' '.join(['.venv/bin/python', *COMMAND])}`: {r['tests']} tests ({outcomes}), exit status "
        f"{r['exit_status']}. Goal: under {GOAL_S:.0f} s on a 2-core machine: **{verdict}**.",
        "",
        table(["phase", "time"], rows),
    ]
    lint = r.get("cfn_lint", {})
    if lint.get("templates"):
        lines += [
            "",
            f"cfn-lint read {lint['templates']} distinct templates in {seconds(lint['seconds'])} "
            f"({100 * lint['seconds'] / busy:.0f}% of the workers' busy time): each template once, whichever worker "
            "asked first; it is the suite's largest single cost, more than synthesizing the same templates.",
        ]
    if workers:
        lines += [
            "",
            f"{workers} pytest-xdist workers (`-n auto`, pyproject.toml) kept busy {busy / result.wall:.2f} of the "
            f"wall time on average between them: tests that share a synthesized configuration run on one worker "
            "(tests/conftest.py), and each distinct template is cfn-linted once for all workers (tests/support.py).",
        ]
    if result.reference_s:
        lines += [
            "",
            f"In units of this machine: the suite takes {result.wall / result.reference_s:.1f} times one plain "
            f"synthesis (a fresh process synthesizing a one-resource stack: {seconds(result.reference_s)}, same run).",
        ]
    slowest_files = sorted(r["files_s"].items(), key=lambda item: item[1], reverse=True)[:5]
    lines += [
        "",
        "Slowest files (setup + call + teardown): "
        + ", ".join(f"`{name}` {value:.1f} s" for name, value in slowest_files)
        + ".",
        "",
        "Slowest setups (the first test that asks for a shared configuration pays its synthesis): "
        + ", ".join(f"`{nodeid}` {duration:.1f} s" for duration, nodeid in r["slowest_setups"])
        + ".",
    ]
    return "\n".join(lines)


def main() -> None:
    print(markdown(measure()))


if __name__ == "__main__":
    main()
