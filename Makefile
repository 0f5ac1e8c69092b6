# Every target creates .venv on first use, so a fresh clone needs nothing but Python 3.11+.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP  := $(VENV)/.installed
# What `make run` needs: bastion and the example with their runtime dependencies only.
RUN_STAMP := $(VENV)/.installed-run

export HOST PORT

.PHONY: help install run test lint format typecheck pytest docs bench build clean

help:  ## Show the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The pip that comes with Python 3.11+ installs editable pyproject packages: upgrading it
# first would only slow down the first `make run`.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml examples/notes/pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]' -e examples/notes
	@touch $(STAMP) $(RUN_STAMP)

$(RUN_STAMP): $(BIN)/python pyproject.toml examples/notes/pyproject.toml
	$(BIN)/python -m pip install --quiet -e . -e examples/notes
	@touch $(RUN_STAMP)

install: $(STAMP)  ## Create .venv and install bastion, the example and the dev tools.

# The example's pyproject.toml names its migrations ([tool.bastion]), so `bastion db`
# finds them from its directory.
run: $(RUN_STAMP)  ## Migrate, then serve examples/notes on HOST:PORT (SQLite unless BASTION_DATABASE_URL is set).
	cd examples/notes && export BASTION_ENVIRONMENT=$${BASTION_ENVIRONMENT:-development} && \
		../../$(BIN)/bastion db upgrade && \
		../../$(BIN)/python -m notes_app

lint: $(STAMP)  ## ruff check, ruff format --check, mypy --strict.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest: $(STAMP)  ## pytest with branch coverage (fails under 85%).
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered --cov-fail-under=85 $(PYTEST_ARGS)

test: lint pytest  ## The full check: lint, types, tests with coverage.

format: $(STAMP)  ## Apply ruff's fixes and formatting.
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

docs: $(STAMP)  ## Build the documentation (mkdocs --strict).
	$(BIN)/mkdocs build --strict

bench: $(STAMP)  ## Run the benchmarks in bench/ (BENCH=name to pick some; BENCH_MODE=full for longer HTTP runs).
	$(BIN)/python -m bench $(BENCH)

build: $(STAMP)  ## Build the sdist and wheel into dist/.
	$(BIN)/python -m build --outdir dist .

clean:  ## Remove the virtualenv and build artefacts.
	rm -rf $(VENV) dist build site .coverage .mypy_cache .pytest_cache .ruff_cache
