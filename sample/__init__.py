"""The bundled sample app: one blue/green service, cheap to run, deployable with `cdk deploy`."""
