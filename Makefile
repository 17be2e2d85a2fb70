# placecount: `make demo` runs a real count on the bundled example; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: all install browser test lint fix demo docs examples schemas smoke bench bench-quick clean

all: test lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

install: $(VENV)/.installed

# The HTML report's tests open it in a real browser: Debian's Chromium, installed where we can
# (as root with apt-get); elsewhere those tests are skipped and say why.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	       && { apt-get install -y -qq chromium >/dev/null 2>&1 \
	            || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; }; } \
	  || echo "no Chromium here: the browser tests will be skipped"

test: install browser
	$(PY) -m pytest

lint: install
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy
	$(PY) -m placecount.schemas --check
	$(BIN)/cog --check README.md

fix: install
	$(BIN)/ruff check --fix src tests examples
	$(BIN)/ruff format src tests examples

# Regenerate the example place's spreadsheets and the Leicester mapping wall.
examples: install
	$(PY) examples/make_examples.py
	$(BIN)/placecount flows examples/leicester/european_funding.csv \
	    --title "Leicester and Leicestershire European funding" \
	    --chart examples/leicester/mapping_wall.png > /dev/null

# Regenerate the JSON Schemas in schemas/ from the pydantic models.
schemas: install
	$(PY) -m placecount.schemas

# The example count: every command is listed once, in src/placecount/_docs.py (DEMO).
demo: install
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(PY) -m placecount._docs demo $(DEMO)

# Regenerate README's generated parts (CLI reference, issue codes, quickstart output).
docs: install
	$(BIN)/cog -r README.md

# Install without the dev tools and check the command starts.
smoke:
	rm -rf build/smoke-venv
	$(PYTHON) -m venv build/smoke-venv
	build/smoke-venv/bin/pip install --quiet .
	build/smoke-venv/bin/placecount --help > /dev/null
	build/smoke-venv/bin/placecount cofog 07 > /dev/null

# Benchmarks against the fastest bare tool for each step (under 10 minutes on 2 cores);
# writes bench/results.json. `make bench-quick` runs at 1/10 scale to try it.
bench: install
	$(PY) bench/run.py

bench-quick: install
	$(PY) bench/run.py --quick

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
