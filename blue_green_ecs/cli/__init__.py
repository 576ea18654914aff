"""The ``blue-green-ecs`` command: export templates and pipeline files, plan a deployment's timeline."""
