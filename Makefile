# Traccia: `make run` serves the app with demo data; `make test` runs the whole suite.
# Both set everything up first (virtualenv, packages, translations), so a fresh clone needs
# nothing else than Python 3.11+ (and, for the browser tests, Debian's chromium).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMPS := .make
HOST ?= 127.0.0.1
PORT ?= 5000
DEV_MAIL_PORT ?= 8025
PYTEST_ARGS ?=

PO_FILES := $(wildcard app/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: setup run test test-sqlite test-postgresql lint format translations i18n-update \
        migrate worker clean bench wrk

setup: $(STAMPS)/python $(STAMPS)/npm $(STAMPS)/pdf-libs translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMPS)/python: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@mkdir -p $(STAMPS) && touch $@

# WeasyPrint lays out the PDF/A annex with Pango; DejaVu is its fallback font (Titillium Web
# comes from Bootstrap Italia). From Debian, where missing (apt-get needs root).
PDF_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
$(STAMPS)/pdf-libs:
	@dpkg -s $(PDF_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(PDF_PACKAGES); }
	@mkdir -p $(STAMPS) && touch $@

# Front-end packages from npm: Bootstrap Italia is copied into static/vendor (not committed);
# axe-core stays in node_modules, where the browser tests read it.
BI := node_modules/bootstrap-italia/dist
VENDOR := static/vendor/bootstrap-italia
$(STAMPS)/npm: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/css $(VENDOR)/js $(VENDOR)/svg $(VENDOR)/fonts
	cp $(BI)/css/bootstrap-italia.min.css $(VENDOR)/css/
	cp $(BI)/js/bootstrap-italia.bundle.min.js $(VENDOR)/js/
	cp $(BI)/svg/sprites.svg $(VENDOR)/svg/
	cp -r $(BI)/fonts/Titillium_Web $(BI)/fonts/Roboto_Mono $(BI)/fonts/Lora $(VENDOR)/fonts/
	@mkdir -p $(STAMPS) && touch $@

translations: $(MO_FILES)

%.mo: %.po $(STAMPS)/python
	$(BIN)/pybabel compile --statistics -i $< -o $@

i18n-update: setup  ## extract new messages into the catalogues
	$(FLASK) i18n update

migrate: setup
	$(FLASK) db upgrade

run: migrate
	$(FLASK) demo load
	@echo
	@$(FLASK) demo logins
	@echo
	@echo "Traccia on http://$(HOST):$(PORT) — e-mail is printed below by a local SMTP"
	@echo "debugging server on port $(DEV_MAIL_PORT); the worker (rounds by the clock, then mail) sends to it."
	@echo
	@trap 'kill $$(jobs -p) 2>/dev/null' EXIT; \
	  $(BIN)/python -m aiosmtpd -n -c aiosmtpd.handlers.Debugging -l 127.0.0.1:$(DEV_MAIL_PORT) & \
	  MAIL_SERVER=127.0.0.1 MAIL_PORT=$(DEV_MAIL_PORT) $(FLASK) worker run & \
	  MAIL_SERVER=127.0.0.1 MAIL_PORT=$(DEV_MAIL_PORT) $(FLASK) run --host $(HOST) --port $(PORT)

worker: migrate
	$(FLASK) worker run

# The two databases' runs go side by side (one per core); each run's output is printed whole
# when it ends (--output-sync), so the two never interleave. TEST_JOBS=1 runs them one after
# the other.
TEST_JOBS ?= 2
test: setup
	@$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target test-sqlite test-postgresql

test-sqlite: setup
	$(BIN)/pytest --db=sqlite $(PYTEST_ARGS)

test-postgresql: setup
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  $(BIN)/pytest --db=postgresql $(PYTEST_ARGS); \
	else \
	  echo "TEST_DATABASE_URL is not set: the PostgreSQL run is skipped."; \
	fi

# make bench: the key pages under gunicorn against the ceiling, on PostgreSQL (TEST_DATABASE_URL's
# server, default the local one) and SQLite; BENCH_SCALE=large for the full figures.
BENCH_SCALE ?= small
BENCH_DATABASES ?= postgresql sqlite
BENCH_ARGS ?=
BENCH_PG ?= postgresql://postgres@127.0.0.1:5432/postgres

bench: setup wrk
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(BENCH_PG)} $(BIN)/python bench/run.py \
	  --scale $(BENCH_SCALE) $(foreach db,$(BENCH_DATABASES),--db $(db)) $(BENCH_ARGS)

# The load generator, from Debian (apt-get needs root).
wrk:
	@command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(STAMPS) $(MO_FILES) node_modules static/vendor
