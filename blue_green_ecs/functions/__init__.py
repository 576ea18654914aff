"""The library's own Lambda functions as aws-cdk-lib builds them: the one code asset, ``handlers/``, its inline form
for standalone templates and users' ``hook_code`` (``lambda_code.py``); one function with a role of its own
(``library_function.py``); and every log group the library creates, the functions' and the containers'
(``log_groups.py``). It imports only the folders below it, ``configuration/`` and ``handlers/`` (the Lambda code,
read as files), never one above (tests/test_architecture.py, ``LAYERS``).
"""
