# The two commands of the README. Only python3 (>= 3.11) and make are needed on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench fuzz clean

N ?= 10000

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/osteoreg demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# The long fuzz run (the suite runs 250 inputs of the same generator): N seeded broken inputs of
# every format through ingest, with the invariants checked and the figures printed.
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz.run --n $(N)

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) warehouse demo_warehouse .pytest_cache
