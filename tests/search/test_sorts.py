"""Sort orders: one row each, asked for by the question's phrases, applied by `filter_papers`."""

from __future__ import annotations

import datetime as dt

import pytest

from rag.records import Paper
from rag.search import query
from rag.search.filters import SORTS, QueryFilters, filter_papers

PAPERS = [
    Paper("a", "Alpha", "x", published=dt.date(2024, 5, 1), upvotes=3, authors_count=2),
    Paper("b", "Beta", "x", published=dt.date(2025, 1, 9), upvotes=9, authors_count=None),
    Paper("c", "Gamma", "x", published=None, upvotes=0, authors_count=7),
]


def test_every_sort_order_has_phrases_that_ask_for_it():
    assert set(SORTS) <= set(query._SORT.groupindex)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["b", "a", "c"]),
        ("oldest", ["a", "b", "c"]),
        ("most_upvoted", ["b", "a", "c"]),
        ("least_upvoted", ["c", "a", "b"]),
        ("most_authors", ["c", "a", "b"]),
        ("fewest_authors", ["a", "c", "b"]),
    ],
)
def test_each_sort_orders_by_its_value_with_missing_values_last(sort: str, expected: list[str]):
    ordered = filter_papers(PAPERS, QueryFilters(sort=sort))
    assert [p.paper_id for p in ordered] == expected
