# Two commands set everything up on a fresh machine:
#   make run   - install, set up the models, open the app on the fraud sample
#   make test  - install, set up the models, lint, and run the tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint models bench clean install-desktop uninstall-desktop

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

# a launcher entry and icon for this checkout (Linux, XDG); undo with uninstall-desktop
DATA_HOME ?= $(or $(XDG_DATA_HOME),$(HOME)/.local/share)
install-desktop: $(STAMP)
	mkdir -p $(DATA_HOME)/applications $(DATA_HOME)/icons/hicolor/scalable/apps $(DATA_HOME)/icons/hicolor/256x256/apps
	sed 's|@BIN@|$(abspath $(BIN))|' resources/fastsheet.desktop.in > $(DATA_HOME)/applications/fastsheet.desktop
	cp resources/fastsheet.svg $(DATA_HOME)/icons/hicolor/scalable/apps/fastsheet.svg
	cp resources/fastsheet.png $(DATA_HOME)/icons/hicolor/256x256/apps/fastsheet.png
	if command -v update-desktop-database >/dev/null; then update-desktop-database $(DATA_HOME)/applications; fi
	@echo "installed $(DATA_HOME)/applications/fastsheet.desktop"

uninstall-desktop:
	rm -f $(DATA_HOME)/applications/fastsheet.desktop $(DATA_HOME)/icons/hicolor/scalable/apps/fastsheet.svg $(DATA_HOME)/icons/hicolor/256x256/apps/fastsheet.png

clean:
	rm -rf $(VENV) .pytest_cache
