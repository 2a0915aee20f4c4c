# `make run` and `make test` are all a fresh machine needs (see README).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
PO     := portal/translations/vi/LC_MESSAGES/messages.po
MO     := $(PO:.po=.mo)

.PHONY: run test install install-test system-libs translations extract-messages bench audit lock clean

# WeasyPrint's native libraries (HarfBuzz subsetting makes PDFs about 5x faster). On Debian, when
# one is missing and we run as root, apt-get installs it; otherwise say what to install.
SYSTEM_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core

# The address printed with the demo logins and on credentials sheets.
run: export PORTAL_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: system-libs install $(MO)
	$(BIN)/portal init-db
	$(BIN)/portal demo --if-empty
	$(BIN)/portal serve --bind $(HOST):$(PORT)

test: install-test $(MO)
	$(BIN)/pytest $(PYTEST_ARGS)

system-libs:
	@command -v dpkg-query >/dev/null || exit 0; \
	missing=$$(for p in $(SYSTEM_LIBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	else echo "Thiếu thư viện hệ thống (cài bằng apt-get): $$missing"; fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# constraints.txt pins every package to the tested release (reproducible installs); `make lock` rewrites it.
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e .
	touch $@

install-test: $(VENV)/.installed-test
$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -q -c constraints.txt -e '.[test]'
	touch $(VENV)/.installed $@

# Known vulnerabilities (PyPI's advisory data) in the pinned set; fails when one is found.
audit: | $(BIN)/python
	@[ $(VENV)/.installed-audit -nt constraints.txt ] || { $(BIN)/pip install -q -c constraints.txt -e '.[audit]' && touch $(VENV)/.installed-audit; }
	$(BIN)/pip-audit -r constraints.txt --no-deps --disable-pip --progress-spinner off

lock: | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench,audit]'
	$(BIN)/pip freeze --exclude-editable > constraints.txt

translations: $(MO)
$(MO): $(PO) | $(VENV)/.installed
	$(BIN)/pybabel compile -f -d portal/translations -D messages

# Collect new msgids from code and templates into the Vietnamese catalogue.
extract-messages: install
	$(BIN)/pybabel extract -F portal/translations/babel.cfg -k _l -k lazy_gettext -o portal/translations/messages.pot --no-location --sort-output .
	$(BIN)/pybabel update -i portal/translations/messages.pot -d portal/translations -l vi --no-fuzzy-matching --ignore-obsolete

# Installs the bench extra (Locust) first; BENCH="contest-day baseline" runs some; see bench/load/runner.py.
bench: install-test $(MO)
	@[ $(VENV)/.installed-bench -nt pyproject.toml ] || { $(BIN)/pip install -q -c constraints.txt -e '.[test,bench]' && touch $(VENV)/.installed-bench; }
	$(BIN)/python -m bench $(BENCH)

clean:
	rm -rf $(VENV) build *.egg-info
