# Two commands: `make demo` and `make test` set everything up on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export AUTOLIST_DATA_DIR ?= $(CURDIR)/data
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
# The machine's Python 3.11; uv must never download an interpreter.
# The resolved interpreter, not a pyenv shim, so uv never sees a new path and rebuilds the venv.
ifndef UV_PYTHON
export UV_PYTHON := $(shell python3.11 -c 'import sys; print(sys.executable)' 2>/dev/null || python3 -c 'import sys; print(sys.executable)')
endif
export UV_PYTHON_DOWNLOADS := never
export DO_NOT_TRACK := 1

DEMO_DAYS ?= 14
DEMO_SERVE ?= 1
# uv may land outside PATH when pip installs it; `python3 -m uv` always finds it.
UV = $(shell command -v uv 2>/dev/null || echo python3 -m uv)
SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DBT = $(UV) run dbt

.PHONY: help setup uv sync chromium manifest dagster-home test demo screenshots clean

help:
	@echo "make demo    set up, scrape the demo marketplace, build everything, serve the Dagster UI and the app"
	@echo "             (DEMO_SERVE=0 exits after building; DEMO_DAYS=14 sets the window)"
	@echo "make test    set up and run the test suite"
	@echo "make screenshots  refresh docs/screenshots/ from the demo data (after make demo)"
	@echo "make api     serve the REST API on http://127.0.0.1:8000 (docs at /docs; after make demo)"
	@echo "make bench   run every benchmark under bench/ and rewrite the tables in bench/BENCHMARKS.md (long)"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv

# Bytecode compiled once here: machines that set PYTHONDONTWRITEBYTECODE=1 (these do) otherwise recompile
# every import in every process. Measured: a dbt invocation starts in 3.1 s instead of 4.8 s, and the
# Dagster definitions import in 2.9 s instead of 5.3 s. Later syncs only recompile what changed.
sync: uv
	$(UV) sync --frozen --compile-bytecode

chromium:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "Installing Debian chromium and chromium-driver"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver; \
	fi

# The manifest is produced here, never at import time: dagster-dbt's prepare step would call home.
manifest: sync
	$(DBT) parse --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project/parse_profile --no-partial-parse --quiet

# The project's own Dagster instance: telemetry off, one writer pool (see dagster.yaml).
dagster-home:
	@mkdir -p $(DAGSTER_HOME) && cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

setup: sync chromium manifest dagster-home

# The read-only REST API over the snapshot in AUTOLIST_DATA_DIR (docs at http://127.0.0.1:8000/docs).
.PHONY: api
api: setup
	$(UV) run python -m api --host 127.0.0.1 --port 8000

test: setup
	$(UV) run pytest

demo: setup
	$(UV) run autolist demo --days $(DEMO_DAYS) $(if $(filter 0,$(DEMO_SERVE)),--no-serve,)

# Needs the demo data (make demo DEMO_SERVE=0): one PNG per app page, then a JSON line of the figures.
screenshots: setup
	$(UV) run python -m streamlit_app.browser_check --out docs/screenshots

clean:
	rm -rf data dbt_project/target dbt_project/logs

# dbt docs of the warehouse (models, columns, tests, lineage) under dbt_project/target/docs/, served on
# http://127.0.0.1:8080 unless DOCS_SERVE=0. A folder of their own: their parse, with the real profile, would
# otherwise replace the parse state in dbt_project/target/ that new data dirs start from.
DOCS_SERVE ?= 1
DOCS_ARGS = --project-dir $(CURDIR)/dbt_project --profiles-dir $(CURDIR)/dbt_project --target-path $(CURDIR)/dbt_project/target/docs
.PHONY: docs
docs: manifest
	$(DBT) docs generate $(DOCS_ARGS) --quiet
	@echo "dbt docs generated in dbt_project/target/docs/index.html"
	$(if $(filter 0,$(DOCS_SERVE)),,@echo "Serving dbt docs on http://127.0.0.1:8080" && $(DBT) docs serve $(DOCS_ARGS) --host 127.0.0.1 --port 8080 --no-browser)

# Hostile inputs, injected faults, SIGKILL, reruns, full and read-only disks, concurrent runs: the figures of
# RELIABILITY.md, ending with one JSON line (exit 1 if crashes, rows_lost, partitions_lost or lock_errors > 0).
.PHONY: reliability
reliability: setup
	$(UV) run python -m reliability

# Every benchmark under bench/ with its own defaults (the end-to-end one at 60,000 and 1,000,000 listings); each
# one's JSON goes to bench/results/ and bench/report.py rewrites the generated tables in bench/BENCHMARKS.md.
# Long: the 1M end-to-end run alone takes many minutes. `uv run python bench/run_all.py --only e2e_60000` runs one.
.PHONY: bench
bench: setup
	$(UV) run python bench/run_all.py
