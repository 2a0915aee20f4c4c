# `make run` and `make test` are all a fresh machine needs (see README).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PO     := portal/translations/vi/LC_MESSAGES/messages.po
MO     := $(PO:.po=.mo)

.PHONY: run test install install-test translations extract-messages bench clean

# The address printed with the demo logins and on credentials sheets.
run: export PORTAL_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: install $(MO)
	$(BIN)/portal init-db
	$(BIN)/portal demo --if-empty
	$(BIN)/portal serve --bind $(HOST):$(PORT)

test: install-test $(MO)
	$(BIN)/pytest $(PYTEST_ARGS)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

install-test: $(VENV)/.installed-test
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $(VENV)/.installed $@

translations: $(MO)
$(MO): $(PO) | $(VENV)/.installed
	$(BIN)/pybabel compile -f -d portal/translations -D messages

# Collect new msgids from code and templates into the Vietnamese catalogue.
extract-messages: install
	$(BIN)/pybabel extract -F portal/translations/babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l vi --no-fuzzy-matching --ignore-obsolete

bench: install-test $(MO)
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) build *.egg-info
