# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# pytest-xdist workers for `make test` (each has its own database: tests/conftest.py)
WORKERS ?= 2

.PHONY: run test check install schema lock bench clean

# Installs exactly the versions (and hashes) of requirements.lock, then the project itself.
$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## make run: embedded PostgreSQL, migrations, the demo county, GraphQL on :8000
run: $(STAMP)
	$(BIN)/zhengjiao demo --if-empty
	$(BIN)/zhengjiao serve --host 127.0.0.1 --port 8000

## make test: the whole suite against a real PostgreSQL (and a real PgBouncer: scripts/ops-tools.sh)
test: $(STAMP)
	bash scripts/ops-tools.sh
	$(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

## make check: lint (ruff) and types (mypy, strict on the pure rules)
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/zhengjiao export-schema > schema.graphql

## make lock: refresh requirements.lock from pyproject.toml (then commit both)
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --extra test --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/persons_query.py

clean:
	rm -rf $(VENV) .zhengjiao .zhengjiao-test*

## benchmarks beyond `make bench` (see bench/README.md); each uses its own data directory
.PHONY: bench-upload bench-demo
bench-upload: $(STAMP)
	$(BIN)/python bench/subsidy_upload.py --rounds 2

bench-demo: $(STAMP)
	rm -rf /tmp/zj-demo-bench
	ZHENGJIAO_DATA_DIR=/tmp/zj-demo-bench $(BIN)/zhengjiao demo --persons 600000
