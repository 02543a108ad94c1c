# The two commands of the README: `make demo` runs the main job, `make test` runs the tests.
# Each sets up .venv first if needed (tools/setup-venv).

VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench-quick

$(VENV)/.installed: pyproject.toml tools/setup-venv
	tools/setup-venv

demo: $(VENV)/.installed
	$(BIN)/gorila-sim demo --overwrite

test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench-quick: $(VENV)/.installed
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script --quick || exit 1; done
