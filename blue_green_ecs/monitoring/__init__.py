"""What watches a deployment: the rollback alarms that make the engine roll a bad deployment back
(``rollback_alarms.py``: ``RollbackAlarmOptions`` and the built-in alarms), and the operations view: the dashboard
of blue against green, the stack outputs and the deployment notifications (``operations.py``). It imports only the
folders below it, ``deployment/``, ``load_balancing/``, ``fargate/``, ``functions/``, ``configuration/`` and
``handlers/``, and names the construct's ``ServiceProps`` for the type checker only (tests/test_architecture.py,
``LAYERS``).
"""
