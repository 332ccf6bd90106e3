# One-command entry points. Every target creates/reuses .venv and installs exactly the pinned set.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
export AIRFLOW_HOME ?= $(CURDIR)/.airflow
export PYTHONPATH := $(CURDIR):$(CURDIR)/dags
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(CURDIR)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE := True
export GX_ANALYTICS_ENABLED := False
STACK_DIR ?= $(CURDIR)/.local-stack
AIRFLOW_LOCAL_DIR ?= $(CURDIR)/.airflow-local
PORT ?= 8080

.PHONY: install demo demo-teardown test mutate lint stack-up stack-down airflow airflow-stop sample-data validate-config \
	bench clean

# Hash-checked end to end: pip installs the pinned uv from requirements-uv.txt, uv installs the layered lock files
# (each lists every package it needs, dependencies included, with its hashes). Two steps, so `make demo` does not
# wait for what only the tests need: $(STAMP) is the runtime (Airflow, GX, the local stack) and this repository;
# $(DEV_STAMP) adds the test tools and PySpark (requirements-spark.txt, ~400 MB; the Spark engine's equivalence tests
# run in `make test`), and Java, which scripts/install_java.sh installs from Debian when missing.
$(STAMP): requirements-uv.txt requirements.txt requirements-local.txt pyproject.toml Makefile
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-uv.txt
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode --require-hashes \
		-r requirements.txt -r requirements-local.txt
	@# This project, editable (personalize_ops, the UI plugin, personalize_local; console scripts personalize-ops and
	@# personalize-local). Its dependencies are the locks above; its build backend the setuptools they pin.
	$(BIN)/uv pip install --python $(BIN)/python -q --no-deps --no-build-isolation -e .
	@# Byte-compile once: this environment sets PYTHONDONTWRITEBYTECODE, so nothing else would cache it.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null || true
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt requirements-spark.txt
	@bash scripts/install_java.sh || echo "WARNING: no Java 17+: the Spark engine (engine: spark) and its tests need it"
	$(BIN)/uv pip install --python $(BIN)/python -q --compile-bytecode --require-hashes \
		-r requirements.txt -r requirements-local.txt -r requirements-dev.txt -r requirements-spark.txt
	@touch $(DEV_STAMP)

install: $(DEV_STAMP)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/config_reference.py --check

test: $(DEV_STAMP)
	bash scripts/run_tests.sh

demo: $(STAMP)
	bash scripts/demo.sh

demo-teardown: $(STAMP)
	bash scripts/demo.sh teardown

stack-up: $(STAMP)
	$(BIN)/python -m personalize_local stack up --dir $(STACK_DIR)

stack-down:
	$(BIN)/python -m personalize_local stack down --dir $(STACK_DIR)

# The Airflow UI on this machine, no Docker: local stack, sample data, api-server, scheduler, dag-processor and
# triggerer (LocalExecutor, SQLite) on 127.0.0.1:$(PORT); state, pid files and logs in $(AIRFLOW_LOCAL_DIR).
airflow: $(STAMP)
	$(BIN)/python scripts/airflow_local.py up --dir $(AIRFLOW_LOCAL_DIR) --port $(PORT)

airflow-stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python scripts/airflow_local.py down --dir $(AIRFLOW_LOCAL_DIR); \
	else echo "nothing was running (no $(VENV))"; fi

validate-config: $(STAMP)
	$(BIN)/python -m personalize_ops validate-config

# Mutation testing of the guard modules (gate, teardown, quality rules, filters, config, training adoption).
mutate: $(DEV_STAMP)
	$(BIN)/uv pip install --python $(BIN)/python -q --require-hashes -r requirements-mutate.txt
	$(BIN)/python scripts/mutate.py $(MUTATE_ARGS)

bench: $(DEV_STAMP)
	bash benchmarks/run_all.sh

clean: airflow-stop
	rm -rf $(VENV) .airflow .airflow-local .local-stack .pytest_cache
