# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench verify clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	touch $(STAMP)

# The TUI on a bundled lesson when a terminal is attached, a headless run otherwise.
# `make run LESSON=real-clients RESP=1`: that lesson, every node on 127.0.0.1:7000+ for
# redis-cli (BASE_PORT=N moves the ports). Plain `make run`: the default lesson, no sockets.
LESSON ?=
RESP ?=
BASE_PORT ?=
RUN_FLAGS := $(if $(filter-out 0 no false,$(RESP)),--resp$(if $(BASE_PORT), --base-port $(BASE_PORT)))
run: $(STAMP)
	$(BIN)/rcsim start $(LESSON) $(RUN_FLAGS)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check rcsim simulator tui tests benchmarks
	$(BIN)/ruff format --check rcsim simulator tui tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Real clusters, not part of `make test` or CI: `rcsim verify` on every bundled lesson
# (those that cannot be played for real say why and are passed over). Needs redis-server
# and redis-cli (apt-get install redis-server redis-tools iptables), root for partitions,
# and 127.0.0.20+ / ports 7100+ free. Reports go to build/verify/LESSON.json.
# Exit 1 if any table has a row out of bounds. VERIFY_SERVER=/path/to/valkey-server works too.
VERIFY_SERVER ?= redis-server
VERIFY_RUNS ?= 5
VERIFY_SEEDS ?= 20
verify: $(STAMP)
	@command -v $(VERIFY_SERVER) >/dev/null || { echo "make verify: $(VERIFY_SERVER) not found"; exit 2; }
	@mkdir -p build/verify; status=0; \
	for lesson in $$($(BIN)/rcsim list | cut -d' ' -f1); do \
		echo "== $$lesson"; \
		$(BIN)/rcsim verify $$lesson --server $(VERIFY_SERVER) --runs $(VERIFY_RUNS) \
			--seeds $(VERIFY_SEEDS) --report build/verify/$$lesson.json; \
		code=$$?; [ $$code -eq 1 ] && status=1; [ $$code -gt 2 ] && exit $$code; \
	done; exit $$status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
