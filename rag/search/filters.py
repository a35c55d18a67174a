"""Constraints on papers from their listing metadata: the filter record, its chips, matching.

`QueryFilters` is what a question's metadata means once read (`rag.search.query` reads it) or what a
caller chose explicitly (`explicit_filters`, from UI controls or keyword arguments). Pure:
`matches` tests one paper, `filter_papers` selects and orders a catalogue, `chroma_where`
turns what Chroma can express into a `where` clause.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace

from rag.errors import QuestionError
from rag.records import Paper

YEARS = (1990, 2099)
CHIP_YEAR, CHIP_SINCE, CHIP_UNTIL = "year: {}", "since {}", "until {}"
CHIP_MIN_UPVOTES, CHIP_MAX_UPVOTES = "≥ {} upvotes", "≤ {} upvotes"
CHIP_ORGANIZATION, CHIP_SORT, CHIP_LIMIT = "organisation: {}", "sorted: {}", "top {}"
CHIP_HAS_ORGANIZATION = {True: "with an organisation", False: "with an authors count"}
CHIP_MIN_AUTHORS, CHIP_MAX_AUTHORS, CHIP_AUTHORS = "≥ {} authors", "≤ {} authors", "authors: {}"
CHIP_DATED = {True: "dated", False: "undated"}
CHIP_NOT_YEAR = "not {}"
CHIP_COUNTED = {True: "with an authors count", False: "without an authors count"}
CHIP_MONTH_DAY = "dated {} (any year)"
CHIP_NTH = "rank {}"
CHIP_TITLE = "title contains \u201c{}\u201d"


@dataclass(frozen=True)
class SortOrder:
    """One way to order papers, in one row: its name, the value it sorts on (smallest first;
    papers without one go last) and how an answer words it. The question phrases that ask for
    it are the named group of the same name in `rag.search.query`."""

    name: str
    value: Callable[[Paper], int | None]
    order: str  # "most upvoted first"
    superlative: tuple[str, str]  # singular and plural: "the most upvoted paper(s)"


SORT_ORDERS = {
    sort.name: sort
    for sort in (
        SortOrder(
            "newest",
            lambda p: -p.published.toordinal() if p.published else None,
            "newest first",
            ("newest paper", "newest papers"),
        ),
        SortOrder(
            "oldest",
            lambda p: p.published.toordinal() if p.published else None,
            "oldest first",
            ("oldest paper", "oldest papers"),
        ),
        SortOrder(
            "most_upvoted",
            lambda p: -p.upvotes,
            "most upvoted first",
            ("most upvoted paper", "most upvoted papers"),
        ),
        SortOrder(
            "least_upvoted",
            lambda p: p.upvotes,
            "least upvoted first",
            ("least upvoted paper", "least upvoted papers"),
        ),
        SortOrder(
            "most_authors",
            lambda p: None if p.authors_count is None else -p.authors_count,
            "most authors first",
            ("paper with the most authors", "papers with the most authors"),
        ),
        SortOrder(
            "fewest_authors",
            lambda p: p.authors_count,
            "fewest authors first",
            ("paper with the fewest authors", "papers with the fewest authors"),
        ),
    )
}
SORTS = tuple(SORT_ORDERS)


@dataclass(frozen=True)
class QueryFilters:
    """Constraints on papers from their metadata, plus an order and a count to show."""

    year: int | None = None
    since: dt.date | None = None  # inclusive
    until: dt.date | None = None  # inclusive
    min_upvotes: int | None = None  # inclusive
    max_upvotes: int | None = None  # inclusive
    organization: str | None = None  # any case
    has_organization: bool | None = None  # False: papers with an authors count
    min_authors: int | None = None  # inclusive; papers listed under an organisation fail
    max_authors: int | None = None
    dated: bool | None = None  # False: papers the listing gives no date for
    not_year: int | None = None  # "papers not from 2025"
    has_authors_count: bool | None = None  # False: no authors count (an organisation, or none)
    month: int | None = None  # in any year
    day: int | None = None  # of `month`, in any year
    sort: str | None = None  # one of SORTS
    limit: int | None = None
    nth: int | None = None  # the nth value of the sort ("the second most upvoted"), ties kept
    title_words: str | None = None  # words the title contains, any case

    def __post_init__(self) -> None:
        if self.sort is not None and self.sort not in SORTS:
            raise QuestionError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))

    def describe(self) -> list[str]:
        """Short labels for the UI, one per constraint, in field order."""
        return [label for _, label in self.labelled()]

    def labelled(self) -> list[tuple[tuple[str, ...], str]]:
        """(field names, label) per constraint: what a UI shows, and what `without` removes."""
        has_organization = self.has_organization
        chips = [
            (("year",), self.year, CHIP_YEAR),
            (("since",), self.since and self.since.isoformat(), CHIP_SINCE),
            (("until",), self.until and self.until.isoformat(), CHIP_UNTIL),
            (("min_upvotes",), self.min_upvotes, CHIP_MIN_UPVOTES),
            (("max_upvotes",), self.max_upvotes, CHIP_MAX_UPVOTES),
            (("organization",), self.organization, CHIP_ORGANIZATION),
            (
                ("has_organization",),
                None if has_organization is None else CHIP_HAS_ORGANIZATION[has_organization],
                "{}",
            ),
            *self._author_chips(),
            (("dated",), None if self.dated is None else CHIP_DATED[self.dated], "{}"),
            (("not_year",), self.not_year, CHIP_NOT_YEAR),
            (
                ("has_authors_count",),
                None if self.has_authors_count is None else CHIP_COUNTED[self.has_authors_count],
                "{}",
            ),
            (("month", "day"), self._month_day(), CHIP_MONTH_DAY),
            (("sort",), self.sort and self.sort.replace("_", " "), CHIP_SORT),
            (("limit",), self.limit, CHIP_LIMIT),
            (("nth",), self.nth, CHIP_NTH),
            (("title_words",), self.title_words, CHIP_TITLE),
        ]
        return [(name, chip.format(value)) for name, value, chip in chips if value is not None]

    def _month_day(self) -> str | None:
        if self.month is None:
            return None
        name = calendar.month_name[self.month]
        return name if self.day is None else f"{name} {self.day}"

    def without(self, names: Collection[str]) -> QueryFilters:
        """These filters with the named constraints switched off."""
        unknown = set(names) - {f.name for f in fields(self)}
        if unknown:
            raise QuestionError(f"unknown filter {', '.join(sorted(unknown))}")
        return replace(self, **{name: None for name in names})

    def matches(self, paper: Paper) -> bool:
        """Whether `paper` meets every constraint; an undated paper fails any date constraint."""
        day, org = paper.published, (paper.organization or "").casefold()
        if day is None and (self.year is not None or self.since or self.until):
            return False
        return (
            (self.year is None or day is not None and day.year == self.year)
            and (self.since is None or day is not None and day >= self.since)
            and (self.until is None or day is not None and day <= self.until)
            and (self.min_upvotes is None or paper.upvotes >= self.min_upvotes)
            and (self.max_upvotes is None or paper.upvotes <= self.max_upvotes)
            and (self.organization is None or org == self.organization.casefold())
            and (self.has_organization is not True or bool(org))
            and (self.has_organization is not False or paper.authors_count is not None)
            and self._authors_match(paper.authors_count)
            and (self.dated is None or (day is not None) == self.dated)
            and (self.not_year is None or day is not None and day.year != self.not_year)
            and (
                self.has_authors_count is None
                or (paper.authors_count is not None) == self.has_authors_count
            )
            and (self.month is None or day is not None and day.month == self.month)
            and (self.day is None or day is not None and day.day == self.day)
            and (self.title_words is None or self.title_words.casefold() in paper.title.casefold())
        )

    def _author_chips(self) -> list[tuple[tuple[str, ...], object, str]]:
        if self.min_authors is not None and self.min_authors == self.max_authors:
            # One chip for both bounds; removing it removes both.
            return [(("min_authors", "max_authors"), self.min_authors, CHIP_AUTHORS)]
        return [
            (("min_authors",), self.min_authors, CHIP_MIN_AUTHORS),
            (("max_authors",), self.max_authors, CHIP_MAX_AUTHORS),
        ]

    def _authors_match(self, count: int | None) -> bool:
        if self.min_authors is None and self.max_authors is None:
            return True
        return (
            count is not None
            and (self.min_authors is None or count >= self.min_authors)
            and (self.max_authors is None or count <= self.max_authors)
        )

    def chroma_where(self) -> dict | None:
        """The `where` clause over chunk metadata, or None; sort, limit and
        has_organization=True are not expressible there (see the module notes)."""
        ordinal = {d: d.toordinal() for d in (self.since, self.until) if d}
        tests = [
            ("year", "$eq", self.year),
            ("published_ordinal", "$gte", ordinal.get(self.since)),  # type: ignore[arg-type]
            ("published_ordinal", "$lte", ordinal.get(self.until)),  # type: ignore[arg-type]
            ("upvotes", "$gte", self.min_upvotes),
            ("upvotes", "$lte", self.max_upvotes),
            ("organization", "$eq", self.organization),
            ("authors_count", "$gte", 0 if self.has_organization is False else None),
            ("authors_count", "$gte", self.min_authors),
            ("authors_count", "$lte", self.max_authors),
        ]
        clauses = [{key: {op: value}} for key, op, value in tests if value is not None]
        # Chroma rejects an `$and` of fewer than two clauses.
        return None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def merged(self, other: QueryFilters) -> QueryFilters:
        """These filters with every value `other` sets taking precedence."""
        values = {f.name: getattr(other, f.name) for f in fields(other)}
        return replace(self, **{name: v for name, v in values.items() if v is not None})


def filter_papers(papers: Iterable[Paper], filters: QueryFilters) -> list[Paper]:
    """Papers meeting `filters` in the requested order (ties by title, papers lacking the sorted
    field last), cut to the limit; without a sort the given order (relevance, say) is kept. A
    superlative ("the most upvoted", limit 1) or an ordinal (`nth`) keeps every paper that ties
    for that value, so a tie is shown rather than broken silently."""
    found = [p for p in papers if filters.matches(p)]
    if filters.sort:
        value = SORT_ORDERS[filters.sort].value
        found.sort(key=lambda p: (value(p) is None, value(p) or 0, p.title.casefold()))
        if filters.nth or filters.limit == 1:
            # "The most upvoted paper" is every paper that ties for the top value.
            values = sorted({v for p in found if (v := value(p)) is not None})
            position = (filters.nth or 1) - 1
            return [p for p in found if position < len(values) and value(p) == values[position]]
    return found if filters.limit is None else found[: filters.limit]


def _whole(value: object, name: str) -> int | None:
    if value is None or value == "":
        return None
    if (
        isinstance(value, float)
        and value.is_integer()
        or isinstance(value, str)
        and value.strip().isdigit()
    ):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise QuestionError(f"{name} must be a whole number of at least 0, got {value!r}")
    return value


def _date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise QuestionError(f"{name} must be a date such as 2025-03-01, got {value!r}") from None


def explicit_filters(
    year: int | str | None = None,
    since: dt.date | str | None = None,
    until: dt.date | str | None = None,
    min_upvotes: int | str | None = None,
    max_upvotes: int | str | None = None,
    organization: str | None = None,
) -> QueryFilters:
    """Filters chosen explicitly (UI controls, keyword arguments); empty values mean "any"."""
    whole_year, first, last = _whole(year, "year"), _date(since, "since"), _date(until, "until")
    if whole_year is not None and not YEARS[0] <= whole_year <= YEARS[1]:
        raise QuestionError(f"year must be between {YEARS[0]} and {YEARS[1]}, got {whole_year}")
    if first and last and first > last:
        raise QuestionError(f"since ({first}) must not be after until ({last})")
    low, high = _whole(min_upvotes, "min_upvotes"), _whole(max_upvotes, "max_upvotes")
    if low is not None and high is not None and low > high:
        raise QuestionError(f"min_upvotes ({low}) must not exceed max_upvotes ({high})")
    if organization is not None and not isinstance(organization, str):
        raise QuestionError(f"organization must be text, got {organization!r}")
    return QueryFilters(whole_year, first, last, low, high, (organization or "").strip() or None)
