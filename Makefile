# The two commands: `make demo` and `make test`. `make help` lists every target.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
UV := $(shell command -v uv 2>/dev/null || echo $(VENV)/bin/uv)

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-14s %s\n", $$1, $$2}'

$(VENV)/.synced: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || { python3 -m venv $(VENV) && $(VENV)/bin/pip install -q uv; }
	$(UV) sync --frozen --all-groups
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## Create the virtualenv and install everything (locked versions)

.PHONY: demo
demo: install ## Start broker, databases, business API, Twilio stand-in and the five services
	$(PY) -m devstack.demo

.PHONY: test
test: install ## Run the whole suite (unit, integration, e2e) on the embedded defaults
	$(PY) -m pytest -q

.PHONY: test-unit
test-unit: install ## Only the fast unit tests
	$(PY) -m pytest -q tests/unit

.PHONY: lint
lint: install ## ruff and mypy --strict
	$(PY) -m ruff check .
	$(PY) -m mypy contracts runtime services devstack business_api twilio_standin openrouter_standin

.PHONY: schemas
schemas: install ## Regenerate contracts/schemas from the event models
	$(PY) -m contracts.jsonschema

.PHONY: nlu-eval
nlu-eval: install ## Evaluate the built-in NLU on the held-out split (fails below the thresholds)
	$(PY) -m services.nlu.evaluate

.PHONY: nlu-recordings
nlu-recordings: install ## Re-record the NLU readings the dialogue-policy unit tests are fed
	RECORD_NLU=1 $(PY) -m pytest -q tests/unit/actions

.PHONY: conversations
conversations: install ## Play the conversation tests (tests/conversations/*.yml) on a stack of their own
	$(PY) -m devstack.conversations tests/conversations/*.yml

BENCH_OUT := .run/bench

.PHONY: bench
bench: install ## Run the benchmarks (not part of the test suite) and plot them into docs/img
	@mkdir -p $(BENCH_OUT)
	@for b in bench/*_bench.py bench/rasa_compare.py; do \
		name=$$(basename $$b .py); echo "== $$b"; \
		case $$name in e2e_bench|stage_bench|growth_bench) out="--json $(BENCH_OUT)/$$name.json";; *) out="";; esac; \
		$(PY) $$b $$out || exit 1; done
	$(PY) bench/plots.py --e2e $(BENCH_OUT)/e2e_bench.json --stages $(BENCH_OUT)/stage_bench.json \
		--growth $(BENCH_OUT)/growth_bench.json

.PHONY: clean
clean: ## Remove the virtualenv and run files
	rm -rf $(VENV) .run .pytest_cache .mypy_cache .ruff_cache
