# Front door triage. `make run` serves the service with demo data; `make test` runs the whole suite.
# Both set up everything they need on a fresh machine (venv, packages, front-end assets, browser).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
FLASK := $(VENV)/bin/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
VENDOR := triage/static/vendor

.PHONY: run test test-sqlite test-postgres install assets browser pdf-libs pgtools db demo model lint bench bench-scale clean help

help:
	@echo "make run    set up and serve http://127.0.0.1:8000 on SQLite with the bundled model and demo data"
	@echo "make test   set up and run the whole suite on SQLite, then on PostgreSQL if one is reachable"
	@echo "make model  regenerate the synthetic data, retrain and re-evaluate the bundled model"
	@echo "make lint   ruff and the import-linter layering contract (pyproject.toml)"

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Front-end packages from the npm registry, copied into triage/static/vendor (git-ignored).
# --ignore-scripts: no install-time scripts run (one dependency would otherwise phone home).
$(VENDOR)/.built: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/swagger-ui $(VENDOR)/govuk $(VENDOR)/axe
	cp node_modules/swagger-ui-dist/swagger-ui-bundle.js node_modules/swagger-ui-dist/swagger-ui.css \
	   node_modules/swagger-ui-dist/swagger-ui-standalone-preset.js $(VENDOR)/swagger-ui/
	cp -r node_modules/govuk-frontend/dist/govuk/assets $(VENDOR)/govuk/
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css \
	   node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js $(VENDOR)/govuk/
	cp node_modules/axe-core/axe.min.js $(VENDOR)/axe/
	touch $@

assets: $(VENDOR)/.built

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Debian's Pango for WeasyPrint, which draws the improvement board pack's PDF (no browser involved).
pdf-libs:
	@{ ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0.so.0' && ldconfig -p | grep -q 'libharfbuzz-subset.so.0'; } || { \
	  echo "installing Debian's Pango libraries for the board pack PDF (WeasyPrint)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation >/dev/null; }

# PostgreSQL's client tools (pg_dump, pg_restore) for `triage backup` and `triage restore` on PostgreSQL.
pgtools:
	@command -v pg_dump >/dev/null 2>&1 && command -v pg_restore >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql-client for backup and restore"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql-client >/dev/null; }

db: install pdf-libs
	$(FLASK) triage init-db

demo: db
	$(FLASK) triage seed-demo

run: install assets demo
	$(VENV)/bin/gunicorn -c config/gunicorn.conf.py wsgi:app

test: install assets browser pdf-libs pgtools lint test-sqlite test-postgres

test-sqlite:
	@echo "== test suite on SQLite"
	TRIAGE_ENV=test $(PY) -m pytest -q

test-postgres:
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)'.replace('+psycopg',''), connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== test suite on PostgreSQL ($(PG_TEST_URL))"; \
	  TRIAGE_ENV=test TRIAGE_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -q; \
	else \
	  echo "== SKIPPED the PostgreSQL run: no server answered at $(PG_TEST_URL) (set PG_TEST_URL to point at one)"; \
	fi

# ruff, then the layering (docs/architecture.md): engine imports no Flask or database, api and web
# never import each other, nothing imports upward. Both run first in `make test`.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: install
	$(PY) benchmarks/bench_scoring.py

bench-scale: install  ## stores loaded by seed-volume, issue 19's operations, pages and intake timed (BENCH_SIZES, BENCH_DATABASES, BENCH_PG_URL)
	$(PY) benchmarks/bench_scale.py

# Regenerate the synthetic data (training/data/, git-ignored), retrain and re-evaluate the two-stage
# model in models/synthetic-2026.3 (fixed seed: same data, same figures; models/CURRENT untouched).
# A few minutes on 2 idle cores. The served features-v1 model: python -m training train-v1 / evaluate-v1.
model: install
	$(PY) -m training generate
	$(PY) -m training train
	$(PY) -m training evaluate

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance .pytest_cache
