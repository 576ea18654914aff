#!/usr/bin/env python3
"""CDK entry point of the sample app: `cdk synth`, `cdk deploy -c image_tag=1.28`.

cdk-nag's AwsSolutions pack checks every synthesis: an unacknowledged finding fails `cdk synth`.
"""

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks

from sample.app import build

app = App()
Validations.of(app).add_plugins(AwsSolutionsChecks(app))
build(app)
app.synth()
