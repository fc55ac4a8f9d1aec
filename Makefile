# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench fast verify verify-docs verify-refresh clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench,plot]'
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

# The whole suite on every core (pytest-xdist; pyproject.toml's addopts add `--dist loadgroup
# --no-loadscope-reorder`: the tests reading one shared lesson run share a worker, see
# tests/shared_runs.py, and the longest groups go out first, tests/conftest.py).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check rcsim simulator tui tests benchmarks
	$(BIN)/ruff format --check rcsim simulator tui tests benchmarks
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# The engine's hot modules compiled with mypyc (part of mypy, the dev extra; needs gcc and
# Python's headers) into build/fast/, out of the source tree. Runs use them only with
# RCSIM_COMPILED=1 and only while they match the sources (simulator/compiled.py).
fast: $(STAMP)
	$(BIN)/python -m simulator.compiled_build

# Real clusters, not part of `make test` or CI: `rcsim verify` on every bundled lesson and
# on docs/fidelity.md's own settings (scenarios/fidelity/*.yaml); those that cannot be
# played for real say why (their report holds the reasons). Then `make verify-docs`
# regenerates the verify tables in docs/fidelity.md from the reports. Needs redis-server
# and redis-cli (apt-get install redis-server redis-tools iptables), root for partitions,
# and 127.0.0.20+ / ports 7100+ free. Reports go to build/verify/NAME.json.
# Exit 1 if any table has a row out of bounds. VERIFY_SERVER=/path/to/valkey-server works
# too; VERIFY_SCENARIOS="master-crash scenarios/fidelity/manual-force.yaml" runs a subset
# (the other reports in build/verify/ are kept, so the docs show the latest of each).
VERIFY_SERVER ?= redis-server
VERIFY_RUNS ?= 5
VERIFY_SEEDS ?= 20
# real-clients is left out: it only narrates for 30 minutes while you use redis-cli.
VERIFY_SCENARIOS ?= $$($(BIN)/rcsim list | cut -d' ' -f1 | grep -vx real-clients) \
	$(sort $(wildcard scenarios/fidelity/*.yaml))
verify: $(STAMP)
	@command -v $(VERIFY_SERVER) >/dev/null || { echo "make verify: $(VERIFY_SERVER) not found"; exit 2; }
	@mkdir -p build/verify; status=0; \
	for scenario in $(VERIFY_SCENARIOS); do \
		name=$$(echo $$scenario | sed -e 's|^scenarios/fidelity/|fidelity-|' -e 's|.*/||' -e 's|\.ya\?ml$$||'); \
		echo "== $$scenario"; \
		$(BIN)/rcsim verify $$scenario --server $(VERIFY_SERVER) --runs $(VERIFY_RUNS) \
			--seeds $(VERIFY_SEEDS) --report build/verify/$$name.json; \
		code=$$?; [ $$code -eq 1 ] && status=1; [ $$code -gt 2 ] && exit $$code; \
	done; $(VERIFY_DOCS); exit $$status

# The verify tables of docs/fidelity.md (between its verify-tables markers) from build/verify/*.json.
VERIFY_DOCS = $(BIN)/python -m rcsim.verify.docs build/verify docs/fidelity.md
verify-docs: $(STAMP)
	$(VERIFY_DOCS)

# No real servers: re-run only rcsim's side of every kept report (tests/data/verify-reports/)
# against the real runs it holds (`rcsim verify SOURCE --against REPORT --report REPORT`),
# over the report's own seeds (VERIFY_REFRESH_SEEDS=M: seeds 1..M), after a model change;
# then regenerate the tables from the kept reports. A report of another version of its
# scenario (SHA-256) is refused and left as it is: re-measure it with `make verify`. Refused
# scenarios have nothing to refresh. VERIFY_REFRESH_REPORTS="tests/data/verify-reports/
# pubsub.json" refreshes a subset. Exit 1 if any row is out of bounds, 2 if one was refused.
# (`make verify-docs` copies build/verify/'s reports over the kept ones: after a refresh,
# delete build/verify or `make verify` again.)
VERIFY_REFRESH_SEEDS ?=
VERIFY_REFRESH_REPORTS ?= $(sort $(wildcard tests/data/verify-reports/*.json))
verify-refresh: $(STAMP)
	@status=0; \
	for report in $(VERIFY_REFRESH_REPORTS); do \
		source=$$($(BIN)/python -c 'import json, sys; r = json.load(open(sys.argv[1])); print("" if r.get("refused") else r["source"])' $$report) || exit 2; \
		[ -n "$$source" ] || { echo "== $$report: refused for real, nothing to refresh"; continue; }; \
		echo "== $$report ($$source)"; \
		out=$$($(BIN)/rcsim verify $$source --against $$report --report $$report \
			$(if $(VERIFY_REFRESH_SEEDS),--seeds $(VERIFY_REFRESH_SEEDS))); \
		code=$$?; echo "$$out" | tail -1; [ $$code -eq 1 ] && [ $$status -eq 0 ] && status=1; [ $$code -ge 2 ] && status=2; \
	done; $(BIN)/python -m rcsim.verify.docs tests/data/verify-reports docs/fidelity.md; exit $$status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
