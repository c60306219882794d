# Dodam — `make run` runs the bot (the local sandbox without a token), `make test` runs the tests.
# Both set up what they need on a fresh machine: virtualenv, install, catalogs, database.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LANGS := ko en zh_Hans vi tl
MO := $(foreach l,$(LANGS),locales/$(l)/LC_MESSAGES/messages.mo)

.PHONY: setup run test test-slow lint i18n bench migrate sandbox clean

setup: $(STAMP) $(MO) migrate

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Dodam needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d locales -l $* -i $< -o $@

migrate: $(STAMP)
	$(BIN)/dodam migrate

run: setup
	$(BIN)/dodam run

sandbox: setup
	$(BIN)/dodam sandbox

test: $(STAMP) $(MO)
	$(BIN)/pytest -q -m "not slow"

test-slow: $(STAMP) $(MO)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Extract every user-facing string, merge into each language's catalog, compile.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k plural:1,2 -k N_ --no-default-keywords \
	    --add-comments=TRANSLATORS: --project=Dodam --copyright-holder=Dodam -o locales/messages.pot .
	$(BIN)/pybabel update -d locales -i locales/messages.pot --no-fuzzy-matching
	$(BIN)/pybabel compile -d locales --statistics

bench: setup
	$(BIN)/python bench/updates.py

clean:
	rm -rf $(VENV) var $(MO)
