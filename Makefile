# The two set-up commands are `make synth` and `make test`; each bootstraps what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
SCAN_VENV := .scan-venv
TEMPLATES := build/templates
# @cdklabs/cdk-ecs-codedeploy, for the footprint comparison only, in a venv of its own.
BENCH_VENV := build/bench-venv
# The lowest aws-cdk-lib and constructs pyproject.toml allows, with cdk-nag 2 (tests/requirements-min.txt).
MIN_VENV := build/min-venv
STACK := BlueGreenSample
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PATH := $(CURDIR)/$(VENV)/bin:$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help bootstrap synth test test-min consumer lint typecheck docs scan bench deploy diff destroy clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

bootstrap: $(VENV)/.installed node_modules/.installed ## Create .venv and install the pinned CDK CLI

# IMAGE_TAG=1.28, ENGINE=ecs: the sample's context values (cdk.json has the defaults).
CONTEXT := $(if $(IMAGE_TAG),-c image_tag=$(IMAGE_TAG)) $(if $(ENGINE),-c engine=$(ENGINE))

synth: bootstrap ## Synthesize the sample app into cdk.out/ (ENGINE=ecs for the ECS-native engine)
	cdk synth --quiet $(STACK) $(CONTEXT)
	@echo "CloudFormation templates:"; ls -1 $(CURDIR)/cdk.out/*.template.json

lint: bootstrap ## ruff (lint and format check)
	ruff check .
	ruff format --check .

typecheck: bootstrap ## mypy --strict over the package and the sample app
	mypy

test: lint typecheck ## Lint, type-check and run the whole test suite
	pytest

$(MIN_VENV)/.installed: pyproject.toml tests/requirements-min.txt
	rm -rf $(MIN_VENV)
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/pip install --quiet --upgrade pip
	$(MIN_VENV)/bin/pip install --quiet -c tests/requirements-min.txt -r tests/requirements-min.txt -e .
	touch $@

test-min: $(MIN_VENV)/.installed ## The test suite on the lowest supported aws-cdk-lib and constructs, with cdk-nag 2
	$(MIN_VENV)/bin/python -m pytest -q -p no:cacheprovider

consumer: ## Build the sdist and wheel, install the wheel in a fresh venv, synthesize and mypy --strict a two-service app
	PYTHON=$(PYTHON) bash tests/consumer/run.sh

docs: bootstrap ## Regenerate docs/props.md from the docstrings and docs/security.md's role table from the IAM model
	python -m docs.generate_props
	python -m tests.authorization.role_table

$(SCAN_VENV)/.installed: requirements-scan.txt
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet -r requirements-scan.txt
	touch $@

scan: bootstrap $(SCAN_VENV)/.installed ## checkov over the templates of every test configuration (cdk-nag runs in make test)
	rm -rf $(TEMPLATES)
	python -m tests.export_templates $(TEMPLATES)
	$(SCAN_VENV)/bin/checkov --directory $(TEMPLATES) --framework cloudformation --compact --quiet --skip-download

$(BENCH_VENV)/.installed: benchmarks/requirements-ecs-codedeploy.txt
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -r benchmarks/requirements-ecs-codedeploy.txt
	touch $@

bench: bootstrap $(BENCH_VENV)/.installed ## Benchmarks (synth time, footprint, suite time, deployment model) -> docs/performance.md
	python -m benchmarks.run_all

deploy: bootstrap ## Deploy the sample (needs AWS credentials); IMAGE_TAG=1.28 deploys another tag, ENGINE=ecs
	cdk deploy $(STACK) $(CONTEXT)

diff: bootstrap ## Show what a deploy would change
	cdk diff $(STACK) $(CONTEXT)

destroy: bootstrap ## Delete the sample stack
	cdk destroy $(STACK)

# Integration tests in an AWS account (docs/integration-tests.md). integ-runner (pinned in package.json) deploys
# each app of tests/integ with your credentials, case by case, runs its assertions, and destroys its stacks in a
# `finally`, also after a failed case. It runs one app per region at a time: two regions run both engines side by
# side (INTEG_REGIONS="us-east-1 us-west-2"), each `cdk bootstrap`ped. INTEG_FLAGS adds options and test names
# (-vv: the CDK's output; integ_ecs_native.py: that app only), before the regions, whose list would take a name.
INTEG_REGIONS ?= $(or $(AWS_REGION),$(AWS_DEFAULT_REGION),us-east-1)
INTEG_RUNNER := integ-runner --language python --directory tests/integ --no-update-workflow
INTEG_ASSETS := tests/integ/*.snapshot/asset.*

.PHONY: integ integ-snapshots
integ: bootstrap ## Deploy, assert and destroy tests/integ in an AWS account (about 1 h per app, 0.25 USD)
	$(INTEG_RUNNER) --force --clean --verbose $(INTEG_FLAGS) \
		$(foreach region,$(INTEG_REGIONS),--parallel-regions $(region)); status=$$?; rm -rf $(INTEG_ASSETS); exit $$status

integ-snapshots: bootstrap ## Rewrite tests/integ's snapshots offline (integ-runner --dry-run: no account)
	$(INTEG_RUNNER) --force --dry-run --parallel-regions us-east-1
	rm -rf $(INTEG_ASSETS)

clean: ## Remove generated files
	rm -rf cdk.out build .pytest_cache .mypy_cache .ruff_cache
