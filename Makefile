PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint fuzz fuzz-ops bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.demo: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[demo]"
	touch $@

$(VENV)/.test: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e ".[test,demo]"
	touch $@

demo: $(VENV)/.demo
	$(BIN)/gradstep train

test: $(VENV)/.test
	$(BIN)/ruff check gradstep tests bench examples
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --timeout=600

lint: $(VENV)/.test
	$(BIN)/ruff check gradstep tests bench examples

FUZZ_CASES ?= 20000

fuzz: $(VENV)/.test  # checkpoint-loading fuzzer, many more cases than `make test` runs (1500)
	GRADSTEP_FUZZ_CASES=$(FUZZ_CASES) OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest tests/serialization/test_fuzz.py -p no:randomly --timeout=0
	$(MAKE) fuzz-ops

FUZZ_OPS_CASES ?= 20000

fuzz-ops: $(VENV)/.test  # ops against torch (tests/ops/test_differential.py), `make test` runs 3000
	GRADSTEP_FUZZ_OPS_CASES=$(FUZZ_OPS_CASES) OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest tests/ops/test_differential.py -p no:randomly --timeout=0
	GRADSTEP_FUZZ_NN_CASES=$(FUZZ_OPS_CASES) OPENBLAS_NUM_THREADS=1 $(BIN)/python -m pytest tests/nn/test_functional_differential.py -p no:randomly --timeout=0

BENCH := ops layers nn_core optim data mlp cnn transformer ddp doctor

bench: $(VENV)/.test  # every bench script in turn (each prints its own table); see bench/RESULTS.md
	@for b in $(BENCH); do echo "== bench/$$b.py"; $(BIN)/python bench/$$b.py || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
