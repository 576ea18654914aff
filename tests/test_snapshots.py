"""Snapshots of the synthesized CloudFormation: the sample (both engines) and three configurations.

Asset hashes are masked, so a snapshot changes only when the infrastructure does. After an
intended change, review the diff and run `pytest --snapshot-update`.
"""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from .support import mask_assets


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("configuration", ["sample", "sample_ecs", "minimal", "https", "existing_cluster"])
def test_template_matches_snapshot(
    configuration: str, request: pytest.FixtureRequest, snapshot_json: SnapshotAssertion
) -> None:
    synthesized = request.getfixturevalue(configuration)
    assert mask_assets(synthesized.template.to_json()) == snapshot_json
