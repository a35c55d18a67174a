"""Question understanding for the digest's metadata: dates, upvotes, authors, organisations.

Design: `parse_question` reads a question with regular expressions in a fixed order; each
phrase it recognises is blanked out of a working copy, so no later rule reads it twice (the
years of "between 2023 and 2024" are not also "2024 papers"; the 3 of "more than 3 upvotes" is
no limit). What is left, minus generic framing ("which papers", "are about", "in the digest"),
is the `topic` the retriever searches for; a question in which nothing is recognised keeps its
wording, so plain questions retrieve exactly as before. Filters run over records
(`filter_papers`) or become a Chroma `where` clause (`QueryFilters.chroma_where`). All pure: the
caller supplies the reference date (the newest paper's) and the digest's organisations.

Concessions, each a rule a reader can predict:
- Time expressions are read by `rag.when` (its docstring gives the rules): a year is four
  digits 1990-2099 after a time word or before a paper noun ("2025 papers"), months only after
  a time word, windows back from the reference date; vague time ("recently") is not read.
- "latest", "earliest", "most popular" always mean a sort, even when used loosely. A
  superlative is singular (limit 1) unless a number or a plural says otherwise.
- Organisations are found only among the names supplied, or as their lowercase handle without
  spaces ("newmindai"). Chroma compares exact spellings, so filter with the catalogue's.
- `has_organization=True` is no Chroma filter (`$ne` also matches a missing key): apply
  `matches` after retrieval. Authors counts filter ("a single author", "more than 10
  authors"); "no publication date" selects undated papers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace

from rag.records import Paper
from rag.when import NUMBER, PAPER_NOUN, PUBLISHED, blank, number, time_filters

SORTS = ("newest", "oldest", "most_upvoted", "least_upvoted", "most_authors", "fewest_authors")
YEARS = (1990, 2099)
CHIP_YEAR, CHIP_SINCE, CHIP_UNTIL = "year: {}", "since {}", "until {}"
CHIP_MIN_UPVOTES, CHIP_MAX_UPVOTES = "≥ {} upvotes", "≤ {} upvotes"
CHIP_ORGANIZATION, CHIP_SORT, CHIP_LIMIT = "organisation: {}", "sorted: {}", "top {}"
CHIP_HAS_ORGANIZATION = {True: "with an organisation", False: "with an authors count"}
CHIP_MIN_AUTHORS, CHIP_MAX_AUTHORS, CHIP_AUTHORS = "≥ {} authors", "≤ {} authors", "authors: {}"
CHIP_DATED = {True: "dated", False: "undated"}


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
    sort: str | None = None  # one of SORTS
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.sort is not None and self.sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(SORTS)}, got {self.sort!r}")

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
            (("sort",), self.sort and self.sort.replace("_", " "), CHIP_SORT),
            (("limit",), self.limit, CHIP_LIMIT),
        ]
        return [(name, chip.format(value)) for name, value, chip in chips if value is not None]

    def without(self, names: Collection[str]) -> QueryFilters:
        """These filters with the named constraints switched off."""
        unknown = set(names) - {f.name for f in fields(self)}
        if unknown:
            raise ValueError(f"unknown filter {', '.join(sorted(unknown))}")
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


@dataclass(frozen=True)
class ParsedQuestion:
    """A question split into what to search for and what the metadata must satisfy."""

    question: str
    topic: str  # what to retrieve; "" when nothing topical is left
    filters: QueryFilters
    asks_for: str | None  # "authors" | "date" | "upvotes" | "organization" of one paper
    is_listing: bool  # papers in bulk rather than one fact


_UNIT = r"(?:up-?votes?|votes?|likes?)\b"
_HAS = r"(?:(?:with|having|has|have|got|received)\s+)?"
_ASKS = re.compile(
    r"(?P<authors>\bhow many (?:co-?)?authors\b|\b(?:number|count) of (?:co-?)?authors\b)"
    rf"|(?P<upvotes>\bhow many {_UNIT}|\b(?:number|count) of {_UNIT}|\bhow popular\b)"
    r"|(?P<date>^\s*when\b|\bwhat (?:year|date|day|month)\b|\bpublication (?:date|year)\b)"
    r"|(?P<organization>\bwho (?:published|wrote|authored|released|made|is behind)\b"
    r"|\b(?:which|what) (?:organi[sz]ation|company|lab|institution)\b)",
    re.I,
)
_HAS_ORGANIZATION = re.compile(
    r"(?P<no>\bnot (?:from|by|under) an? organi[sz]ation\b|\b(?:by|from) (?:individual|"
    r"independent) (?:authors|researchers)\b|\b(?:with|having) an? authors? count\b)"
    rf"|(?P<yes>\b{PUBLISHED}(?:by|from|under|with|credited to|attributed to|listed under) "
    r"(?:an? |any |some )?(?:organi[sz]ations?|compan(?:y|ies)|labs?|institutions?|industry)\b"
    r"(?:\s+rather than (?:a list of |individual |named )?authors)?)",
    re.I,
)
_SORT = re.compile(
    r"(?P<most_upvoted>\b(?:most|highest|best|top)[- ](?:up-?voted|voted|liked|popular|rated)\b"
    rf"|\b(?:the )?(?:most|highest number of|largest number of) {_UNIT})"
    rf"|(?P<least_upvoted>\b(?:least|lowest)[- ](?:up-?voted|voted|liked|popular)\b"
    rf"|\b(?:the )?(?:fewest|least|lowest number of|smallest number of) {_UNIT})"
    r"|(?P<oldest>\b(?:oldest|earliest|least recent(?:ly published)?)(?: first)?\b"
    r"|\bthe first[- ]published\b|\bpublished first\b)"
    r"|(?P<newest>\b(?:newest|latest|most recent(?:ly published)?)(?: first)?\b"
    r"|\bthe last[- ]published\b|\bpublished (?:last|most recently)\b)"
    r"|(?P<most_authors>\b(?:the )?(?:most|largest number of|highest number of) (?:co-?)?authors"
    r"\b|\b(?:largest|biggest|longest) (?:author list|list of authors|author team)\b)"
    r"|(?P<fewest_authors>\b(?:the )?(?:fewest|least|smallest number of) (?:co-?)?authors\b"
    r"|\b(?:smallest|shortest) (?:author list|list of authors|author team)\b)",
    re.I,
)
# Upvote bounds as (pattern, min step, max step) around the number n: "more than 3" is n + 1.
# Order matters: comparisons before the bare "3 upvotes", which means exactly 3.
_UPVOTE_WORDS: list[tuple[str, int | None, int | None]] = [
    ("more than|over|above|greater than", 1, None),
    ("at least|no fewer than|no less than", 0, None),
    ("fewer than|less than|under|below", None, -1),
    ("at most|no more than|up to", None, 0),
]
_AUTHOR_UNIT = r"(?:co-?)?authors?\b"
_AUTHOR_RULES = [
    (
        r"\b(?:a )?(?:single|one|sole|solo|lone)[- ]author(?:ed)?\b|\bwritten (?:alone|by one "
        r"(?:person|author))\b",
        1,
        1,
    ),
] + [(rf"\b{_HAS}(?:{words}) {NUMBER}\s+{_AUTHOR_UNIT}", lo, hi) for words, lo, hi in _UPVOTE_WORDS]
_UNDATED = re.compile(
    r"\b(?:no|without(?: a)?|missing(?: a)?|lacking(?: a)?) (?:publication |release )?dates?\b"
    r"|\bundated\b|\bnot dated\b",
    re.IGNORECASE,
)
_UPVOTE_RULES = [
    (rf"\b{_HAS}(?:{words}) {NUMBER}\s+{_UNIT}", lo, hi) for words, lo, hi in _UPVOTE_WORDS
]
_UPVOTE_RULES += [
    (rf"\b{NUMBER}\s*(?:\+|or more)\s*{_UNIT}", 0, None),
    (rf"\b{NUMBER}\s+or (?:fewer|less)\s+{_UNIT}", None, 0),
    (rf"\b{_HAS}(?:no|zero)\s+{_UNIT}|\bwithout (?:any )?{_UNIT}|\bnot upvoted\b", None, 0),
    (rf"\b{_HAS}(?:exactly )?{NUMBER}\s+{_UNIT}", 0, 0),
]
# Read after the sorts, so that "most upvoted" is not taken for "upvoted".
_ANY_UPVOTES = (
    rf"\b{_HAS}(?:any|some|at least one)\s+{_UNIT}|\b(?:with|has|have) {_UNIT}\b|\bupvoted\b"
)
_GENERIC = re.compile(
    r"\b(?:in|from|of) (?:the|this) digest\b|\b(?:show|tell|give) me\b|\bdo you have\b|"
    r"\b(?:are|is) there\b|\b(?:are|is) about\b|\b(?:published|released|came out|come out)\b|"
    r"\b(?:papers?|articles?|publications?)\b",
    re.I,
)
_EDGE_WORDS = (
    "which|what|who|whom|whose|when|where|how|is|are|was|were|be|been|do|does|did|has|have|had|"
    "the|a|an|any|all|some|of|on|about|in|for|to|by|from|with|that|this|these|those|there|me|"
    "show|list|find|give|tell|name|digest|regarding|concerning|related|study|studies|studied|"
    "discuss|discusses|address|addresses|cover|covers|wrote|write|written|authored|and|or|it|"
    "its|their|they|many|please|can|could|you|i|s|new|one|ones|work|works"
)
_EDGE = rf"(?:[^\w-]*\b(?:{_EDGE_WORDS})\b)*[^\w-]*"
_LISTING = re.compile(r"^\s*(?:list|show|name|find|give)\b|\ball\b|\b(?:papers|articles)\b", re.I)
_SINGULAR = re.compile(r"\b(?:paper|article|publication|one)\b", re.I)


def _organization(work: str, organizations: Collection[str]) -> tuple[str | None, str]:
    """The first organisation named (longest names tried first), by name or handle."""
    for name in sorted(organizations, key=len, reverse=True):
        handle = re.sub(r"[^a-z0-9]", "", name.lower())
        names = r"\s+".join(map(re.escape, name.split())) + (
            f"|{handle}" if len(handle) > 2 else ""
        )
        if m := re.search(
            rf"(?:\b(?:by|from|at|of)\s+)?(?<![\w-])(?:{names})(?:'s)?(?![\w-])", work, re.I
        ):
            return name, blank(work, m)
    return None, work


def _grammatical_limit(before: str, after: str) -> int | None:
    """1 for a singular superlative ("the oldest paper", "which paper has the most upvotes"),
    None for a plural one ("the newest papers", "which papers have the most authors")."""
    if re.match(r"\s*of (?:the|all)\b", after, re.I):
        return 1
    if m := re.match(rf"\s*(?:[\w-]+\s+){{0,2}}?{PAPER_NOUN}\b", after, re.I):
        return None if m.group(1).lower().endswith("s") else 1
    if verbs := re.findall(r"\b(is|are|was|were|has|have)\b", before, re.I):
        return None if verbs[-1].lower() in ("are", "were", "have") else 1
    nouns = re.findall(rf"\b{PAPER_NOUN}\b", before, re.I)
    return None if nouns and nouns[-1].lower().endswith("s") else 1


def _topic(work: str) -> str:
    """What remains once metadata phrases, generic framing and dangling words are gone."""
    text = re.sub(rf"^{_EDGE}|{_EDGE}$", "", _GENERIC.sub(" ", work), flags=re.I)
    return re.sub(r"\s+([,;:])", r"\1", re.sub(r"\s+", " ", text)).strip()


def parse_question(
    question: str, reference_date: dt.date, organizations: Collection[str] = ()
) -> ParsedQuestion:
    """Filters, sort, limit, asked-for field and topic of a question (rules: module notes)."""
    work, asks_for, has_organization, dated = question, None, None, None
    # Before the asked-for fields: "no publication date" is a filter, not a question about one.
    if m := _UNDATED.search(work):
        dated, work = False, blank(work, m)
    if m := _ASKS.search(work):
        asks_for, work = m.lastgroup, blank(work, m)
    organization, work = _organization(work, organizations)
    if m := _HAS_ORGANIZATION.search(work):
        has_organization, work = m.lastgroup == "yes", blank(work, m)
    authors_low = authors_high = None
    for pattern, low_value, high_value in _AUTHOR_RULES:
        if m := re.search(pattern, work, re.I):
            if "n" in m.groupdict():
                count = number(m)
                low_value = None if low_value is None else count + low_value
                high_value = None if high_value is None else count + high_value
            authors_low, authors_high, work = low_value, high_value, blank(work, m)
            break
    found, work = time_filters(work, reference_date)
    low = high = None
    for pattern, low_step, high_step in _UPVOTE_RULES:
        for m in re.finditer(pattern, work, re.I):
            low = low if low_step is None else number(m) + low_step
            high = high if high_step is None else number(m) + high_step
            work = blank(work, m)
    sort, sort_match = None, _SORT.search(work)
    if sort_match:
        sort, work = sort_match.lastgroup, blank(work, sort_match)
    if low is None and high is None and (m := re.search(_ANY_UPVOTES, work, re.I)):
        low, work = 1, blank(work, m)  # "with upvotes", "upvoted": after "most upvoted"
    limit, cut = None, sort_match.start() if sort_match else 0
    for pattern in (
        rf"\btop\s+{NUMBER}",
        rf"\b{NUMBER}\s*(?:of the\s+)?$" if sort_match else None,
        rf"\b{NUMBER}(?=\s+(?:[\w-]+\s+){{0,3}}?(?:papers|articles|publications)\b)",
    ):
        if pattern and (m := re.search(pattern, work[:cut] if "$" in pattern else work, re.I)):
            limit, work = number(m), blank(work, m)
            break
    if limit is None and sort_match:
        limit = _grammatical_limit(work[:cut], work[sort_match.end() :])
    filters = QueryFilters(**found, min_upvotes=low, max_upvotes=high, organization=organization)
    filters = replace(
        filters,
        has_organization=has_organization,
        min_authors=authors_low,
        max_authors=authors_high,
        dated=dated,
        sort=sort,
        limit=limit,
    )
    if limit == 1 or asks_for and not _LISTING.search(question):
        listing = False
    else:
        constrained = not replace(filters, sort=None, limit=None).is_empty()
        listing = bool(
            (limit or 0) > 1
            or _LISTING.search(question)
            or sort
            or constrained
            and not _SINGULAR.search(question)
        )
    untouched = filters.is_empty() and asks_for is None
    topic = question if untouched else _topic(work)
    return ParsedQuestion(question, topic, filters, asks_for, listing)


_SORT_VALUES: dict[str, Callable[[Paper], int | None]] = {
    "newest": lambda p: -p.published.toordinal() if p.published else None,
    "oldest": lambda p: p.published.toordinal() if p.published else None,
    "most_upvoted": lambda p: -p.upvotes,
    "least_upvoted": lambda p: p.upvotes,
    "most_authors": lambda p: None if p.authors_count is None else -p.authors_count,
    "fewest_authors": lambda p: p.authors_count,
}


def filter_papers(papers: Iterable[Paper], filters: QueryFilters) -> list[Paper]:
    """Papers meeting `filters` in the requested order (ties by title, papers lacking the sorted
    field last), cut to the limit; without a sort the given order (relevance, say) is kept."""
    found = [p for p in papers if filters.matches(p)]
    if filters.sort:
        value = _SORT_VALUES[filters.sort]
        found.sort(key=lambda p: (value(p) is None, value(p) or 0, p.title.casefold()))
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
        raise ValueError(f"{name} must be a whole number of at least 0, got {value!r}")
    return value


def _date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{name} must be a date such as 2025-03-01, got {value!r}") from None


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
        raise ValueError(f"year must be between {YEARS[0]} and {YEARS[1]}, got {whole_year}")
    if first and last and first > last:
        raise ValueError(f"since ({first}) must not be after until ({last})")
    low, high = _whole(min_upvotes, "min_upvotes"), _whole(max_upvotes, "max_upvotes")
    if low is not None and high is not None and low > high:
        raise ValueError(f"min_upvotes ({low}) must not exceed max_upvotes ({high})")
    if organization is not None and not isinstance(organization, str):
        raise ValueError(f"organization must be text, got {organization!r}")
    return QueryFilters(whole_year, first, last, low, high, (organization or "").strip() or None)
