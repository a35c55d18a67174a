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

import calendar
import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, fields, replace

from rag.records import Paper
from rag.vocabulary import (
    LISTING_STEMS,
    ORDINAL,
    ORDINALS,
    PAPER_NOUN,
    PEOPLE,
    POPULAR,
    POSTED,
    TEAM,
    VOTE_UNIT,
    stem,
)
from rag.when import NUMBER, PUBLISHED, blank, number, time_filters

SORTS = ("newest", "oldest", "most_upvoted", "least_upvoted", "most_authors", "fewest_authors")
YEARS = (1990, 2099)
CHIP_YEAR, CHIP_SINCE, CHIP_UNTIL = "year: {}", "since {}", "until {}"
CHIP_MIN_UPVOTES, CHIP_MAX_UPVOTES = "≥ {} upvotes", "≤ {} upvotes"
CHIP_ORGANIZATION, CHIP_SORT, CHIP_LIMIT = "organisation: {}", "sorted: {}", "top {}"
CHIP_HAS_ORGANIZATION = {True: "with an organisation", False: "with an authors count"}
CHIP_MIN_AUTHORS, CHIP_MAX_AUTHORS, CHIP_AUTHORS = "≥ {} authors", "≤ {} authors", "authors: {}"
CHIP_DATED = {True: "dated", False: "undated"}
CHIP_MONTH_DAY = "dated {} (any year)"
CHIP_NTH = "rank {}"
CHIP_TITLE = "title contains \u201c{}\u201d"
AGGREGATES = ("count", "years", "votes")


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
    month: int | None = None  # in any year
    day: int | None = None  # of `month`, in any year
    sort: str | None = None  # one of SORTS
    limit: int | None = None
    nth: int | None = None  # the nth value of the sort ("the second most upvoted"), ties kept
    title_words: str | None = None  # words the title contains, any case

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


@dataclass(frozen=True)
class ParsedQuestion:
    """A question split into what to search for and what the metadata must satisfy."""

    question: str
    topic: str  # what to retrieve; "" when nothing topical is left
    filters: QueryFilters
    asks_for: str | None  # "authors" | "date" | "upvotes" | "organization" of one paper
    is_listing: bool  # papers in bulk rather than one fact
    aggregate: str | None = None  # "count" | "years" | "votes": the matching papers as a whole
    compare: str | None = None  # "date" | "upvotes" | "authors": of the papers named in `parts`
    parts: tuple[str, ...] = ()  # how the compared papers are named ("EPO", "the VAE paper")


_UNIT = VOTE_UNIT
_HAS = (
    r"(?:(?:with|having|has|have|got|received|earned|by|reached|reaching|picked up|collected|"
    r"(?:sitting|sits|sit|stuck|standing) at)\s+)?"
)
_ASKS = re.compile(
    rf"(?P<upvotes>\bhow many {_UNIT}|\b(?:number|count) of {_UNIT}|\bwhat(?:'s| is| was)? "
    r"(?:the |its |their )?(?:up-?vote|vote|like)s? (?:count|tally|total|number|score)\b"
    rf"|\bhow (?:popular|well[- ]received|well[- ]liked)\b"
    rf"|\bhow many (?:people|readers|users) (?:liked|up-?voted|voted)\b)"
    rf"|(?P<authors>\bhow many {PEOPLE}|\b(?:number|count) of {PEOPLE}|\bhow (?:big|large) "
    r"(?:was |is )?(?:the |its |their )?(?:team|author list)\b"
    r"|\b(?:what(?:'s| is| was)?|the|its) (?:team|author) (?:size|count)\b)"
    r"|(?P<date>^\s*when (?:was|were|did|is|does|has|had|do|exactly|roughly)\b"
    r"|\bwhat (?:year|date|day|month)\b|\b(?:publication|posting|release|"
    r"upload) (?:date|year)\b|\bdate of\b|\bhow (?:old|recent) is\b)"
    r"|(?P<organization>\bwho (?:published|wrote|authored|released|made|is behind)\b"
    r"|\b(?:which|what) (?:organi[sz]ation|org|company|lab|institution)\b)",
    re.I,
)
# Questions about the digest as a whole: how many papers, which years it spans.
_AGGREGATE = re.compile(
    rf"(?P<count>\bhow (?:many|much) (?:of (?:the|these|its|all the) )?"
    rf"(?:(?!{PEOPLE}|{_UNIT})[\w-]+ ){{0,2}}?{PAPER_NOUN}"
    rf"|\b(?:number|count|total) of {PAPER_NOUN}|\bhow (?:big|large) is (?:the|this) "
    r"(?:digest|list|listing|collection)\b)"
    rf"|(?P<votes>\btotal (?:number of )?{_UNIT}|\b{_UNIT}(?= (?:in total|altogether|overall|"
    rf"combined)\b)|\bsum of (?:the |all )?{_UNIT}|\bhow many {_UNIT}(?= (?:in total|altogether|"
    r"overall|combined|across|are there|does the (?:digest|list))\b))"
    r"|(?P<years>\b(?:what|which) (?:years?|time ?span|period|date range|time range|range of "
    r"(?:years|dates)|dates)\b(?=.*\b(?:cover|covers|covered|span|spans|spanned|range|ranges|"
    r"come from|from|included|includes|represented)\b)|\byears? (?:covered|spanned)\b"
    r"|\b(?:time ?span|date range|range of (?:years|dates)) of\b)",
    re.I,
)
_HAS_ORGANIZATION = re.compile(
    r"(?P<no>\bnot (?:from|by|under) an? organi[sz]ation\b|\b(?:by|from) (?:individual|"
    r"independent) (?:authors|researchers)\b|\b(?:with|having) an? authors? count\b)"
    rf"|(?P<yes>\b{PUBLISHED}(?:by|from|under|with|credited to|attributed to|listed under|shows?|"
    r"lists?|gives?) "
    r"(?:an? |any |some )?(?:organi[sz]ations?|compan(?:y|ies)|labs?|institutions?|industry|orgs?)"
    r"(?: names?)?"
    r"(?:/(?:organi[sz]ations?|compan(?:y|ies)|labs?|institutions?))?\b"
    r"(?:\s+(?:rather than|instead of) (?:a list of |individual |named |an? )?authors?"
    r"(?: count)?)?)",
    re.I,
)
# "Which came first, X or Y?", "Is X older than Y?", "Were they posted in the same year?"
_COMPARE = re.compile(
    r"(?P<date>\bwhich (?:one |paper |of (?:the|them|these|those)(?: two)? )?(?:came|comes|was|"
    r"is|got|went|appeared|showed|were)?\s*(?:out |up |posted |published |released |listed "
    r"|added )?(?:first|earlier|sooner|older|newer|later|more recent(?:ly)?)\b"
    r"|\b(?:older|newer|earlier|later|more recent)(?= than\b)|\b(?:in |on )?the same (?:year|month|"
    r"day|date)\b|\bbefore or after\b)"
    rf"|(?P<upvotes>(?<!or )\b(?:more|fewer|less) (?:{_UNIT}|popular\b|liked\b))"
    rf"|(?P<authors>(?<!or )\b(?:more|fewer|less) {PEOPLE}|\b(?:bigger|larger|smaller) {TEAM})",
    re.I,
)
_EARLIER_PAPERS = re.compile(r"\b(?:they|them|both|these|those|the two|either)\b", re.I)
_PART_SEPARATORS = (r"\s*(?:\bor\b|\bvs\.?|\bversus\b|\bthan\b)\s*", r"\s*(?:,|\band\b|—|–)\s*")
_MOST = r"(?:most|highest|best|top|greatest|biggest|largest)"
_LEAST = r"(?:least|lowest|fewest|smallest|worst)"
_SORT = re.compile(
    rf"(?P<most_upvoted>\b{_MOST}[- ](?:{POPULAR})\b|\btrending\b"
    rf"|\b(?:the )?(?:{_MOST}|highest number of|largest number of) {_UNIT}"
    rf"|\b(?:ranked |ordered |sorted )?by (?:the )?(?:number of )?{_UNIT}"
    rf"|\b(?:place|position|spot|rank) (?:for|by|in|on) (?:the )?(?:number of )?{_UNIT})"
    rf"|(?P<least_upvoted>\b{_LEAST}[- ](?:{POPULAR})\b"
    rf"|\b(?:the )?(?:{_LEAST}|lowest number of|smallest number of) {_UNIT})"
    r"|(?P<oldest>\b(?:oldest|earliest|least recent(?:ly)?)(?: first)?\b"
    r"|\b(?:in )?(?:date|chronological|time) order\b|\bchronologically\b|\bby date\b"
    rf"|\b(?:the )?first[- ](?:{POSTED}|to (?:appear|be {POSTED}|go up|come out))\b"
    rf"|\b{POSTED} first\b)"
    r"|(?P<newest>\b(?:newest|latest|freshest|most recent(?:ly)?)(?: first)?\b"
    rf"|\b(?:the )?last[- ](?:{POSTED}|(?:one |paper |entry )?to (?:appear|be {POSTED}|go up"
    rf"|come out))\b|\b{POSTED} (?:last|most recently)\b)"
    rf"|(?P<most_authors>\b(?:the )?(?:{_MOST}|largest number of|highest number of) {PEOPLE}"
    rf"|\b(?:largest|biggest|longest|widest) {TEAM}|\b(?:big|large|huge) {TEAM}|\bbig-team\b)"
    rf"|(?P<fewest_authors>\b(?:the )?(?:fewest|least|smallest number of) {PEOPLE}"
    rf"|\b(?:smallest|shortest|tiniest) {TEAM}|\b(?:small|tiny) {TEAM}|\bsmall-team\b)",
    re.I,
)
# "with 'Neural Collapse' in the title", "titled “Parrot”", "whose title mentions entropy".
_QUOTE_OPEN, _QUOTE_CLOSE = "['\"\u201c\u2018]", "['\"\u201d\u2019]"
_TITLE = re.compile(
    rf"\b(?:with|having|that have|has|have|containing|contain) {_QUOTE_OPEN}?(?P<a>[^'\"\u201d?]+?)"
    rf"{_QUOTE_CLOSE}? in (?:the|their|its) titles?\b"
    rf"|\b(?:titled|called|named) {_QUOTE_OPEN}(?P<b>[^'\"\u201d\u2019]+){_QUOTE_CLOSE}"
    r"|\b(?:titled|called|named) (?:with )?the (?:word|phrase|term) (?P<d>[^'\"?,.]+?)(?=[?,.]|$)"
    rf"|\btitles? (?:that )?(?:contains?|containing|mentions?|mentioning|includes?|including|"
    rf"with|has|have) (?:the (?:word|phrase|term) )?{_QUOTE_OPEN}?(?P<c>[^'\"\u201d?,]+?)"
    rf"{_QUOTE_CLOSE}?(?=[?,.]|$)",
    re.I,
)
_BARE_SUPERLATIVE = re.compile(
    r"\b(?:the )?(most|highest|greatest|largest|biggest|fewest|least|lowest|smallest)\b"
    r"(?=\s*(?:[?.!,;]|$|of (?:all|them|those|these)\b))",
    re.I,
)
_NTH = re.compile(rf"\b{ORDINAL}\b(?:[- ](?:most|highest|best))?", re.I)
# Upvote bounds as (pattern, min step, max step) around the number n: "more than 3" is n + 1.
# Order matters: comparisons before the bare "3 upvotes", which means exactly 3.
_UPVOTE_WORDS: list[tuple[str, int | None, int | None]] = [
    ("more than|over|above|greater than", 1, None),
    ("at least|no fewer than|no less than", 0, None),
    ("fewer than|less than|under|below", None, -1),
    ("at most|no more than|up to", None, 0),
]
_AUTHOR_UNIT = PEOPLE
_AUTHOR_RULES = [
    (
        r"\b(?:a )?(?:single|one|sole|solo|lone)[- ](?:author(?:ed)?|researcher|person|writer"
        r"|scientist)\b|\bsolo\b|\bwritten (?:alone|by one (?:person|author))\b|\bby "
        r"(?:him|her|them)sel(?:f|ves)\b|\bone-person\b",
        1,
        1,
    ),
    (r"\b(?:a )?(?:pair|duo|couple) of " + PEOPLE + r"|\b(?:a )?duo\b", 2, 2),
    (r"\b(?:a )?trio\b", 3, 3),
] + [(rf"\b{_HAS}(?:{words}) {NUMBER}\s+{_AUTHOR_UNIT}", lo, hi) for words, lo, hi in _UPVOTE_WORDS]
_AUTHOR_RULES += [
    (rf"\b{NUMBER}\s*(?:\+|or more)\s*{_AUTHOR_UNIT}", 0, None),
    (rf"\b{NUMBER}\s+or (?:fewer|less)\s+{_AUTHOR_UNIT}", None, 0),
    (rf"\b(?:exactly |just |only )?{NUMBER}[- ]{_AUTHOR_UNIT}", 0, 0),
]
_UNDATED = re.compile(
    r"\b(?:no|without(?: a| any)?|missing(?: a)?|lacking(?: a)?|missing their) (?:publication |"
    r"release |posting )?dates?\b|\bundated\b|\bnot dated\b"
    r"|\b(?:no|without|missing|lacking)(?: their| its| any)? (?:metadata|listing details)\b",
    re.IGNORECASE,
)
_DATED = re.compile(
    r"\b(?:with|having|has|have|shows?|showing|carr(?:y|ies)|gives?|lists?)\s+(?:a |an )?"
    r"(?:known |listed |publication |posting |release )?date\b",
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
# "just a single vote": "single" is no number word elsewhere ("a single paper on X" is no limit).
_UPVOTE_RULES += [(rf"\b{_HAS}(?:just |only |exactly )?(?:a )?single {_UNIT}", 1, 1)]
# Read after the sorts, so that "most upvoted" is not taken for "upvoted".
_ANY_UPVOTES = (
    rf"\b{_HAS}(?:any|some|at least one)\s+{_UNIT}|\b(?:with|has|have) {_UNIT}\b|\bupvoted\b"
    rf"|\b(?:pick|picked|get|got|receive|received|earn|earned|draw|drew) (?:up )?{_UNIT}"
    r"|\b(?:with|having|has|have|shows?|showing|displays?|lists?|carr(?:y|ies))\s+(?:a |an |any )?"
    r"(?:up-?vote|vote|like) (?:count|number|tally|total)s?\b"
)
_GENERIC = re.compile(
    r"\b(?:in|from|of) (?:the|this) digest\b|\b(?:show|tell|give) me\b|\bdo you have\b|"
    r"\b(?:are|is) there\b|\b(?:are|is) about\b|\b(?:published|released|came out|come out)\b|"
    rf"\b{PAPER_NOUN}\b",
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
_LISTING = re.compile(
    r"^\s*(?:list|show|name|find|give)\b|\ball\b|\b(?:papers|articles|entries|ones|items)\b",
    re.I,
)
_SINGULAR = re.compile(r"\b(?:paper|article|publication|one|entry|item)\b", re.I)


def compared_parts(work: str) -> tuple[str, ...]:
    """The names of two or more compared papers: "EPO or the Metacognitive Reuse paper"."""
    for separator in _PART_SEPARATORS:
        parts = [_topic(p) for p in re.split(separator, work)]
        parts = [p for p in parts if names_subject(p)]
        if len(parts) >= 2:
            return tuple(parts)
    return ()


def _bare_sort(word: str, question: str) -> str | None:
    """The sort a bare superlative asks for, from the field the question names elsewhere."""
    most = word.lower() in ("most", "highest", "greatest", "largest", "biggest")
    if re.search(rf"\b{_UNIT}|\b{POPULAR}\b", question, re.I):
        return "most_upvoted" if most else "least_upvoted"
    if re.search(rf"\b{PEOPLE}|\b{TEAM}\b", question, re.I):
        return "most_authors" if most else "fewest_authors"
    return None


def names_subject(topic: str) -> bool:
    """Whether what is left of a question names a subject: a word that is not about the
    listing itself ("entries", "went up", "got"; see `rag.vocabulary.LISTING_STEMS`)."""
    words = re.findall(r"[^\W\d_]+", topic)
    return any(stem(w) not in LISTING_STEMS and len(w) > 1 for w in words)


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
    elif m := _DATED.search(work):
        dated, work = True, blank(work, m)
    title_words = None
    if m := _TITLE.search(work):
        words = m.group("a") or m.group("b") or m.group("c") or m.group("d")
        title_words, work = words.strip(), blank(work, m)
    if m := _HAS_ORGANIZATION.search(work):
        has_organization, work = m.lastgroup == "yes", blank(work, m)
    if m := _COMPARE.search(work):
        parts = compared_parts(blank(work, m))
        # Two papers named, or papers of the conversation ("were they posted the same year?");
        # otherwise "which was posted first" is a superlative over the whole digest.
        if len(parts) >= 2 or _EARLIER_PAPERS.search(question):
            return ParsedQuestion(
                question, "", QueryFilters(), None, False, None, m.lastgroup, parts
            )
    aggregate = None
    if m := _AGGREGATE.search(work):
        aggregate, work = m.lastgroup, blank(work, m)
    elif m := _ASKS.search(work):
        asks_for, work = m.lastgroup, blank(work, m)
    organization, work = _organization(work, organizations)
    authors_low = authors_high = None
    for pattern, low_value, high_value in _AUTHOR_RULES:
        if m := re.search(pattern, work, re.I):
            if "n" in m.groupdict():
                count = number(m)
                low_value = None if low_value is None else count + low_value
                high_value = None if high_value is None else count + high_value
            authors_low, authors_high = low_value, high_value
            # "a solo effort, written by a single researcher" says it twice.
            for again in re.finditer(pattern, work, re.I):
                work = blank(work, again)
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
        sort = sort_match.lastgroup
        # "the runner-up by votes, the second most liked": one sort, however often it is said.
        for again in _SORT.finditer(work):
            work = blank(work, again) if again.lastgroup == sort else work
    elif m := _BARE_SUPERLATIVE.search(work):
        # "Among entries that show a vote count, which has the fewest?": the field is named
        # elsewhere in the question.
        sort = _bare_sort(m.group(1), question)
        if sort:
            sort_match, work = m, blank(work, m)
    if low is None and high is None and (m := re.search(_ANY_UPVOTES, work, re.I)):
        low, work = 1, blank(work, m)  # "with upvotes", "upvoted": after "most upvoted"
    nth = None
    if sort_match and (m := _NTH.search(work)):
        # "the second most liked", "the runner-up by votes", "the next most recent".
        nth = ORDINALS[m.group("nth").lower()]
        for again in _NTH.finditer(work):
            work = blank(work, again)
    limit, cut = None, sort_match.start() if sort_match else 0
    for pattern in (
        rf"\btop\s+{NUMBER}",
        rf"\b{NUMBER}\s*(?:of the\s+)?$" if sort_match else None,
        rf"\b{NUMBER}(?=\s+(?:[\w-]+\s+){{0,3}}?(?:papers|articles|publications)\b)",
    ):
        if pattern and (m := re.search(pattern, work[:cut] if "$" in pattern else work, re.I)):
            limit, work = number(m), blank(work, m)
            break
    if limit is None and sort_match and not nth:
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
        nth=nth,
        title_words=title_words,
    )
    if limit == 1 or nth or asks_for and not _LISTING.search(question):
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
    untouched = filters.is_empty() and asks_for is None and aggregate is None
    topic = question if untouched else _topic(work)
    if not untouched and not names_subject(topic):
        # Once the metadata is read, "which entries went up" has nothing left to search for.
        topic = ""
    return ParsedQuestion(question, topic, filters, asks_for, listing, aggregate)


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
    field last), cut to the limit; without a sort the given order (relevance, say) is kept. A
    superlative ("the most upvoted", limit 1) or an ordinal (`nth`) keeps every paper that ties
    for that value, so a tie is shown rather than broken silently."""
    found = [p for p in papers if filters.matches(p)]
    if filters.sort:
        value = _SORT_VALUES[filters.sort]
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
