# Deskchat: `make run` starts the app, `make test` runs every test. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run headless test lint bench package clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,scale,package,gtk]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python -m desktop $(ARGS)

headless: $(STAMP)
	$(BIN)/python -m desktop --headless $(ARGS)

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
