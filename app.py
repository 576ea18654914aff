#!/usr/bin/env python3
"""CDK entry point of the sample app: `cdk synth`, `cdk deploy -c image_tag=1.28`."""

from aws_cdk import App

from sample.app import build

app = App()
build(app)
app.synth()
