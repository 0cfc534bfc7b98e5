# Two commands for users: `make start` (build, demo sites, run) and `make test` (build, run all tests).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
TEST_ARGS ?=

.PHONY: start test lint i18n docs bench system-packages clean

# Python packages: one pinned resolution (constraints.txt) into a virtualenv.
$(VENV)/.installed: setup.py constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -c constraints.txt pip setuptools wheel
	$(VENV)/bin/pip install -q -c constraints.txt -e ".[test,docs]" Plone zc.buildout plone.recipe.zope2instance plone.recipe.zeoserver zc.recipe.testrunner
	touch $@

# buildout's pins are generated from constraints.txt, the one list of pins.
versions.cfg: constraints.txt scripts/pins.py
	$(PYTHON) scripts/pins.py

# buildout writes the instance and the test runner from the packages already installed.
bin/instance: $(VENV)/.installed buildout.cfg versions.cfg
	$(VENV)/bin/buildout -N
	touch $@

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
system-packages:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y --no-install-recommends chromium; }

start: bin/instance
	mkdir -p var/filestorage var/blobstorage
	bin/instance run scripts/setup_demo.py
	bin/instance fg

# Lint: ruff (rules and format, pyproject.toml) and the import layers (import-linter).
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/lint-imports

# Translations (as Plone add-ons keep them): i18ndude extracts every message of the code and the
# templates into the .pot, adds new ones to each language's .po, and the .mo files Zope reads are
# compiled from the .po files (tests/test_i18n.py fails when any of them is not current).
LOCALES := src/senaite_style_sync/locales
LANGUAGES := es de

i18n: $(VENV)/.installed
	$(VENV)/bin/i18ndude rebuild-pot --pot $(LOCALES)/senaite_style_sync.pot --create senaite_style_sync src/senaite_style_sync
	for lang in $(LANGUAGES); do \
		$(VENV)/bin/i18ndude sync --pot $(LOCALES)/senaite_style_sync.pot $(LOCALES)/$$lang/LC_MESSAGES/senaite_style_sync.po; \
	done
	$(VENV)/bin/python scripts/compile_mo.py

# The documentation as HTML in docs/_build/html; any Sphinx warning fails the build.
docs: $(VENV)/.installed
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html

test: bin/instance system-packages lint docs
	set -o pipefail; mkdir -p var; bin/test $(TEST_ARGS) 2>&1 | tee var/test.log
	@awk -f scripts/test_summary.awk var/test.log

# Benchmark, not part of `make test`: Fetch + Import and Get Updates over real HTTP, beside
# plone.exportimport and a plain create loop; then (h) and (f) between two instances as deployed,
# at 1,000 and BENCH_LARGE objects. `make bench BENCH_OBJECTS=100 BENCH_LARGE=0` for a quick run.
# Prints a table and rewrites docs/benchmarks.rst.
BENCH_OBJECTS ?= 1000
BENCH_LARGE ?= 10000

bench: bin/instance
	set -o pipefail; mkdir -p var; BENCH_OBJECTS=$(BENCH_OBJECTS) BENCH_LARGE=$(BENCH_LARGE) bin/test --tests-pattern '^benchmarks$$' --test-file-pattern '^bench' -t bench 2>&1 | tee var/bench.log

clean:
	rm -rf $(VENV) bin parts develop-eggs eggs .installed.cfg
