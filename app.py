#!/usr/bin/env python3
"""CDK entry point of the sample app: `cdk synth`, `cdk deploy -c image_tag=1.28`.

cdk-nag's AwsSolutions pack checks every synthesis: an unacknowledged finding fails `cdk synth`.
cdk-nag 3 (what `make bootstrap` installs) is a policy validation plugin; cdk-nag 2 (`make test-min`)
is an Aspect whose findings fail the synthesis through cdk.json's annotationsInValidationReport flag.
"""

from importlib.metadata import version

from aws_cdk import App, Aspects, Validations
from cdk_nag import AwsSolutionsChecks

from sample.app import build

app = App()
if int(version("cdk-nag").split(".")[0]) >= 3:
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))
else:
    Aspects.of(app).add(AwsSolutionsChecks())  # type: ignore[arg-type]  # typed by cdk-nag 3: a plugin there
build(app)
app.synth()
