"""What every benchmark shares without importing aws-cdk-lib: paths, the CDK context, Markdown helpers.

Kept free of jsii so that a child process timing the bare jsii start-up imports nothing else.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
# The optional interpreter that has @cdklabs/cdk-ecs-codedeploy (its PyPI package) next to the same
# aws-cdk-lib; build/ is git-ignored, and the project's own venv stays free of the comparison's package.
ECS_CODEDEPLOY_PYTHON = ROOT / "build" / "bench-venv" / "bin" / "python"


def cdk_context() -> dict[str, Any]:
    """cdk.json's context, as tests/support.py passes it (that module imports pytest and cfn-lint, too slow here)."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def child_env() -> dict[str, str]:
    """The environment of every child process: jsii's Node.js warning off, the repository importable."""
    env = dict(os.environ)
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    # Users' interpreters cache bytecode; without it every fresh process recompiles blue_green_ecs and
    # the benchmarks, a cost only this kind of sandbox (which sets the variable) would see.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def python() -> str:
    """The project's interpreter (make bench runs from the venv; so does a direct `.venv/bin/python -m ...`)."""
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else "python3"


def cpu_busy_seconds() -> float | None:
    """CPU time every process on the machine has used since boot (Linux), to tell how busy others kept it."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub Markdown table; numbers are printed as given (format them before)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> str:
    return f"{value:.2f} s"


def minutes_seconds(value: float) -> str:
    """``m:ss`` for the deployment model, whose figures are minutes long."""
    whole = round(value)
    return f"{whole // 60}:{whole % 60:02d}"
