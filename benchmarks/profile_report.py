"""The profile section of docs/performance.md: where a synthesis of each compared stack spends its time.

Two views of the same kinds, each from fresh processes: the Python side (``jsii_profile``: every jsii
request, counted and timed by the library's call site and by operation) and the Node.js side
(``node_profile``: the kernel's V8 CPU profile by category). Run:
``.venv/bin/python -m benchmarks.profile_report``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from . import node_profile, stacks
from .context import ROOT, child_env, python, seconds, table

KINDS = (stacks.L2, stacks.CONSTRUCT_LEAN, stacks.CONSTRUCT, stacks.L2_FULL)
TOP = 10


@dataclass(frozen=True)
class ProfileReport:
    python_side: dict[str, dict[str, Any]]
    node_side: dict[str, dict[str, float]]


def _python_side(kind: str) -> dict[str, Any]:
    done = subprocess.run(
        [python(), "-m", "benchmarks.jsii_profile", kind, "--json"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure() -> ProfileReport:
    return ProfileReport(
        {kind: _python_side(kind) for kind in KINDS}, {kind: node_profile.profile(kind) for kind in KINDS}
    )


def _sites(report: dict[str, Any]) -> list[tuple[str, int, float]]:
    merged: dict[str, list[float]] = {}
    for phase in ("build", "synth"):
        for site in report[phase]["sites"]:
            entry = merged.setdefault(site["name"], [0, 0.0])
            entry[0] += site["calls"]
            entry[1] += site["seconds"]
    return sorted(((name, int(c), s) for name, (c, s) in merged.items()), key=lambda row: -row[2])


def _operations(report: dict[str, Any]) -> list[tuple[str, int, float]]:
    merged: dict[str, list[float]] = {}
    for phase in ("build", "synth"):
        for operation in report[phase]["operations"]:
            entry = merged.setdefault(operation["name"], [0, 0.0])
            entry[0] += operation["calls"]
            entry[1] += operation["seconds"]
    return sorted(((name, int(c), s) for name, (c, s) in merged.items()), key=lambda row: -row[2])


def markdown(result: ProfileReport) -> str:
    rows = []
    for kind in KINDS:
        build, synth = result.python_side[kind]["build"], result.python_side[kind]["synth"]
        rows.append(
            [
                stacks.LABELS[kind],
                seconds(build["wall"]),
                seconds(synth["wall"]),
                f"{build['calls']} / {synth['calls']}",
                seconds(build["kernel_seconds"] + synth["kernel_seconds"]),
                seconds(max(0.0, build["wall"] - build["kernel_seconds"])),
                f"{synth['callbacks']['calls']} ({seconds(synth['callbacks']['seconds'])})",
            ]
        )
    python_table = table(
        [
            "stack",
            "build",
            "synthesize (App.synth)",
            "jsii requests, build / synthesize",
            "time in jsii requests",
            "Python between requests (build)",
            "Python callbacks during synthesis",
        ],
        rows,
    )
    construct = result.python_side[stacks.CONSTRUCT]
    sites = [[f"`{name}`", calls, seconds(spent)] for name, calls, spent in _sites(construct)[:TOP] if calls]
    operations = [[f"`{name}`", calls, seconds(spent)] for name, calls, spent in _operations(construct)[:TOP]]
    node_rows = [
        [category, *(seconds(result.node_side[kind].get(category, 0.0)) for kind in KINDS)]
        for category in node_profile.CATEGORIES
    ]
    node_rows.append(["**total Node.js CPU**", *(f"**{seconds(sum(result.node_side[k].values()))}**" for k in KINDS)])
    node_table = table(["Node.js (jsii kernel) CPU", *(stacks.LABELS[k] for k in KINDS)], node_rows)

    def node(kind: str, category: str) -> float:
        return result.node_side[kind].get(category, 0.0)

    node_extra = sum(result.node_side[stacks.CONSTRUCT].values()) - sum(result.node_side[stacks.L2].values())
    validation = (node_profile.VALIDATION, node_profile.VALIDATE_TEMPLATE)
    validation_extra = sum(node(stacks.CONSTRUCT, c) - node(stacks.L2, c) for c in validation)
    requests_extra = (construct["build"]["calls"] + construct["synth"]["calls"]) - (
        result.python_side[stacks.L2]["build"]["calls"] + result.python_side[stacks.L2]["synth"]["calls"]
    )
    return "\n".join(
        [
            "Reproduce: `.venv/bin/python -m benchmarks.profile_report` (per stack: "
            "`.venv/bin/python -m benchmarks.jsii_profile KIND` and `.venv/bin/python -m benchmarks.node_profile "
            "KIND`). Each figure comes from one fresh process per stack (after `import aws_cdk`), so it is one "
            "sample: read the counts as exact and the times as about +-10%.",
            "",
            "**Python side.** Every call from Python into the jsii kernel (a construct created, a property read, a "
            "method called) is a request over a pipe; `App.synth` is one request, during which Node.js calls back "
            "into Python for what Python implements (the live-state lookup's fingerprint, the cdk-nag 2 "
            "suppression aspects).",
            "",
            python_table,
            "",
            f"The library's jsii requests in the construct's defaults, by call site (top {TOP} by time, build and "
            "synthesis; `(outside blue_green_ecs)` is the network, the app and `App.synth` itself):",
            "",
            table(["call site", "requests", "time"], sites),
            "",
            f"By operation (top {TOP}):",
            "",
            table(["jsii operation", "requests", "time"], operations),
            "",
            "**Node.js side**, the kernel's V8 CPU profile by category (one sample per 250 us):",
            "",
            node_table,
            "",
            f"The construct's defaults make {requests_extra} more jsii requests than the plain hand-written stack "
            f"and cost the kernel {node_extra:+.2f} s of CPU more, of which template validation (cdk.json's "
            f"`@aws-cdk/core:validateAgainstDefaultRules`, which checks every resource) is {validation_extra:+.2f} s. "
            "The validation's set-up is paid once per process whatever the stack; its per-template part grows with "
            "the resources.",
        ]
    )


def main() -> None:
    result = measure()
    sys.stdout.write(markdown(result) + "\n")


if __name__ == "__main__":
    main()
