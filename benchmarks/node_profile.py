"""Where the jsii kernel (Node.js) spends a synthesis: a V8 CPU profile of one fresh process, by category.

jsii starts Node.js as ``$JSII_NODE --max-old-space-size=4069 <kernel>`` (``jsii._kernel.providers.process``);
a wrapper given as ``JSII_NODE`` adds ``--cpu-prof``, so the kernel writes a V8 CPU profile when it exits.
Each sample is charged to the innermost frame's category; waiting on the pipe for Python's next request
counts as "waiting for Python", which is the time Python (the app, this library, jsii's Python side)
takes between requests. Run: ``.venv/bin/python -m benchmarks.node_profile construct``.
"""

from __future__ import annotations

import argparse
import json
import stat
import subprocess
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .context import ROOT, child_env, python

VALIDATION = "template validation (@aws/cloudformation-validate, WebAssembly): set-up"
VALIDATE_TEMPLATE = "template validation: validateTemplate (grows with the template)"
WAITING = "waiting for Python's next request (stdin)"
GC = "garbage collection"
LOADING = "loading and compiling JavaScript modules"
CDK = "aws-cdk-lib and constructs code"
KERNEL = "jsii kernel (requests, object references)"
OTHER = "other (Node.js internals, native)"
CATEGORIES = (VALIDATION, VALIDATE_TEMPLATE, CDK, LOADING, GC, KERNEL, WAITING, OTHER)


def _category(frames: list[Mapping[str, Any]]) -> str:
    """``frames``: the sample's stack, innermost first."""
    inner = frames[0]
    name, url = inner.get("functionName", ""), inner.get("url", "")
    if name == "(garbage collector)":
        return GC
    if url.startswith("wasm") or "cloudformation-validate" in url:
        for frame in frames:
            if frame.get("functionName") == "validateTemplate":
                return VALIDATE_TEMPLATE
        return VALIDATION
    if name in {"read", "readSync"} and not url:
        return WAITING
    for frame in frames:
        if frame.get("functionName") == "validateTemplate":
            return VALIDATE_TEMPLATE
    if "node:internal/modules" in url or name in {"compileFunction", "wrapSafe"}:
        return LOADING
    if "/aws-cdk-lib/" in url or "/constructs/" in url:
        return CDK
    if "jsii" in url or "program.js" in url:
        return KERNEL
    return OTHER


def categorize(profile: Mapping[str, Any]) -> dict[str, float]:
    """Seconds of the profile per category."""
    nodes = {node["id"]: node for node in profile["nodes"]}
    parent = {child: node["id"] for node in profile["nodes"] for child in node.get("children", [])}
    by_node: Counter[int] = Counter()
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=True):
        by_node[sample] += delta
    seconds: dict[str, float] = {}
    for node_id, micros in by_node.items():
        frames = []
        current: int | None = node_id
        while current is not None:
            frames.append(nodes[current]["callFrame"])
            current = parent.get(current)
        category = _category(frames)
        seconds[category] = seconds.get(category, 0.0) + micros / 1e6
    return dict(seconds)


def profile(kind: str, services: int = 1) -> dict[str, float]:
    """Categorized Node.js CPU profile of one fresh ``python -m benchmarks.stacks KIND`` process."""
    with tempfile.TemporaryDirectory(prefix="bench-node-profile-") as scratch:
        folder = Path(scratch)
        wrapper = folder / "node"
        wrapper.write_text(f'#!/bin/sh\nexec node --cpu-prof --cpu-prof-dir="{folder}" --cpu-prof-interval 250 "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
        env = {**child_env(), "JSII_NODE": str(wrapper)}
        subprocess.run(
            [python(), "-m", "benchmarks.stacks", kind, "--services", str(services)],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
        # The kernel's profile is the largest: the first file is jsii's small launcher script.
        written = max(folder.glob("*.cpuprofile"), key=lambda path: path.stat().st_size)
        return categorize(json.loads(written.read_text()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kinds", nargs="+")
    args = parser.parse_args(argv)
    results = {kind: profile(kind) for kind in args.kinds}
    for category in CATEGORIES:
        print(f"{category:75s} " + " ".join(f"{results[k].get(category, 0.0):7.3f}" for k in args.kinds))
    print(f"{'total':75s} " + " ".join(f"{sum(results[k].values()):7.3f}" for k in args.kinds))


if __name__ == "__main__":
    main()
