# placecount: `make demo` runs a real count on the bundled example; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEMO := build/demo

.PHONY: all install test lint fix demo examples schemas smoke bench clean

all: test lint

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e . --group dev
	touch $@

install: $(VENV)/.installed

test: install
	$(PY) -m pytest

lint: install
	$(BIN)/ruff check src tests examples
	$(BIN)/ruff format --check src tests examples
	$(BIN)/mypy
	$(PY) -m placecount.schemas --check

fix: install
	$(BIN)/ruff check --fix src tests examples
	$(BIN)/ruff format src tests examples

# Regenerate the example place's spreadsheets from examples/make_examples.py.
examples: install
	$(PY) examples/make_examples.py

# Regenerate the JSON Schemas in schemas/ from the pydantic models.
schemas: install
	$(PY) -m placecount.schemas

demo: install
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cd $(DEMO) && ../../$(BIN)/placecount init --place Exampleshire --year 2008-09 --population 512300 --area-code E10000099
	cd $(DEMO) && ../../$(BIN)/placecount ingest council ../../examples/exampleshire/county_council_outturn_2008-09.xlsx --org "Exampleshire County Council"
	cd $(DEMO) && ../../$(BIN)/placecount ingest council ../../examples/exampleshire/riverton_district_outturn_2008-09.csv --org "Riverton District Council"
	cd $(DEMO) && ../../$(BIN)/placecount ingest nhs ../../examples/exampleshire/nhs_exampleshire_2008-09.xlsx
	cd $(DEMO) && ../../$(BIN)/placecount ingest police ../../examples/exampleshire/police_authority_poa_2008-09.xlsx --org "Exampleshire Police Authority"
	cd $(DEMO) && ../../$(BIN)/placecount ingest pesa ../../examples/exampleshire/pesa_cra_regional_2008-09.xlsx --region "East Midlands" --place-population 512300 --region-population 4400000
	cd $(DEMO) && ../../$(BIN)/placecount ingest ndpb ../../examples/exampleshire/ndpb_spending_2008-09.xlsx --org "NDPBs in Exampleshire"
	cd $(DEMO) && ../../$(BIN)/placecount report

# Install without the dev tools and check the command starts.
smoke:
	rm -rf build/smoke-venv
	$(PYTHON) -m venv build/smoke-venv
	build/smoke-venv/bin/pip install --quiet .
	build/smoke-venv/bin/placecount --help > /dev/null
	build/smoke-venv/bin/placecount cofog 07 > /dev/null

clean:
	rm -rf build $(VENV) .pytest_cache .mypy_cache .ruff_cache
