# The two front-door commands are `make demo` and `make test`; both set up .venv when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format bench setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,learned]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/stereo-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.encode_speed --out out/bench/encode_speed.json
	$(BIN)/python -m benchmarks.cli_roundtrip --out out/bench/cli_roundtrip.json
	$(BIN)/python -m benchmarks.decode_devices --ensembles 1 8 --out out/bench/decode_devices.json
	$(BIN)/python -m benchmarks.decode_throughput --device cpu --batches 1 4 --ensembles 1 \
		--pairs 8 --out out/bench/decode_throughput.json
	$(BIN)/python -m benchmarks.pipeline_load --device cpu --rates 0.5 1 2 --rigs 1 \
		--out out/bench/pipeline_load.json

clean:
	rm -rf $(VENV) build *.egg-info
