"""Logical ids of stateful and traffic-carrying resources are a contract.

Renaming a construct id changes the logical id, and CloudFormation then replaces the live resource:
a new load balancer (new DNS name), new listeners and target groups, a new service (downtime), a
new deployment group. These ids must only change in a major version, with a migration note.
"""

from __future__ import annotations

import pytest

from blue_green_ecs.deployment.provider import Provider

from .conftest import Synthesized

PINNED = {
    "load_balancer": "WebLoadBalancer8E8983B1",
    "prod_listener": "WebProdListener251B9DBA",
    "test_listener": "WebTestListener528D4CDC",
    "blue_target_group": "WebBlueTargetGroupDDD8EFA6",
    "green_target_group": "WebGreenTargetGroupB880D6F8",
    "service": "WebServiceD04B5F3E",
    "cluster": "WebCluster20B6B362",
    "task_definition": "WebTaskDefinitionD1709B1C",
    # Shared by the stack's services (shared_resources.py): the ids do not name the service.
    "application": "BlueGreenEcsApplication08F4321F",
    "deployment_group": "WebDeploymentGroup3DEF91A9",
    "access_logs_bucket": "BlueGreenEcsAccessLogsBucket99CEFF36",
}


@pytest.mark.parametrize(("attribute", "logical_id"), sorted(PINNED.items()))
def test_logical_id_is_stable(sample: Synthesized, attribute: str, logical_id: str) -> None:
    construct = getattr(sample.service, attribute)
    assert sample.stack.get_logical_id(construct.node.default_child) == logical_id
    assert logical_id in sample.template.to_json()["Resources"]


def test_deployment_trigger_id_is_stable(sample: Synthesized) -> None:
    trigger = sample.service.deployment_trigger
    assert trigger is not None
    # A new id would make CloudFormation create the resource again (and run a deployment decision).
    assert sample.stack.get_logical_id(trigger.resource.node.default_child) == "WebDeploymentTriggerB39020FF"  # type: ignore[arg-type]


def test_deployment_trigger_service_token_is_stable(sample: Synthesized) -> None:
    # CloudFormation refuses to change a custom resource's ServiceToken ("Modifying service token is
    # not allowed"): a new handler id would make every stack update fail.
    function = Provider.of(sample.stack).function
    assert sample.stack.get_logical_id(function.node.default_child) == "BlueGreenEcsDeploymentTriggerHandler5DEA0C41"  # type: ignore[arg-type]
