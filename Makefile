# Two set-up commands work on a fresh machine: `make demo` and `make test`.
# Each creates .venv when missing and installs only when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)

.PHONY: demo test lint fmt unit install clean-var ui web-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	rm -f $(VENV)/.installed-*
	$(BIN)/python -m pip install --quiet -e '.[dev,crypto,rl,scalper]'
	touch $@

install: $(STAMP)

# promtool checks deploy/prometheus/alerts.yml in the tests: the one from PATH, else the
# binary unpacked from Debian's prometheus package (no service installed or started).
TOOLS := .tools
PROMTOOL := $(TOOLS)/promtool

$(PROMTOOL):
	mkdir -p $(TOOLS)
	if command -v promtool >/dev/null; then ln -sf "$$(command -v promtool)" $@; \
	elif command -v apt-get >/dev/null; then \
	  rm -rf $(TOOLS)/deb && mkdir -p $(TOOLS)/deb && \
	  (cd $(TOOLS)/deb && apt-get download prometheus >/dev/null 2>&1 || \
	   (apt-get update >/dev/null 2>&1 && apt-get download prometheus >/dev/null 2>&1)) && \
	  dpkg -x $(TOOLS)/deb/prometheus_*.deb $(TOOLS)/deb/x && \
	  cp $(TOOLS)/deb/x/usr/bin/promtool $@ && rm -rf $(TOOLS)/deb || \
	  echo "could not unpack promtool from Debian's prometheus package"; \
	else echo "promtool not found and no apt-get: the alert-rule tests will skip"; fi

# The browser pages: TypeScript in web/, built into src/tradeloop/api/static/ui (shipped in
# the package: users need no Node.js). `make ui` rebuilds them from package-lock.json.
WEB_STAMP := web/node_modules/.installed-$(shell sha256sum web/package-lock.json | cut -c1-16)

$(WEB_STAMP): web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web-deps: $(WEB_STAMP)

ui: $(WEB_STAMP)
	cd web && npm run build

# Chromium for the page tests: Debian's package (Playwright drives it; never `playwright
# install`, which downloads its own).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get install -y chromium >/dev/null 2>&1 || \
	  (apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1) || \
	  echo "could not install chromium: the page tests will skip"

demo: $(STAMP)
	$(BIN)/tradeloop demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/tradeloop research validate-configs --configs research/configs

unit: $(STAMP)
	$(BIN)/pytest -q -m "not slow"

# Two workers (this is a 2-core machine); each has a PostgreSQL database of its own
# (tests/conftest.py), every other shared resource is a free port or a tmp_path.
test: lint $(PROMTOOL) $(WEB_STAMP) $(CHROMIUM)
	cd web && npx tsc --noEmit && npx vitest run
	TRADELOOP_PROMTOOL=$(abspath $(PROMTOOL)) $(BIN)/pytest -q -n 2

fmt: $(STAMP)
	$(BIN)/ruff format src tests benchmarks examples
	$(BIN)/ruff check --fix src tests benchmarks examples

clean-var:
	rm -rf var
