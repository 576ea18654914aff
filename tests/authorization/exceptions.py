"""Where IAM authorizes an action otherwise than the Service Authorization Reference says: the one list.

reference.authorized_resource answers from AWS's published data; a test asking "would IAM allow this call?" must
instead ask :func:`effective_resource`, which answers from that data except for the actions listed in
:data:`EXCEPTIONS`, each with the evidence that AWS behaves otherwise. An exception is added only with evidence
from AWS's own documentation or from AWS's own libraries that rely on the behaviour, never to make a test pass.

Stable API (imported by other test modules): ``EXCEPTIONS``, ``ReferenceException``, ``effective_resource``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import reference


@dataclass(frozen=True)
class ReferenceException:
    """``action`` is authorized on ARNs matching ``arn_pattern`` (``resource`` names the resource type), though
    the reference lists other resource types (or none, meaning ``"*"`` only) for it; ``evidence`` says why we
    believe AWS."""

    action: str
    resource: str
    arn_pattern: str
    reference_says: str
    evidence: tuple[str, ...]

    def matches(self, arn: str) -> bool:
        """Whether ``arn`` is of the resource type IAM authorizes ``action`` on."""
        return re.fullmatch(self.arn_pattern, arn) is not None


EXCEPTIONS: tuple[ReferenceException, ...] = (
    ReferenceException(
        action="codedeploy:PutLifecycleEventHookExecutionStatus",
        resource="deploymentgroup",
        arn_pattern=r"arn:[^:]+:codedeploy:[^:]+:\d{12}:deploymentgroup:[^/]+/.+",
        reference_says='no resource types: authorized on "*" only',
        evidence=(
            # AWS's own documentation lists the deployment group as the resource of this action.
            "CodeDeploy User Guide, 'CodeDeploy permissions reference' "
            "(https://docs.aws.amazon.com/codedeploy/latest/userguide/auth-and-access-control-permissions-reference.html): "
            "the PutLifecycleEventHookExecutionStatus row's resource is "
            "arn:aws:codedeploy:region:account-id:deploymentgroup:application-name/deployment-group-name "
            "(awsdocs/aws-codedeploy-user-guide, doc_source/auth-and-access-control-permissions-reference.md).",
            # AWS's CDK grants it on the deployment group ARN only, for every Lambda deployment group's hooks.
            "aws-cdk-lib, packages/aws-cdk-lib/aws-codedeploy/lib/lambda/deployment-group.ts: "
            "grantPutLifecycleEventHookExecutionStatus(grantee) is iam.Grant.addToPrincipal({ grantee, "
            "resourceArns: [this.deploymentGroupArn], actions: ['codedeploy:PutLifecycleEventHookExecutionStatus'] }), "
            "and addPreHook/addPostHook call it for every hook function, so CDK's Lambda canary deployments rely on it.",
        ),
    ),
    ReferenceException(
        action="codedeploy:StopDeployment",
        resource="deploymentgroup",
        arn_pattern=r"arn:[^:]+:codedeploy:[^:]+:\d{12}:deploymentgroup:[^/]+/.+",
        reference_says='no resource types: authorized on "*" only',
        evidence=(
            # The same table as above: the call names a deployment id, IAM authorizes it on the deployment's group.
            "CodeDeploy User Guide, 'CodeDeploy permissions reference' "
            "(https://docs.aws.amazon.com/codedeploy/latest/userguide/auth-and-access-control-permissions-reference.html): "
            "the StopDeployment row, 'Required to stop an in-progress deployment to a deployment group', has the "
            "resource arn:aws:codedeploy:region:account-id:deploymentgroup:application-name/deployment-group-name, "
            "as GetDeployment's row does, which the reference also scopes to deploymentgroup "
            "(awsdocs/aws-codedeploy-user-guide, doc_source/auth-and-access-control-permissions-reference.md).",
        ),
    ),
)

_BY_ACTION = {e.action.lower(): e for e in EXCEPTIONS}


def effective_resource(action: str, arns: Sequence[str]) -> str | list[str]:
    """The Resource IAM actually evaluates a call of ``action`` on ``arns`` against.

    For an action in :data:`EXCEPTIONS`: ``arns`` themselves, each checked to be of the exception's resource type
    (ValueError otherwise, so a test cannot ask about a request AWS would never make). For any other action:
    :func:`reference.authorized_resource` (``"*"`` when the reference lists no resource types).
    """
    exception = _BY_ACTION.get(action.lower())
    if exception is None:
        return reference.authorized_resource(action, arns)
    for arn in arns:
        if not exception.matches(arn):
            raise ValueError(f"{arn!r} is not a {exception.resource} ARN, which {action} is authorized on")
    return list(arns)
