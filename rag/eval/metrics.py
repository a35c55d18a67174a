"""Offline evaluation metrics, named as the references that define them name them.

Every function here is pure: it takes ids, texts or booleans and returns numbers, so the
evaluation harness owns I/O and macro-averaging, and each metric is testable by hand.

- Retrieval (paper level) uses ranx with trec_eval conventions: binary relevance, linear
  gain, log2(rank + 1) discount. ranx ranks by score, so a ranked list is handed over with
  synthetic descending scores (1 / rank), which keeps the order and never ties. ranx rejects a
  run whose every query is empty (ValueError from `max()`), and a run and qrels must hold the
  same query ids, so questions with nothing retrieved are scored 0 here without asking ranx.
- Citations follow ALCE (Gao et al. 2023): citation recall is the share of statements whose
  cited passages jointly support them; citation precision counts a citation as correct unless
  the statement is unsupported or the citation is "irrelevant" (it does not support the
  statement alone and the other citations still do without it). ALCE judges support with an
  NLI model; here the judge is any `rag.answer.support.Support`, so the figures are only as good as
  that judge (see rag/answer/support.py for what the offline judge can and cannot catch).
- Abstention follows SQuAD 2.0 (NoAns accuracy) and CRAG (accuracy, hallucination, missing,
  score = accuracy - hallucination), so refusing is better than answering wrongly.

Trade-off: undefined ratios (no statements, no citations, no refusals) are fixed per metric
and documented at each function, rather than raising, so one odd answer cannot stop a run.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from rag.answer.support import Support

OUTCOMES = ("correct", "incorrect", "missing")

# Hyphens, dashes and runs of whitespace all compare equal when matching required terms.
_SEPARATORS = re.compile(r"[\s\-\u2010\u2011\u2012\u2013\u2014]+")


# ---------------------------------------------------------------- retrieval


def _unique(ids: Sequence[str]) -> list[str]:
    """Ids in first-seen order: a paper retrieved twice keeps its better rank."""
    return list(dict.fromkeys(str(i) for i in ids))


# ranx runs numba's parallel kernels, whose default threading layer aborts the process when
# two threads enter it at once (`eval --workers 2`): one scoring at a time.
_RANX_LOCK = threading.Lock()


def retrieval_scores(
    ranked: Mapping[str, Sequence[str]],
    gold: Mapping[str, Collection[str]],
    k: int = 5,
) -> dict[str, dict[str, float]]:
    """Per question: `recall@k`, `all_gold@k`, `mrr` and `ndcg@10` of the ranked paper ids.

    Questions without gold ids (unanswerable) are left out. A question with gold but no ranked
    ids (missing from `ranked`, or an empty list) scores 0.0 everywhere and is kept.
    `all_gold@k` is 1.0 when every gold id is in the top k (multi-paper questions need all);
    with more gold ids than k, when the top k are all gold (the best a list of k can do).
    """
    from ranx import Qrels, Run, evaluate  # numba start-up is slow; only pay it when used

    recall_name, all_name = f"recall@{k}", f"all_gold@{k}"
    judged = {q: {str(i) for i in ids} for q, ids in gold.items() if ids}
    runs = {q: _unique(ranked.get(q, ())) for q in judged}
    scores = {q: {recall_name: 0.0, all_name: 0.0, "mrr": 0.0, "ndcg@10": 0.0} for q in judged}
    answered = [q for q in judged if runs[q]]
    if not answered:
        return scores

    qrels = Qrels({q: dict.fromkeys(judged[q], 1) for q in answered})
    run = Run({q: {doc: 1.0 / rank for rank, doc in enumerate(runs[q], 1)} for q in answered})
    # Per-query values are read from `run.scores` (keyed by query id): the arrays returned
    # with return_mean=False follow ranx's sorted query order, not the caller's.
    with _RANX_LOCK:
        evaluate(qrels, run, [recall_name, "mrr", "ndcg@10"], return_mean=False)
    for metric, per_query in run.scores.items():
        for q, value in per_query.items():
            scores[q][metric] = float(value)
    for q in answered:
        found = len(judged[q] & set(runs[q][:k]))
        scores[q][all_name] = 1.0 if found == min(k, len(judged[q])) else 0.0
    return scores


# ---------------------------------------------------------------- statements and citations


def citation_recall_precision(
    statements: Sequence[tuple[str, Sequence[str]]], support: Support
) -> tuple[float, float]:
    """ALCE citation recall and precision of one answer.

    Each item is (statement without markers, cited passages' texts in citation order). A
    marker pointing at no passage should be dropped by the caller: ALCE then counts the
    statement as unsupported and leaves its citations out of the precision denominator,
    which is exactly what an item with no passages gives here.

    Recall = statements with >= 1 citation whose passages jointly support them / statements.
    Precision = correct citations / all citations, where a citation is correct when its
    statement is jointly supported and it is not irrelevant (irrelevant: it alone does not
    support the statement, and the statement's other citations still do without it).
    No statements -> (0.0, 0.0); statements but no citations -> precision 0.0 (as ALCE).
    """
    supported = correct = total = 0
    for statement, passages in statements:
        passages = list(passages)
        total += len(passages)
        if not passages or not support(statement, passages):
            continue
        supported += 1
        if len(passages) == 1:
            correct += 1
            continue
        # ALCE's order: single support first; only when that fails, test the rest without it.
        for i, passage in enumerate(passages):
            if support(statement, [passage]):
                correct += 1
            elif not support(statement, passages[:i] + passages[i + 1 :]):
                correct += 1  # needed: the others do not carry the statement alone
    recall = supported / len(statements) if statements else 0.0
    precision = correct / total if total else 0.0
    return recall, precision


def faithfulness(statements: Sequence[tuple[str, Sequence[str]]], support: Support) -> float:
    """Share of statements supported by the passages they cite; an uncited statement counts
    as unsupported and no statements gives 0.0. With the cited passages as input this equals
    ALCE citation recall; it is kept separate so a caller can pass other evidence (e.g. the
    citation snippets or whole abstracts) and report faithfulness to that."""
    if not statements:
        return 0.0
    held = sum(1 for text, passages in statements if passages and support(text, list(passages)))
    return held / len(statements)


# ---------------------------------------------------------------- answers


def _normalise_terms(text: str) -> str:
    return _SEPARATORS.sub(" ", text.lower()).strip()


def required_term_recall(text: str, terms: Sequence[str]) -> float | None:
    """Share of `terms` found in `text`, or None when no terms are given.

    Case-insensitive; hyphens and whitespace compare equal ('model-based' = 'model based').
    A term must start at a word boundary and may take a plural 's'/'es' at the end, so 'RL'
    does not match inside 'world' but 'benchmark' matches 'benchmarks'.
    """
    wanted = [t for t in (_normalise_terms(term) for term in terms) if t]
    if not wanted:
        return None
    haystack = _normalise_terms(text)
    found = sum(
        1 for term in wanted if re.search(rf"(?<!\w){re.escape(term)}(?:e?s)?(?!\w)", haystack)
    )
    return found / len(wanted)


def paper_citation_scores(
    cited_ids: Sequence[str], gold_ids: Collection[str]
) -> tuple[float, float]:
    """(precision, recall) of the cited papers against the gold papers, as sets.

    Nothing cited -> precision 0.0; no gold (unanswerable: the caller should leave such
    questions out) -> recall 0.0.
    """
    cited, gold = set(cited_ids), set(gold_ids)
    hits = len(cited & gold)
    precision = hits / len(cited) if cited else 0.0
    recall = hits / len(gold) if gold else 0.0
    return precision, recall


def answer_outcome(
    abstained: bool, answerable: bool, cites_gold: bool, term_recall: float | None
) -> str:
    """CRAG's three-way label: 'missing' for a refusal, 'incorrect' for any answer to an
    unanswerable question, and for an answerable one 'correct' when it cites a gold paper and
    holds at least half of the required terms (citing gold suffices when none are given)."""
    if abstained:
        return "missing"
    if not answerable or not cites_gold:
        return "incorrect"
    return "correct" if term_recall is None or term_recall >= 0.5 else "incorrect"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def abstention_summary(rows: Sequence[tuple[bool, bool, str]]) -> dict[str, float | None]:
    """Abstention and CRAG figures over rows of (answerable, abstained, outcome).

    `noans_accuracy` (= `abstention_recall`): unanswerable questions refused, SQuAD 2.0's NoAns
    accuracy; `hasans_false_refusal_rate`: answerable questions refused;
    `abstention_precision`: refusals that were on unanswerable questions. Each is None when
    its denominator is empty. `accuracy`, `hallucination_rate`, `missing_rate` and
    `crag_score` (accuracy - hallucination rate) are over all questions (None when no rows).
    """
    for _, _, outcome in rows:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    n = len(rows)
    unanswerable = [abstained for answerable, abstained, _ in rows if not answerable]
    answerable = [abstained for answerable_, abstained, _ in rows if answerable_]
    refusals = [answerable_ for answerable_, abstained, _ in rows if abstained]
    counts = {name: sum(1 for *_, outcome in rows if outcome == name) for name in OUTCOMES}
    noans = _share(sum(unanswerable), len(unanswerable))
    accuracy = _share(counts["correct"], n)
    hallucination = _share(counts["incorrect"], n)
    return {
        "noans_accuracy": noans,
        "hasans_false_refusal_rate": _share(sum(answerable), len(answerable)),
        "abstention_precision": _share(refusals.count(False), len(refusals)),
        "abstention_recall": noans,
        "accuracy": accuracy,
        "hallucination_rate": hallucination,
        "missing_rate": _share(counts["missing"], n),
        "crag_score": None if accuracy is None else accuracy - (hallucination or 0.0),
    }


# ---------------------------------------------------------------- latency


def latency_summary(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50 and p95 latency in milliseconds (numpy's linear percentile); None when empty."""
    if not seconds:
        return {"p50_ms": None, "p95_ms": None}
    ms = np.asarray(seconds, dtype=float) * 1000.0
    return {
        "p50_ms": float(np.percentile(ms, 50, method="linear")),
        "p95_ms": float(np.percentile(ms, 95, method="linear")),
    }
