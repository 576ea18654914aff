"""The Fargate service itself: where it runs (``network.py``: its VPC, cluster and task subnets), what it runs
(``task.py``: the task definition, the application container and its log group, the ECS service) and how many
(``auto_scaling.py``: ``AutoScaling``). It imports only the folders below it, ``functions/``, ``configuration/``
and ``handlers/``, and names the construct's ``ServiceProps`` for the type checker only (tests/test_architecture.py,
``LAYERS``).
"""
