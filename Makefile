# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install schema bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: embedded PostgreSQL, migrations, the demo county, GraphQL on :8000
run: $(STAMP)
	$(BIN)/zhengjiao demo --if-empty
	$(BIN)/zhengjiao serve --host 127.0.0.1 --port 8000

## make test: the whole suite against a real PostgreSQL
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

schema: $(STAMP)
	$(BIN)/zhengjiao export-schema > schema.graphql

bench: $(STAMP)
	$(BIN)/python bench/persons_query.py

clean:
	rm -rf $(VENV) .zhengjiao .zhengjiao-test
