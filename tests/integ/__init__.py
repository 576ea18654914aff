"""Integration tests in an AWS account, run by integ-runner (``make integ``; docs/integration-tests.md)."""
