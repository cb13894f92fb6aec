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

## benchmarks beyond `make bench` (see bench/README.md); each uses its own data directory
.PHONY: bench-upload bench-demo
bench-upload: $(STAMP)
	$(BIN)/python bench/subsidy_upload.py --rounds 2

bench-demo: $(STAMP)
	rm -rf /tmp/zj-demo-bench
	ZHENGJIAO_DATA_DIR=/tmp/zj-demo-bench $(BIN)/zhengjiao demo --persons 600000
