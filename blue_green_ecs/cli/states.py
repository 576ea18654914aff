"""The statuses of a deployment in flight, per engine, and the exit codes ``watch``, ``approve`` and ``rollback``
end with (docs/cli.md); cli/deployments.py re-exports them."""

from __future__ import annotations

# CodeDeploy's DeploymentStatus values of a deployment in flight; the others (Succeeded, Failed, Stopped) are final.
ACTIVE = ["Created", "Queued", "InProgress", "Baking", "Ready"]
# ECS's ServiceDeployment status values by stage (ECS Developer Guide, "View service history using Amazon ECS
# service deployments"): Pending (PENDING) and Ongoing (IN_PROGRESS, STOP_REQUESTED, ROLLBACK_REQUESTED,
# ROLLBACK_IN_PROGRESS) are in flight; Completed, "successfully or unsuccessfully", are the keys of ECS_EXIT.
ECS_ACTIVE = ["PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"]
ECS_ROLLING_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
# Exit codes (docs/cli.md): 0 done, 1 error, 2 nothing to act on, 3 watched deployment did not succeed (failed,
# stopped or rolled back), 4 its rollback did not succeed either.
NOTHING_TO_DO = 2
NOT_SUCCEEDED = 3
ROLLBACK_NOT_SUCCEEDED = 4
ECS_EXIT = {
    "SUCCESSFUL": 0,
    "STOPPED": NOT_SUCCEEDED,
    "ROLLBACK_SUCCESSFUL": NOT_SUCCEEDED,
    "ROLLBACK_FAILED": ROLLBACK_NOT_SUCCEEDED,
}
