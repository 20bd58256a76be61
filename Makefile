# Two entry points: `make demo` and `make test`. Both create .venv and install what they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/trial demo --out demo-output

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -n 2

lint: $(STAMP)
	$(BIN)/ruff check .

BENCHMARKS := $(filter-out benchmarks/large_trial.py,$(wildcard benchmarks/*.py))

# Quick sizes (--small); run a script without --small for the figures of record.
bench: $(STAMP)
	for b in $(BENCHMARKS); do echo "== $$b"; $(BIN)/python $$b --small || exit 1; done

clean:
	rm -rf $(VENV) demo-output
