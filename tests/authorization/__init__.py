"""An IAM authorization model for tests: the Service Authorization Reference, a policy evaluator, role policies.

The construct's roles are only as right as the requests they authorize; this package lets a test ask
"would IAM allow this call?" of a synthesized template instead of trusting a snapshot.
"""
