# Two commands set everything up on a fresh machine:
#   make run   - install, set up the models, open the app on the fraud sample
#   make test  - install, set up the models, lint, and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint models bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# fetches both tiers' models once (Fast 0.5B, Accurate 1.5B), then only re-verifies their
# sha256 (remembered by path, size, mtime)
models: $(STAMP)
	$(BIN)/fastsheet models pull qwen2.5-coder-0.5b
	$(BIN)/fastsheet models pull qwen2.5-coder-1.5b

run: models
	$(BIN)/fastsheet open resources/samples/fraud.fastsheet

lint: $(STAMP)
	$(BIN)/ruff check fastsheet ui tests bench resources
	$(BIN)/ruff format --check fastsheet ui tests bench resources
	$(BIN)/lint-imports

test: models lint
	QT_QPA_PLATFORM=offscreen $(BIN)/pytest

bench: models
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
