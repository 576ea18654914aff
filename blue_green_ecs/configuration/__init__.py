"""The numbers and rules every part of a service shares: every default, with its reason (``defaults.py``); AWS's
numeric limits and their checks on plain numbers (``limits.py``, without aws-cdk-lib, so ``blue-green-ecs plan``
runs the same checks); the construction-time checks of single values (``validation.py``); and the findings of
cfn-lint, cdk-nag and checkov that are acknowledged rather than fixed, each with its reason
(``acknowledgements.py``). The bottom of the construct's code: it imports nothing of the package outside this
folder (tests/test_architecture.py, ``LAYERS``).
"""
