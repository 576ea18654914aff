"""How a deployment runs: the traffic shift (``traffic_shift.py``: canary, linear or all at once); the lifecycle
hooks: the user's and the smoke test (``hooks.py``), the pre-flight check (``preflight.py``) and the library's own
hooks of a service, next to the user's (``built_in_hooks.py``); the deployment trigger that makes ``cdk deploy`` run
a CodeDeploy deployment (``deployment_trigger.py``) and the stack's one provider function behind it and the
live-state lookup (``provider.py``); and a deployment's timeline and cost, which ``blue-green-ecs plan`` shows
(``timeline.py``, ``cost.py``), from what a synthesized template says of a service (``template_inputs.py``). It
imports only the folders below it, ``load_balancing/``, ``fargate/``, ``functions/``, ``configuration/`` and
``handlers/``, and names the construct's ``ServiceProps`` for the type checker only (tests/test_architecture.py,
``LAYERS``).
"""
