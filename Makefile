# Digest QA: `make run` starts the app on the bundled digest, `make test` runs every test.
# Both create the virtual environment in .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

# Quality guards: each floor sits just under what was measured. The development questions are
# tuned on; the held-out ones (written blind, never tuned on) show what generalises.
DEV_QUESTIONS := tests/data/dev.jsonl
HELDOUT_QUESTIONS := tests/data/heldout.jsonl
QUALITY_FLOORS := recall@5=0.91 all_gold@5=0.92 mrr=0.95 ndcg@10=0.94 citation_recall=0.94 \
	faithfulness=0.94 noans_accuracy=0.78 single:mrr=0.94 multi:mrr=0.93 multi:all_gold@5=0.69 \
	followup:recall@5=0.97 followup:all_gold@5=0.96 metadata:recall@5=0.89 \
	metadata:all_gold@5=0.94
HELDOUT_FLOORS := recall@5=0.93 all_gold@5=0.93 mrr=0.95 citation_recall=0.97 \
	noans_accuracy=0.64 single:mrr=0.97 multi:recall@5=0.89 multi:all_gold@5=0.8 \
	followup:all_gold@5=0.93 metadata:all_gold@5=0.95

# Conversations: each turn asked with the pipeline's own earlier answers as the history.
DEV_CONVERSATIONS := tests/data/conversations.dev.jsonl
HELDOUT_CONVERSATIONS := tests/data/conversations.heldout.jsonl
CONVERSATION_FLOORS := right=0.82 later_turn_right=0.78 recall@5=0.89 noans_accuracy=0.5 \
	'hasans_false_refusal_rate<=0.07'
# Digests of other fields, indexed apart in .rag/eval-NAME, each with development questions and
# conversations (tuned on) and a held-out question set and conversations written blind for it
# (never tuned on).
OTHER_DIGESTS := vision science
DIGEST_DEV_FLOORS := right=0.8 recall@5=0.94 noans_accuracy=0.5 'hasans_false_refusal_rate<=0.04'
DIGEST_DEV_CONVERSATION_FLOORS := right=0.87 later_turn_right=0.84 recall@5=0.91 \
	noans_accuracy=0.55 'hasans_false_refusal_rate<=0.07'
DIGEST_FLOORS := recall@5=0.89 mrr=0.88 all_gold@5=0.87 right=0.78 noans_accuracy=0.4 \
	'hasans_false_refusal_rate<=0.07' metadata:all_gold@5=0.8
DIGEST_CONVERSATION_FLOORS := right=0.83 later_turn_right=0.8 recall@5=0.89 noans_accuracy=0.55 \
	'hasans_false_refusal_rate<=0.09'

BENCH_SIZES ?= 44

.PHONY: run test chromium test-quick quality eval lint fix bench ingest clean

$(STAMP): requirements.txt scripts/llama_wheel.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	bash scripts/llama_wheel.sh $(BIN)/python
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python app.py

# The browser tests drive Debian's Chromium; Playwright's own browser download is not used.
chromium:
	@command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Lint first (seconds), then every test, then the quality floors.
test: $(STAMP) chromium
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest
	$(MAKE) --no-print-directory quality

quality: $(STAMP)
	$(BIN)/python -m rag eval $(DEV_QUESTIONS) --out reports/dev --fail-under $(QUALITY_FLOORS)
	$(BIN)/python -m rag eval $(HELDOUT_QUESTIONS) --out reports/heldout \
		--fail-under $(HELDOUT_FLOORS)
	$(BIN)/python -m rag eval $(DEV_CONVERSATIONS) --out reports/conversations-dev \
		--fail-under $(CONVERSATION_FLOORS)
	$(BIN)/python -m rag eval $(HELDOUT_CONVERSATIONS) --out reports/conversations-heldout \
		--fail-under $(CONVERSATION_FLOORS)
	@for name in $(OTHER_DIGESTS); do \
		digest=tests/data/digests/$$name; \
		ask="$(BIN)/python -m rag --index .rag/eval-$$name eval"; \
		export RAG_INDEX_DIGESTS=$$digest.txt; \
		$$ask $$digest.dev.jsonl --out reports/$$name-dev --fail-under $(DIGEST_DEV_FLOORS) \
			|| exit 1; \
		$$ask $$digest.conversations.dev.jsonl --out reports/$$name-conversations-dev \
			--fail-under $(DIGEST_DEV_CONVERSATION_FLOORS) || exit 1; \
		$$ask $$digest.heldout.jsonl --out reports/$$name --fail-under $(DIGEST_FLOORS) || exit 1; \
		$$ask $$digest.conversations.jsonl --out reports/$$name-conversations \
			--fail-under $(DIGEST_CONVERSATION_FLOORS) || exit 1; \
	done

eval: $(STAMP)
	$(BIN)/python -m rag eval $(HELDOUT_QUESTIONS) --out reports/compare \
		--config ours --config baseline --config bm25

test-quick: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fix: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m rag.bench --sizes $(BENCH_SIZES)

ingest: $(STAMP)
	$(BIN)/python -m rag ingest

clean:
	rm -rf .rag .pytest_cache
