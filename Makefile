# Two commands for a fresh machine with only Python 3:  make demo  /  make test
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint typecheck browser postgresql c2pa-ts clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[web,dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

# Debian's Chromium for the browser tests (never a downloaded browser). If it cannot be
# installed here, the browser tests skip with a message saying so.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk"; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
	      || echo "note: could not install chromium; browser tests will be skipped"; \
	  else echo "note: chromium not installed (needs root + apt-get); browser tests will be skipped"; fi; }

# Debian's PostgreSQL server for the PostgreSQL repository tests (the tests start their own
# server in a temporary directory as the unprivileged `postgres` user; nothing is enabled
# system-wide). If it cannot be installed here, those tests skip with a message saying so.
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
	      || echo "note: could not install postgresql; PostgreSQL tests will be skipped"; \
	  else echo "note: postgresql not installed (needs root + apt-get); PostgreSQL tests will be skipped"; fi; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# An independent C2PA validator (npm @trustnxt/c2pa-ts, no code shared with c2pa-rs) for the
# tests that check our outputs validate outside c2pa-rs too. Skipped, with a note, without npm.
C2PA_TS := $(VENV)/c2pa-ts
c2pa-ts:
	@test -d $(C2PA_TS)/node_modules/@trustnxt/c2pa-ts || { \
	  if command -v npm >/dev/null 2>&1; then \
	    mkdir -p $(C2PA_TS) && npm install --silent --no-audit --no-fund --prefix $(C2PA_TS) @trustnxt/c2pa-ts@0.9.4 >/dev/null \
	      || echo "note: could not install @trustnxt/c2pa-ts; its tests will be skipped"; \
	  else echo "note: npm not found; the c2pa-ts validator tests will be skipped"; fi; }

test: $(STAMP) browser postgresql c2pa-ts lint typecheck
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) test-artifacts demo-out bench/out .mypy_cache .ruff_cache .pytest_cache
