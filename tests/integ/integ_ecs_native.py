"""Integration test in an AWS account: the scenario of ``scenario.py`` with ``engine=DeploymentEngine.ECS_NATIVE``.

integ-runner finds this file by its name (``integ_*.py``, its Python preset) and runs it as a script,
``python3 tests/integ/integ_ecs_native.py``; ``make integ`` deploys it, ``tests/test_integ_snapshots.py`` compares
its synthesis with ``integ_ecs_native.py.snapshot/`` offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: the repository root is not on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from blue_green_ecs import DeploymentEngine
from tests.integ import scenario

ENGINE = DeploymentEngine.ECS_NATIVE

if __name__ == "__main__":
    scenario.main(ENGINE)
