# Deskchat: `make run` starts the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# GNU env blocks SIGTERM/SIGINT until the app's handlers take over, so a stop during Python's
# own start-up is a clean stop too (docs/architecture.md, "How stopping works"); BSD env (macOS)
# has no --block-signal, and there the app starts without it.
STOP_SAFE := $(shell env --block-signal=TERM,INT true >/dev/null 2>&1 && echo env --block-signal=TERM,INT)

.PHONY: run headless test lint bench package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,scale,package,gtk]'
	touch $(STAMP)

run: $(STAMP)
	$(STOP_SAFE) $(BIN)/python -m desktop $(ARGS)

headless: $(STAMP)
	$(STOP_SAFE) $(BIN)/python -m desktop --headless $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

package: $(STAMP)
	$(BIN)/python build/package.py $(ARGS)

clean:
	rm -rf $(VENV) dist .pyinstaller .pytest_cache .ruff_cache
