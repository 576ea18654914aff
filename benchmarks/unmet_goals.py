"""The closing section of docs/performance.md: each goal of issue #23 that a run does not meet, and what it would take.

Written from the same run's figures, so it says how far off each goal is today and where the time goes, and
names the change that would close the gap.
"""

from __future__ import annotations

from . import node_profile, profile_report, stacks, suite_time, synth_time
from .context import seconds

DEFAULTS_GOAL = 1.10
LIKE_FOR_LIKE_GOAL = 1.02


def _requests(profile: profile_report.ProfileReport, kind: str) -> int:
    report = profile.python_side[kind]
    return int(report["build"]["calls"] + report["synth"]["calls"])


def markdown(
    synth: synth_time.SynthTimes, profile: profile_report.ProfileReport, suite: suite_time.SuiteTime, cores: int
) -> str:
    lines: list[str] = []
    defaults = synth.median_pair_ratio(stacks.CONSTRUCT, stacks.L2)
    like = synth.median_pair_ratio(stacks.CONSTRUCT, stacks.L2_FULL)
    if defaults > DEFAULTS_GOAL or like > LIKE_FOR_LIKE_GOAL:
        ours, plain, full = (_requests(profile, k) for k in (stacks.CONSTRUCT, stacks.L2, stacks.L2_FULL))
        waiting = {k: profile.node_side[k].get(node_profile.WAITING, 0.0) for k in (stacks.CONSTRUCT, stacks.L2)}
        gap = synth.median_pair_difference(stacks.CONSTRUCT, stacks.L2)
        allowed = (DEFAULTS_GOAL - 1) * synth.median_wall(stacks.L2)
        lines += [
            f"**Synthesis** (defaults {defaults:.3f} against at most {DEFAULTS_GOAL}; like for like {like:.3f} against "
            f"at most {LIKE_FOR_LIKE_GOAL}). The defaults take {gap:+.2f} s a round over the plain stack, where the "
            f"goal allows {allowed:+.2f} s. The templates are not where it goes: the hand-written stack with the same "
            f"features has more resources ({synth.rounds[0][stacks.L2_FULL].resources} against "
            f"{synth.rounds[0][stacks.CONSTRUCT].resources}) and synthesizes faster. The difference is the "
            f"conversation between Python and Node.js: the construct makes {ours} jsii requests, the plain stack "
            f"{plain} and the "
            f"hand-written one with the same features {full} (section 2), and while Python prepares each one the "
            f"kernel waits ({seconds(waiting[stacks.CONSTRUCT])} for the construct, {seconds(waiting[stacks.L2])} "
            "for the plain stack). Each request is a JSON message over a pipe, type-checked on the Python side; a "
            "cold process pays "
            "about a millisecond a round trip. This run removed the requests that grew with the square of the services "
            "in a stack (the live-state fingerprint) and the ones a Python check can answer (plain strings and "
            "numbers as tokens). What it would take: about as many requests per service as the hand-written stack, "
            "which means building the per-service resources in Node.js rather than one call at a time from Python. "
            "The way aws-cdk-lib's own constructs are built: the construct's wiring written in TypeScript and "
            "compiled with jsii, with the Python package as its binding, so one `create` runs the whole service "
            "inside the kernel. The props, checks and Lambda code can stay as they are. That is a rewrite of the "
            "construct's implementation, not a tuning of it.",
            "",
        ]
    if suite.wall >= suite_time.GOAL_S:
        phases = suite.report["phases_s"]
        busy = sum(phases.values())
        lint = suite.report.get("cfn_lint", {})
        budget = suite_time.GOAL_S * cores
        lint_text = (
            f"cfn-lint takes {seconds(lint['seconds'])} of it, once per distinct template ({lint['templates']} of "
            "them), "
            if lint.get("templates")
            else ""
        )
        lines += [
            f"**Test suite** ({seconds(suite.wall)} against under {suite_time.GOAL_S:.0f} s). The workers are busy "
            f"{seconds(busy)} between them, and {cores} cores give {seconds(budget)} in a minute, less each worker's "
            f"start-up (Python, jsii, the template validation's set-up, cfn-lint's rules). {lint_text}and "
            "synthesizing the templates takes most of the rest. Each test stays as strict as before: every template "
            "a test synthesizes is validated by cdk-nag and cfn-lint. What it would take: fewer distinct templates. "
            "Most tests of one prop build a stack of their own, each with a new VPC (about 30 of a template's 60 "
            "resources, linted again every time). They could be rewritten as several services in one shared "
            "configuration, each with its own prop, asserted by logical-id prefix. That halves what cfn-lint and "
            "synthesis read, and it is a rewrite of about 80 tests' set-up. Faster synthesis (above) would shorten "
            "the rest.",
            "",
        ]
    if not lines:
        return "Every goal of issue #23 is met in this run."
    return "\n".join(lines).rstrip()
