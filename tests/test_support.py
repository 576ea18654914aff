"""The suite's own checks must be able to fail: cfn-lint through the shared runner still reports."""

from __future__ import annotations

from .support import cfn_lint_findings

BAD = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Nope": 1}}}}
GOOD = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}


def test_the_shared_cfn_lint_runner_reports_errors_in_every_template_it_is_given() -> None:
    expected = [
        "E3002 Additional properties are not allowed ('Nope' was unexpected) (Resources/Bucket/Properties/Nope)"
    ]
    assert cfn_lint_findings(BAD) == expected
    assert cfn_lint_findings(GOOD) == []
    # Reused for the next template: nothing of the first run is remembered.
    assert cfn_lint_findings(BAD) == expected
