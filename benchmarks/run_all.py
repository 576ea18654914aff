"""`make bench`: the six benchmarks in one run, and what the unmet goals would take, written to docs/performance.md.

Order matters: the synth-time rounds run first, while this process has not started jsii, then the
profile and the scale curve (fresh child processes only, so they could run anywhere in the order), the test suite, and
last footprint and the deployment model, which synthesize in this process.
Run: ``.venv/bin/python -m benchmarks.run_all [--pairs 7] [--scale-sizes 1 10 25 50 100]
[--output docs/performance.md]``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from . import deploy_model, footprint, profile_report, scale_curve, stacks, suite_time, synth_time, unmet_goals
from .context import ROOT, minutes_seconds, seconds


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> str:
    return (
        f"{os.cpu_count()} cores ({_cpu_model()}), Linux {platform.release()}, Python {platform.python_version()}, "
        f"Node.js {_node_version()}, aws-cdk-lib {version('aws-cdk-lib')}, jsii {version('jsii')}"
    )


def render(
    *,
    pairs: int,
    synth: synth_time.SynthTimes,
    profile: profile_report.ProfileReport,
    scale: scale_curve.ScaleCurve,
    suite: suite_time.SuiteTime,
    footprint_result: tuple[footprint.Counts, list[footprint.Row]],
    model: list[tuple[str, deploy_model.Timeline]],
    elapsed: float,
) -> str:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    full_ratio = synth.median_pair_ratio(stacks.CONSTRUCT, stacks.L2_FULL)
    construct_ratio = synth.median_pair_ratio(stacks.CONSTRUCT, stacks.L2)
    lean_ratio = synth.median_pair_ratio(stacks.CONSTRUCT_LEAN, stacks.L2)
    rows = {row.label: row for row in footprint_result[1]}

    def per_service(label: str) -> str:
        counts = rows[label].further
        assert counts is not None
        return (
            f"{counts['resources']} / {counts['Lambda functions']} / {counts['IAM roles']} / {counts['state machines']}"
        )

    def shared(kind: str) -> str:
        row = rows[footprint.LABELS[kind]]
        assert row.further is not None
        assert row.stack_total is not None
        fits = footprint.services_per_stack(row.stack_total["resources"], row.further["resources"])
        return f"{row.further['resources']} ({fits} per stack)"

    ours_label, l2_label = footprint.LABELS[stacks.CONSTRUCT], footprint.LABELS[stacks.L2]
    l2_full_label = footprint.LABELS[stacks.L2_FULL]
    totals = [minutes_seconds(t.total_s) for _, t in model]
    summary = [
        "| figure | result | goal |",
        "| --- | --- | --- |",
        f"| synth time, construct (defaults) / plain hand-written L2 (no trigger, access logs, lookup or comparison "
        f"alarm), fresh processes, median of {pairs} per-round ratios | {construct_ratio:.3f} | at most 1.10 |",
        f"| synth time, construct (defaults) / hand-written L2 with the same features, like for like | "
        f"{full_ratio:.3f} | at most 1.02 |",
        f"| synth time, construct without trigger and access logs / plain hand-written L2 | {lean_ratio:.3f} | - |",
        scale_curve.summary(scale),
        f"| resources / Lambda functions / IAM roles / state machines per further service | construct "
        f"{per_service(ours_label)}; hand-written L2 {per_service(l2_label)} (with the same features "
        f"{per_service(l2_full_label)}); cdk-ecs-codedeploy {per_service(footprint.ECS_CODEDEPLOY_LABEL)} | fewer "
        "than any alternative |",
        "| resources per further service on a shared load balancer (ECS_NATIVE), services per stack | construct "
        f"{shared(stacks.CONSTRUCT_SHARED)} (`compare_blue_green=False`: "
        f"{shared(stacks.CONSTRUCT_SHARED_NO_COMPARE)}); own load balancer {shared(stacks.CONSTRUCT_ECS)}; "
        f"hand-written L2 on a shared ALB {shared(stacks.L2_SHARED)}; each further service saves "
        f"${footprint.ALB_MONTHLY_USD:.2f} a month (one ALB, us-east-1) | at most "
        f"{footprint.SHARED_GOAL_RESOURCES} resources, no load balancer, at least "
        f"{footprint.SHARED_GOAL_SERVICES} services |",
        f"| test suite wall time (`pytest`, 2 cores) | {seconds(suite.wall)} "
        f"({suite.wall / synth.median_wall(stacks.BASELINE):.1f} plain synthesis processes) | under "
        f"{suite_time.GOAL_S:.0f} s |",
        f"| one deployment of a new image, defaults, until `cdk deploy` returns (model) | construct {totals[0]}; "
        f"ecs-patterns {totals[3]} (rolling, no alarms); cdk-ecs-codedeploy {totals[4]} (all at once, no alarms) "
        "| fastest safe defaults |",
    ]
    return "\n".join(
        [
            "# Performance",
            "",
            "Generated by `make bench` (`.venv/bin/python -m benchmarks.run_all`, from `benchmarks/`); do not "
            f"edit by hand. Measured {today} in {elapsed / 60:.1f} minutes on {machine()}.",
            "",
            "Times depend on the machine, and this one is shared: where a figure does, it comes with a ratio "
            "measured in the same run, which is what to compare across machines. Each section names the command "
            "that reproduces it alone.",
            "",
            *summary,
            "",
            "## 1. Synth time against the hand-written L2 stacks",
            "",
            f"Reproduce: `.venv/bin/python -m benchmarks.synth_time --pairs {pairs}`. Stacks: "
            "`benchmarks/stacks.py`; the hand-written equivalents: `benchmarks/l2_stack.py`. Every stack has the "
            "same network (`benchmarks/network.py`) and cdk.json's context, and is environment-agnostic. No "
            "cdk-nag plugin is attached (the L2 stack would fail it), so the sample app's `cdk synth` takes "
            "longer than these.",
            "",
            synth_time.markdown(synth),
            "",
            "## 2. Where a synthesis spends its time",
            "",
            profile_report.markdown(profile),
            "",
            f"## 3. Scale curve: {scale.sizes[0]} to {scale.sizes[-1]} services in several stacks",
            "",
            scale_curve.markdown(scale),
            "",
            "## 4. Footprint per stack and per further service",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.footprint`. The @cdklabs/cdk-ecs-codedeploy row is "
            "synthesized from its PyPI package in `build/bench-venv` (`make bench` creates it from "
            "`benchmarks/requirements-ecs-codedeploy.txt`, same aws-cdk-lib and cdk.json); without that venv the "
            "row falls back to counts read from its integration snapshot.",
            "",
            footprint.markdown(*footprint_result),
            "",
            "## 5. Test suite wall time",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.suite_time` (after `make bootstrap`; the phases come from "
            "the plugin `benchmarks/suite_phases.py`). The suite synthesizes each shared configuration once per "
            "session (`tests/conftest.py`) and every test reads those templates.",
            "",
            suite_time.markdown(suite),
            "",
            "## 6. The goals this run does not meet, and what they would take",
            "",
            unmet_goals.markdown(synth, profile, suite, os.cpu_count() or 1),
            "",
            "## 7. Deployment time model",
            "",
            "Reproduce: `.venv/bin/python -m benchmarks.deploy_model`. Every setting is read from the synthesized "
            "template of the row's stack (one service, on the network above); the rest are the assumptions listed "
            "after the tables.",
            "",
            deploy_model.markdown(model),
            "",
            "Assumptions:",
            "",
            deploy_model.ASSUMPTIONS,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="synth-time rounds (at least 5)")
    parser.add_argument(
        "--scale-sizes", type=int, nargs="+", default=list(scale_curve.SIZES), help="scale curve: numbers of services"
    )
    parser.add_argument("--scale-rounds", type=int, default=scale_curve.ROUNDS, help="scale curve: rounds")
    parser.add_argument(
        "--scale-large-rounds",
        type=int,
        default=scale_curve.LARGE_ROUNDS,
        help=f"scale curve: rounds from {scale_curve.LARGE} services on",
    )
    parser.add_argument("--scale-profile", action="store_true", help="scale curve: also count jsii requests")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "performance.md")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    def progress(line: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {line}", file=sys.stderr, flush=True)

    synth = synth_time.measure(args.pairs, progress=progress)
    progress("profile: jsii requests and the kernel's CPU profile")
    profile = profile_report.measure()
    scale = scale_curve.measure(
        args.scale_sizes, args.scale_rounds, args.scale_large_rounds, profile=args.scale_profile, progress=progress
    )
    progress("test suite: running pytest")
    suite = suite_time.measure(reference_s=synth.median_wall(stacks.BASELINE))
    progress("footprint: synthesizing")
    footprint_result = footprint.measure()
    progress("deployment model: reading templates")
    model = deploy_model.measure()
    text = render(
        pairs=args.pairs,
        synth=synth,
        profile=profile,
        scale=scale,
        suite=suite,
        footprint_result=footprint_result,
        model=model,
        elapsed=time.perf_counter() - started,
    )
    args.output.write_text(text)
    progress(f"wrote {args.output}")


if __name__ == "__main__":
    main()
