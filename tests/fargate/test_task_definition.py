"""task_definition=: the service runs the user's Fargate task definition, sidecars and all (issue #14 item 3)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs

from blue_green_ecs import BlueGreenFargateService
from blue_green_ecs.engines.pipeline import IMAGE_PLACEHOLDER, taskdef_document

from ..configurations import IMAGE
from ..support import new_stack, only, raises_message, synth

SIDECAR_IMAGE = "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable"


def _task_definition(stack: Stack, *, port: int = 8080) -> ecs.FargateTaskDefinition:
    """An app container and a log router sidecar, as platform teams bring them."""
    task_definition = ecs.FargateTaskDefinition(stack, "AppTask", cpu=512, memory_limit_mib=1024)
    task_definition.add_container(
        "App",
        container_name="app",
        image=ecs.ContainerImage.from_registry(IMAGE),
        port_mappings=[ecs.PortMapping(container_port=port)],
        logging=ecs.LogDrivers.firelens(),
    )
    task_definition.add_firelens_log_router(
        "LogRouter",
        container_name="log-router",
        image=ecs.ContainerImage.from_registry(SIDECAR_IMAGE),
        firelens_config=ecs.FirelensConfig(type=ecs.FirelensLogRouterType.FLUENTBIT),
        memory_reservation_mib=50,
        logging=ecs.LogDrivers.aws_logs(stream_prefix="router"),
    )
    return task_definition


def _service(stack: Stack, **props: Any) -> BlueGreenFargateService:
    return BlueGreenFargateService(stack, "Web", **props)


def test_the_service_runs_the_given_task_definition_with_the_named_container_behind_the_load_balancer() -> None:
    # Given a task definition with an app container and a sidecar
    stack = new_stack()
    task_definition = _task_definition(stack)

    # When the service is given it
    web = _service(stack, task_definition=task_definition, container_name="app", container_port=8080)

    # Then it runs that one (no second task definition, no log group of its own) and "app" receives traffic
    template = synth(stack)
    template.resource_count_is("AWS::ECS::TaskDefinition", 1)
    assert web.task_definition is task_definition
    assert web.container.container_name == "app"
    assert web.log_group is None
    # (the service's entry renders from the live-state lookup, which starts from the configured values)
    _, lookup = only(template, "Custom::BlueGreenEcsLiveState")
    configured = lookup["Properties"]["Configured"]
    assert (configured["ContainerName"], configured["ContainerPort"]) == ("app", "8080")


def test_pipeline_taskdef_carries_every_container_of_the_given_task_definition() -> None:
    # Given a service running a task definition with a sidecar
    stack = new_stack()
    web = _service(stack, task_definition=_task_definition(stack), container_name="app", container_port=8080)

    # When the pipeline's taskdef.json is rendered
    document = stack.resolve(taskdef_document(web))

    # Then both containers are in it; only the traffic container's image is the pipeline's placeholder
    images = {container["name"]: container["image"] for container in document["containerDefinitions"]}
    assert images == {"app": IMAGE_PLACEHOLDER, "log-router": SIDECAR_IMAGE}


def test_ecs_native_runs_the_given_task_definition() -> None:
    from blue_green_ecs import DeploymentEngine

    stack = new_stack()
    _service(
        stack,
        task_definition=_task_definition(stack),
        container_name="app",
        container_port=8080,
        engine=DeploymentEngine.ECS_NATIVE,
    )
    template = synth(stack)
    _, service = only(template, "AWS::ECS::Service")
    assert service["Properties"]["LoadBalancers"][0]["ContainerName"] == "app"


def test_rejects_both_image_and_task_definition() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid task_definition='Test/AppTask': image is given too; the task definition's containers have their "
        "images: drop image=, or drop task_definition= to let the construct build one."
    ):
        _service(stack, image=ecs.ContainerImage.from_registry(IMAGE), task_definition=_task_definition(stack))


def test_rejects_neither_image_nor_task_definition() -> None:
    with raises_message(
        "Invalid image=None: pass image= (the construct builds the task definition), or task_definition= with "
        "container_name=."
    ):
        _service(new_stack())


def test_rejects_a_container_name_the_task_definition_does_not_have() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid container_name='web': task_definition 'Test/AppTask' has no container of that name (it has: app, "
        "log-router); name the container that receives the load balancer's traffic."
    ):
        _service(stack, task_definition=_task_definition(stack))


def test_rejects_a_container_port_the_container_does_not_map() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid container_port=80: container 'app' of task_definition 'Test/AppTask' maps no such TCP port; add "
        "port_mappings=[ecs.PortMapping(container_port=...)] to it, or pass the port it maps."
    ):
        _service(stack, task_definition=_task_definition(stack), container_name="app")


def test_rejects_task_props_the_given_task_definition_already_says() -> None:
    stack = new_stack()
    with raises_message(
        "Invalid environment='<dict>': task_definition 'Test/AppTask' is given, and it says this itself; set it there, or drop "
        "task_definition=."
    ):
        _service(
            stack,
            task_definition=_task_definition(stack),
            container_name="app",
            container_port=8080,
            environment={"MODE": "blue-green"},
        )
