# restosync — the two README commands are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
LOCK   := requirements.lock

.PHONY: install lock run test test-fast conformance chaos lint bench bench-agents bench-ingest bench-orders migrate wheel image clean

# Create the virtualenv and install the project with its dev tools at the versions of requirements.lock
# (again whenever pyproject.toml or the lock changes). No build isolation: the build backend comes from
# the lock too, so nothing unpinned is fetched.
$(STAMP): pyproject.toml $(LOCK)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) pip setuptools wheel
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(LOCK) --no-build-isolation -e '.[dev]'
	@touch $(STAMP)

# Upgrade on purpose: the newest versions pyproject.toml's ranges allow today, written to requirements.lock.
# Then run `make test` (and `make bench`) before committing the new lock.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	.venv-lock/bin/python -m pip install --quiet '.[dev]'
	{ sed -n '/^#/p' $(LOCK); .venv-lock/bin/python -m pip freeze --all --exclude-editable \
	  | grep -v '^restosync[ =]' | sort -f; } > $(LOCK).new
	mv $(LOCK).new $(LOCK)
	rm -rf .venv-lock build

install: $(STAMP)

migrate: $(STAMP)
	$(BIN)/restosync migrate

# Migrate, then API + worker + scheduler together; Ctrl-C stops them all.
run: $(STAMP)
	$(BIN)/restosync run

# Every test, against the real PostgreSQL and Redis (each run in databases and key spaces of its own).
# Fails when line coverage drops below COVERAGE_FLOOR % overall or CORE_COVERAGE_FLOOR % for the core
# (set both to 0 when PYTEST_ARGS picks a few tests).
COVERAGE_FLOOR      ?= 94
CORE_COVERAGE_FLOOR ?= 95
test: $(STAMP)
	$(BIN)/python -m pytest --cov=restosync_core --cov=restosync_adapters --cov=restosync_http \
	  --cov=restosync_worker --cov=restosync_cli --cov-report=term:skip-covered \
	  --cov-fail-under=$(COVERAGE_FLOOR) $(PYTEST_ARGS)
	@core=$$($(BIN)/coverage report --include='restosync_core/*' --format=total) && \
	  echo "core line coverage: $$core % (floor $(CORE_COVERAGE_FLOOR) %)" && \
	  [ "$$core" -ge "$(CORE_COVERAGE_FLOOR)" ] || { echo "core line coverage is below $(CORE_COVERAGE_FLOOR) %" >&2; exit 1; }

# Unit tests only: no PostgreSQL, no Redis.
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# A longer, randomised schemathesis run than the one in `make test` (every check, every operation, admin key,
# agent token and no credentials), against the real app over PostgreSQL and Redis. Its report prints the seed:
# CONFORMANCE_SEED=<seed> make conformance replays it.
CONFORMANCE_EXAMPLES ?= 100
conformance: $(STAMP)
	CONFORMANCE_RANDOM=1 CONFORMANCE_MAX_EXAMPLES=$(CONFORMANCE_EXAMPLES) \
	  $(BIN)/python -m pytest tests/conformance -p no:cacheprovider $(PYTEST_ARGS)

# The fault-injection suite (docs/reliability.md): the whole system under traffic while Redis, PostgreSQL,
# workers and agents fail; one line of counts per scenario, exit 1 when a count is wrong (about 10 minutes).
# `make chaos SCENARIOS="R1 R3"` runs some of them. Not part of `make test` (its smoke version is).
SCENARIOS ?=
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos $(SCENARIOS)

# Python (ruff, mypy, import contracts), then the Dockerfile (hadolint), the CI workflow (actionlint and its
# schema) and the compose file (its schema; and `docker compose config` where the compose plugin exists).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/hadolint Dockerfile
	@if [ -x $(BIN)/actionlint ]; then echo "$(BIN)/actionlint"; $(BIN)/actionlint; \
	  else echo "lint: SKIPPED actionlint: not installed here (its wheel is Linux x86-64 only); the workflow is checked against its schema only"; fi
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	@if docker compose version >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && cp docker-compose.yml $$tmp/ && cp .env.example $$tmp/.env && \
	  echo "docker compose config" && RESTOSYNC_TAG=lint POSTGRES_PASSWORD=lint docker compose -f $$tmp/docker-compose.yml config --quiet; \
	  status=$$?; rm -rf $$tmp; exit $$status; \
	  else echo "lint: SKIPPED docker compose config: no compose plugin here; docker-compose.yml checked against the compose schema only"; fi

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-agents bench-ingest bench-orders: $(STAMP)
	$(BIN)/python -m bench $(@:bench-%=%)

# The wheel (dist/restosync-*.whl): what the image installs; `pip install` it anywhere for a `restosync` command.
wheel: $(STAMP)
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation -w dist .

# The image, tagged with the commit (needs a Docker engine; CI builds and pushes it).
COMMIT = $(shell git rev-parse HEAD)
image:
	docker build --build-arg GIT_COMMIT=$(COMMIT) -t restosync:$(COMMIT) .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage dist build
