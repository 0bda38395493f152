# restosync — the two README commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test test-fast lint bench bench-agents bench-ingest bench-orders migrate clean

# Create the virtualenv and install the project with its dev tools, again whenever pyproject changes.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/restosync migrate

# Migrate, then API + worker + scheduler together; Ctrl-C stops them all.
run: $(STAMP)
	$(BIN)/restosync run

# Every test, against the real PostgreSQL and Redis (each run in databases and key spaces of its own).
test: $(STAMP)
	$(BIN)/python -m pytest --cov=restosync_core --cov=restosync_adapters --cov=restosync_http --cov=restosync_worker --cov-report=term:skip-covered $(PYTEST_ARGS)

# Unit tests only: no PostgreSQL, no Redis.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-agents bench-ingest bench-orders: $(STAMP)
	$(BIN)/python -m bench $(@:bench-%=%)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage
