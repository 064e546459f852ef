# The README's two commands: `make demo` runs the workshop end to end, `make test` runs the checks.
# Both create (or reuse) the virtual environment in .venv and install the project into it.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
QUICK ?=

.PHONY: demo test lint bench install clean-data lab notebooks

install: $(STAMP)

# The JVM helpers' sources are in the class archive's key: a change to them rebuilds it.
JAVA_SOURCES := $(shell find src -name '*.java')

$(STAMP): pyproject.toml $(JAVA_SOURCES)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e ".[dev]"
	@# The notebooks' kernel is this environment's Python, for Jupyter and papermill alike; JupyterLab
	@# opens with nothing to dismiss (no build prompt from Dash's source extension, no news toast).
	@$(BIN)/python -m smart_factory.workshop.lab_setup
	@# Fetches the Delta jars once, compiles the JVM helpers (with a JDK) and archives the classes
	@# Spark loads, so every later start is quicker.
	@$(BIN)/smart-factory class-archive
	@touch $(STAMP)

# DEMO_ARGS passes options on, e.g. make demo DEMO_ARGS="-p num_devices 100 --parameters my.yml"
demo: $(STAMP)
	@$(BIN)/smart-factory demo $(DEMO_ARGS)

# Containers often run as root, which Jupyter refuses without --allow-root.
lab: $(STAMP)
	@$(BIN)/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root,)

# Re-execute the notebooks in place (clean run, default parameters, temporary storage root),
# so the committed outputs nbval compares against are current.
notebooks: $(STAMP)
	@$(BIN)/python -m smart_factory.workshop.refresh

lint: $(STAMP)
	@$(BIN)/ruff check .

test: $(STAMP) lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# A full run also rewrites docs/benchmarks.md's latest figures and chart (benchmarks/report.py).
bench: $(STAMP)
	@$(BIN)/python -m benchmarks $(if $(QUICK),--quick,)
	@$(if $(QUICK),true,$(BIN)/python -m benchmarks.report)

clean-data:
	rm -rf data/volumes data/lakehouse data/pipelines data/logs
