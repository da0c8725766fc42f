# The everyday commands. `make run` and `make test` are the README's two commands.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint migrations-check messages worker beat bench faults faults-fast clean install

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(INSTALLED)

install: $(INSTALLED)

## Set up and run the platform on http://127.0.0.1:8000 with the demo accounts.
run: $(INSTALLED)
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

## Set up and run the whole test suite (DATABASE_URL=postgres://… to run it on PostgreSQL).
test: $(INSTALLED)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: $(INSTALLED)
	$(BIN)/python manage.py makemigrations --check --dry-run

## Extract and compile the translations (edit locale/fr/LC_MESSAGES/django.po in between).
messages: $(INSTALLED)
	$(BIN)/python manage.py makemessages --locale fr --no-obsolete --ignore ".venv/*" --ignore "tests/*"
	$(BIN)/python manage.py compilemessages --locale fr --ignore ".venv/*"

## Speed figures: text engine, live preview, imports and, with BENCH_DATABASE_URL on
## PostgreSQL, a 1,000,000-recipient campaign, Kannel, and the inbound webhook under
## gunicorn driven by wrk (apt-get install wrk). Prints figures, asserts no timing.
bench: $(INSTALLED)
	$(BIN)/python bench/text_preview.py
	$(BIN)/python bench/contact_import.py
	@if [ -n "$$BENCH_DATABASE_URL" ]; then $(BIN)/python bench/campaign_dispatch.py && \
	$(BIN)/python bench/inbound_load.py; \
	else echo "campaign and inbound benches skipped: set BENCH_DATABASE_URL=postgres://... to run them"; fi

## Fault injection (faults/): workers killed, Redis and PostgreSQL restarted, duplicates,
## forged signatures; prints lost / duplicated / double-debited counts and recovery times.
## Needs PostgreSQL and Redis (FAULTS_DATABASE_URL, FAULTS_REDIS_URL); CI runs the fast ones.
faults: $(INSTALLED)
	$(BIN)/python -m faults

faults-fast: $(INSTALLED)
	$(BIN)/python -m faults --fast

worker: $(INSTALLED)
	$(BIN)/celery -A smsplatform worker --loglevel INFO --queues sms

beat: $(INSTALLED)
	$(BIN)/celery -A smsplatform beat --loglevel INFO

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
