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

# Every bench's --quick form, all of them whatever fails; a summary, and a non-zero exit if any failed.
bench-quick: $(VENV)/.installed
	$(BIN)/python tools/bench_quick.py
