"""A pytest plugin for suite_time.py: where the suite's wall time goes, written as JSON.

Loaded with ``-p benchmarks.suite_phases`` and active only when BENCH_SUITE_REPORT names the file to
write. It records when the session starts and when collection (which imports aws-cdk-lib and starts
jsii) ends, and sums the setup, call and teardown durations pytest reports, per phase and per file.
Under pytest-xdist the workers' reports reach the controlling process, which alone writes the file:
the phases are then summed over the workers (busy time, more than the wall time), collection ends
when the last worker has collected, and the number of workers is recorded.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

REPORT = "BENCH_SUITE_REPORT"
_state: dict[str, Any] = {
    "phases": defaultdict(float),
    "files": defaultdict(float),
    "setups": [],
    "outcomes": defaultdict(int),
}


def pytest_sessionstart(session: pytest.Session) -> None:
    _state["session_start"] = time.perf_counter()


def pytest_collection_finish(session: pytest.Session) -> None:
    _state["collected"] = time.perf_counter()
    _state["tests"] = len(session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    _state["collected"] = time.perf_counter()
    _state["tests"] = len(ids)
    _state["workers"] = _state.get("workers", 0) + 1


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _state["phases"][report.when] += report.duration
    _state["files"][report.nodeid.split("::")[0]] += report.duration
    if report.when == "setup":
        _state["setups"].append((report.duration, report.nodeid))
    if report.when == "call" or report.outcome != "passed":
        _state["outcomes"][report.outcome] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    target = os.environ.get(REPORT)
    if not target or hasattr(session.config, "workerinput"):
        return
    finished = time.perf_counter()
    start = _state.get("session_start", finished)
    collected = _state.get("collected", start)
    slowest_setups = sorted(_state["setups"], reverse=True)[:5]
    Path(target).write_text(
        json.dumps(
            {
                "collection_s": collected - start,
                "session_s": finished - start,
                "phases_s": dict(_state["phases"]),
                "files_s": dict(_state["files"]),
                "slowest_setups": slowest_setups,
                "outcomes": dict(_state["outcomes"]),
                "tests": _state.get("tests", 0),
                "workers": _state.get("workers", 0),
                "exit_status": int(exitstatus),
            }
        )
    )
