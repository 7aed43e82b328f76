# The two commands of the README: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY_STAMP := $(VENV)/.installed
NPM_STAMP := dataform/node_modules/.installed

.PHONY: demo test setup lint clean

demo: setup  ## set up, then generate ~60 days and run the whole pipeline locally
	$(BIN)/winterdays demo

test: setup  ## set up, then run the test suite (starts the emulators it needs)
	$(BIN)/pytest

setup: $(PY_STAMP) $(NPM_STAMP)

$(PY_STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

$(NPM_STAMP): dataform/package.json dataform/package-lock.json
	cd dataform && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:  ## remove the local data folder (the warehouse, bronze, the emulator's data)
	rm -rf .winterdays
