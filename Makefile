# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run demo test lint bench check-routines clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the dependency list changed.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot

# The real bot against a local Bot API double, and a page with two phones and a group.
demo: $(STAMP)
	$(BIN)/python -m bot.playground

lint: $(STAMP)
	$(BIN)/ruff check bot storage routines tests deploy
	$(BIN)/ruff format --check bot storage routines tests deploy
	$(BIN)/mypy bot storage routines deploy tests

test: lint
	$(BIN)/python -m routines check
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
