# The README's two commands: `make demo` runs the workshop end to end, `make test` runs the checks.
# Both create (or reuse) the virtual environment in .venv and install the project into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICK ?=

.PHONY: demo test lint bench install clean-data

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/smart-factory demo

lint: $(STAMP)
	@$(BIN)/ruff check .

test: $(STAMP) lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@$(BIN)/python -m benchmarks $(if $(QUICK),--quick,)

clean-data:
	rm -rf data/volumes data/lakehouse data/pipelines data/logs
