# Dodam — `make run` runs the bot (the local sandbox without a token), `make test` runs the tests.
# Both set up what they need on a fresh machine: virtualenv, install, catalogs, database.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LANGS := ko en zh_Hans vi tl
MO := $(foreach l,$(LANGS),locales/$(l)/LC_MESSAGES/messages.mo)

RASA_VENV := .venv-rasa
RASA_STAMP := $(RASA_VENV)/.installed
# Rasa 3.6 needs Python 3.10: from pyenv's versions or PATH, the first that really runs (a pyenv shim for
# a version that is not activated exists on PATH but fails).
PY310 ?= $(shell for p in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10*/bin/python3.10 $$(command -v python3.10); do \
	"$$p" -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: setup run test test-dates test-slow lint i18n bench migrate sandbox clean nlu-setup nlu-train nlu-evaluate

setup: $(STAMP) $(MO) migrate nlu-train

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Dodam needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d locales -l $* -i $< -o $@

$(RASA_STAMP): nlu/requirements-rasa.txt
	@test -n "$(PY310)" || { echo "Dodam's NLU (Rasa 3.6) needs Python 3.10, and none was found on PATH or in pyenv (pyenv install 3.10)."; exit 1; }
	test -x $(RASA_VENV)/bin/python || $(PY310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet -r nlu/requirements-rasa.txt
	touch $@

nlu-setup: $(RASA_STAMP)

# Trains only when nlu/rasa/ changed (the model's name carries a hash of its data and config).
nlu-train: $(STAMP) $(RASA_STAMP)
	$(BIN)/dodam nlu train

nlu-evaluate: nlu-train
	$(BIN)/dodam nlu evaluate

migrate: $(STAMP)
	$(BIN)/dodam migrate

run: setup
	$(BIN)/dodam run

sandbox: setup
	$(BIN)/dodam sandbox

test: $(STAMP) $(MO) nlu-train
	$(BIN)/pytest -q -m "not slow"

# The suite with the test day and every Python process's clock moved (tests/clock.py): nothing may depend
# on the calendar. `make test-dates DAYS="2026-12-31 2028-02-29"`.
DAYS ?= 2026-12-31 2027-02-08 2028-02-29 2028-12-04
test-dates: $(STAMP) $(MO) nlu-train
	@for day in $(DAYS); do echo "== test day $$day"; DODAM_TEST_DAY=$$day $(BIN)/pytest -q -m "not slow" || exit 1; done

test-slow: $(STAMP) $(MO)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Extract every user-facing string, merge into each language's catalog, compile.
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k t -k mt -k plural:1,2 -k N_ --no-default-keywords \
	    --add-comments=TRANSLATORS: --project=Dodam --copyright-holder=Dodam -o locales/messages.pot .
	$(BIN)/pybabel update -d locales -i locales/messages.pot --no-fuzzy-matching
	$(BIN)/pybabel compile -d locales --statistics

bench: setup
	$(BIN)/python bench/updates.py
	$(BIN)/python bench/planning.py
	$(BIN)/python bench/dispatch.py
	if [ -f bench/safety.py ]; then $(BIN)/python bench/safety.py; fi

clean:
	rm -rf $(VENV) $(RASA_VENV) var $(MO)
