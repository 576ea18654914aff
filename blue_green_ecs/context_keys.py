"""Context keys that `blue-green-ecs export` sets and the construct reads (no CDK import: the command uses them too)."""

# Templates for plain CloudFormation: no assets, so no deployment trigger, and inline smoke test code.
STANDALONE = "blue-green-ecs:standalone"
# Put appspec.yaml and taskdef.json into the template's Metadata, for the export to take out.
PIPELINE_FILES = "blue-green-ecs:pipeline-files"
