"""Question understanding for the digest's metadata: dates, upvotes, authors, organisations.

Design: `parse_question` reads a question with regular expressions in a fixed order; each
phrase it recognises is blanked out of a working copy, so no later rule reads it twice (the
years of "between 2023 and 2024" are not also "2024 papers"; the 3 of "more than 3 upvotes" is
no limit). What is left, minus generic framing ("which papers", "are about", "in the digest"),
is the `topic` the retriever searches for; a question in which nothing is recognised keeps its
wording, so plain questions retrieve exactly as before. The filters are a `rag.search.filters`
record, run over records or turned into a Chroma `where` clause there. All pure: the caller
supplies the reference date (the newest paper's) and the digest's organisations. The words
each rule knows come from the classes of `rag.search.vocabulary`; what is left of a question that
names no subject (`names_subject`) is not searched.

Concessions, each a rule a reader can predict:
- Time expressions are read by `rag.search.when` (its docstring gives the rules): a year is four
  digits 1990-2099 after a time word or before a paper noun ("2025 papers"), months only after
  a time word, windows back from the reference date; vague time ("recently") is not read.
- "latest", "earliest", "most popular" always mean a sort, even when used loosely. A
  superlative is singular (limit 1, every tied paper kept) unless a number or a plural says
  otherwise; an ordinal ("the second most liked") picks the nth value of the sort.
- A comparison ("which came first, X or Y?") needs two named papers, or words that point back
  at the conversation's ("were they posted in the same year?"); otherwise "which was posted
  first" is a superlative over the digest.
- Organisations are found only among the names supplied, or as their lowercase handle without
  spaces ("newmindai"). Chroma compares exact spellings, so filter with the catalogue's.
- `has_organization=True` is no Chroma filter (`$ne` also matches a missing key): apply
  `matches` after retrieval. Authors counts filter ("a single author", "more than 10
  authors"); "no publication date" selects undated papers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from rag.search.filters import QueryFilters
from rag.search.vocabulary import (
    LEAST,
    LEAST_AMOUNT,
    LISTING_STEMS,
    MOST,
    MOST_AMOUNT,
    ORDINAL,
    ORDINALS,
    PAPER_NOUN,
    PEOPLE,
    POPULAR,
    POPULAR_SUPERLATIVE,
    POSTED,
    TEAM,
    VOTE_UNIT,
    stem,
)
from rag.search.when import NUMBER, PUBLISHED, blank, number, time_filters


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
    r"(?:sitting|sits|sit|stuck|standing|tied) at)\s+)?"
)
_ASKS = re.compile(
    rf"(?P<upvotes>\bhow many {_UNIT}|\b(?:number|count) of {_UNIT}|\bwhat(?:'s| is| was)? "
    r"(?:the |its |their )?(?:up-?vote|vote|like)s? (?:count|tally|total|number|score)\b"
    rf"|\bhow (?:popular|well[- ]received|well[- ]liked)\b"
    rf"|\bhow many (?:people|readers|users) (?:liked|up-?voted|voted)\b"
    rf"|\bhow (?:much|many)\b(?!\s+{PEOPLE})(?=.*\b(?:up-?vote|vote|like)s?(?:-wise)?\b)"
    r"|\bhow much (?:buzz|attention|traction|love|interest|hype)\b)"
    rf"|(?P<authors>\bhow (?:many|much) {PEOPLE}|\b(?:number|count) of {PEOPLE}"
    r"|\bhow (?:big|large) "
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
    rf"|\b(?:number|count|total) of {PAPER_NOUN}|\b(?:total )?(?:paper|entry|article) count\b"
    r"|\bhow (?:big|large) is (?:the|this) "
    r"(?:digest|list|listing|collection)\b)"
    rf"|(?P<votes>\btotal (?:number of )?{_UNIT}|\badd(?:ed|ing)? up (?:the |all )?{_UNIT}"
    rf"|\b{_UNIT}(?= (?:in total|altogether|overall|"
    rf"combined)\b)|\bsum of (?:the |all )?{_UNIT}"
    rf"|\bhow many {_UNIT}(?= (?:in total|altogether|overall|combined|across|are there|"
    r"does the (?:digest|list))\b))"
    r"|(?P<years>\b(?:what|which) (?:(?:span|range) of years|years?|time ?span|period|"
    r"date range|time range|range of (?:years|dates)|dates)\b"
    r"(?=.*\b(?:cover|covers|covered|span|spans|spanned|range|ranges|"
    r"come from|from|included|includes|represented)\b)|\byears? (?:covered|spanned)\b"
    r"|\b(?:time ?span|date range|range of (?:years|dates)) of\b)",
    re.I,
)
_HAS_ORGANIZATION = re.compile(
    r"(?P<no>\bnot (?:from|by|under) an? organi[sz]ation\b|\b(?:by|from) (?:individual|"
    r"independent) (?:authors|researchers)\b|\b(?:with|having) an? authors? count\b)"
    rf"|(?P<yes>\b{PUBLISHED}(?:by|from|under|with|credited to|attributed to|listed under|shows?|"
    r"lists?|gives?|has|have|having|carr(?:y|ies)|displays?) "
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
_BARE_YEAR = re.compile(r"(?<![\w.-])(199\d|20\d\d)(?![\w-])")
_THAT_YEAR = re.compile(r"\b(?:that|this|the same|which|what) year\b", re.I)
_EARLIER_PAPERS = re.compile(r"\b(?:they|them|both|these|those|the two|either)\b", re.I)
_PART_SEPARATORS = (r"\s*(?:\bor\b|\bvs\.?|\bversus\b|\bthan\b)\s*", r"\s*(?:,|\band\b|—|–)\s*")
_SORT = re.compile(
    rf"(?P<most_upvoted>\b{MOST}[- ](?:{POPULAR})\b|\btrending\b"
    rf"|\b(?:the )?(?:{MOST}|highest number of|largest number of) {_UNIT}"
    rf"|\b(?:ranked |ordered |sorted )?by (?:the )?(?:number of )?{_UNIT}"
    rf"|\b(?:place|position|spot|rank) (?:for|by|in|on) (?:the )?(?:number of )?{_UNIT}"
    rf"|(?<=runner-up )(?:for|by|in|on) {_UNIT}|(?<=runner up )(?:for|by|in|on) {_UNIT}"
    rf"|\b(?:the )?{POPULAR_SUPERLATIVE}\b)"
    rf"|(?P<least_upvoted>\b{LEAST}[- ](?:{POPULAR})\b"
    rf"|\b(?:the )?(?:{LEAST}|lowest number of|smallest number of) {_UNIT})"
    r"|(?P<oldest>\b(?:oldest|earliest|least recent(?:ly)?|most (?:vintage|antique|ancient)|"
    r"stalest)(?: first)?\b"
    r"|\b(?:in )?(?:date|chronological|time) order\b|\bchronologically\b|\bby date\b"
    rf"|\b(?:the )?first[- ](?:{POSTED}|to (?:appear|be {POSTED}|go up|come out))\b"
    rf"|\b{POSTED} first\b)"
    r"|(?P<newest>\b(?:newest|latest|freshest|most recent(?:ly)?)(?: first)?\b"
    rf"|\b(?:the )?last[- ](?:{POSTED}|(?:one |paper |entry )?to (?:appear|be {POSTED}|go up"
    rf"|come out))\b|\b{POSTED} (?:last|most recently)\b)"
    rf"|(?P<most_authors>\b(?:the )?(?:{MOST}|largest number of|highest number of) {PEOPLE}"
    rf"|\b(?:largest|biggest|longest|widest) {TEAM}|(?P<big>\b(?:big|large|huge) {TEAM}"
    r"|\bbig-team\b))"
    rf"|(?P<fewest_authors>\b(?:the )?(?:fewest|least|smallest number of) {PEOPLE}"
    rf"|\b(?:smallest|shortest|tiniest) {TEAM}|(?P<small>\b(?:small|tiny) {TEAM}|\bsmall-team\b))",
    re.I,
)
# "with 'Neural Collapse' in the title", "titled “Parrot”", "whose title mentions entropy".
_QUOTE_OPEN, _QUOTE_CLOSE = "['\"\u201c\u2018]", "['\"\u201d\u2019]"
_TITLE = re.compile(
    rf"\b(?:with|having|that have|has|have|containing|contain) {_QUOTE_OPEN}?(?P<a>[^'\"\u201d?]+?)"
    rf"{_QUOTE_CLOSE}? (?:right |directly )?in (?:the|their|its) titles?\b"
    rf"|\b(?:titled|called|named) {_QUOTE_OPEN}(?P<b>[^'\"\u201d\u2019]+){_QUOTE_CLOSE}"
    r"|\b(?:titled|called|named) (?:with )?the (?:word|phrase|term) (?P<d>[^'\"?,.]+?)(?=[?,.]|$)"
    rf"|\btitles? (?:that )?(?:contains?|containing|mentions?|mentioning|includes?|including|"
    rf"with|has|have) (?:the (?:word|phrase|term) )?{_QUOTE_OPEN}?(?P<c>[^'\"\u201d?,]+?)"
    rf"{_QUOTE_CLOSE}?(?=[?,.]|$)",
    re.I,
)
# "Which has the most?": an amount's end with nothing after it but "of all".
_NOTHING_AFTER = r"(?=\s*(?:[?.!,;]|$|of (?:all|them|those|these)\b))"
_AMOUNT_END = rf"\b(?:the )?({MOST_AMOUNT}|{LEAST_AMOUNT})\b"
_BARE_SUPERLATIVE = re.compile(_AMOUNT_END + _NOTHING_AFTER, re.I)
_NTH = re.compile(rf"\b{ORDINAL}\b(?:[- ](?:most|highest|best))?", re.I)
# Upvote bounds as (pattern, min step, max step) around the number n: "more than 3" is n + 1.
# Order matters: comparisons before the bare "3 upvotes", which means exactly 3.
_UPVOTE_WORDS: list[tuple[str, int | None, int | None]] = [
    ("more than|over|above|greater than|bigger than|larger than", 1, None),
    ("at least|no fewer than|no less than", 0, None),
    ("fewer than|less than|under|below|smaller than", None, -1),
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
    # "written by a team of three", "a group of exactly four".
    (
        rf"\b{TEAM} of (?:exactly |just |only )?{NUMBER}\b(?!\s*(?:\+|or more|or fewer|or less))",
        0,
        0,
    ),
    (rf"\b{NUMBER}\s*(?:\+|or more)\s*{_AUTHOR_UNIT}", 0, None),
    (rf"\b{NUMBER}\s+or (?:fewer|less)\s+{_AUTHOR_UNIT}", None, 0),
    (rf"\b(?:exactly |just |only )?{NUMBER}[- ]{_AUTHOR_UNIT}", 0, 0),
]
# "papers not from 2025", "anything outside 2024"; "without an author count".
_NOT_YEAR = re.compile(
    r"\b(?:not|n't) (?:from|in|published in|dated|posted in)\s+(?P<year>(?:199\d|20\d\d))\b"
    r"|\b(?:outside(?: of)?|other than|excluding|except(?: for)?|apart from|besides)\s+"
    r"(?:the year\s+)?(?P<year2>(?:199\d|20\d\d))\b",
    re.I,
)
_NO_AUTHORS_COUNT = re.compile(
    r"\b(?:without|no|missing|lacking|with no)(?: an?| any| the)? (?:author|authors)(?:'s)? "
    r"(?:count|number|list)s?\b",
    re.I,
)
_UNDATED = re.compile(
    r"\b(?:no|without(?: a| any)?|missing(?: a| the)?|lacking(?: a| the)?|missing their) "
    r"(?:publication |release |posting |posted )?dates?\b|\bundated\b|\bnot dated\b"
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
    (
        r"\b(?:nobody|no one|no-one|none of (?:the )?readers)\s+(?:has\s+|have\s+|had\s+)?"
        r"(?:up-?voted|voted for|voted on|liked)\b|\b(?:not|never|n't)\s+(?:been\s+|yet\s+)?"
        r"(?:up-?voted|liked)\b|\bunvoted\b",
        None,
        0,
    ),
    (rf"\b{_HAS}(?:exactly )?{NUMBER}\s+{_UNIT}", 0, 0),
    # "cracked double digits in upvotes": ten or more.
    (rf"\bdouble[- ]digits?(?: (?:in|of) {_UNIT})?|\bdouble[- ]digit {_UNIT}", 10, None),
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


def comparison_field(question: str) -> str | None:
    """The field a comparison asks about ("which came first?" -> "date"), or None."""
    match = _COMPARE.search(question)
    return match.lastgroup if match else None


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
    listing itself ("entries", "went up", "got"; see `rag.search.vocabulary.LISTING_STEMS`)."""
    words = re.findall(r"[^\W\d_]+", topic)
    return any(stem(w) not in LISTING_STEMS and len(w) > 1 for w in words)


# Words of organisation names that do not tell one organisation from another.
_GENERIC_ORG_WORDS = frozenset(
    "ai the of at and for in lab labs research university institute institution school "
    "college center centre team group inc ltd co corp company academy foundation".split()
)


def _organization(work: str, organizations: Collection[str]) -> tuple[str | None, str]:
    """The first organisation named (longest names tried first), by name or handle, else by a
    word of its name that no other organisation has ("Meta" for "AI at Meta")."""
    for name in sorted(organizations, key=len, reverse=True):
        handle = re.sub(r"[^a-z0-9]", "", name.lower())
        names = r"\s+".join(map(re.escape, name.split())) + (
            f"|{handle}" if len(handle) > 2 else ""
        )
        if m := _named(names, work):
            return name, blank(work, m)
    owners: dict[str, list[str]] = {}
    for name in organizations:
        for word in {w.lower() for w in re.findall(r"[\w-]+", name)}:
            if len(word) > 2 and word not in _GENERIC_ORG_WORDS:
                owners.setdefault(word, []).append(name)
    for word, names_with_it in sorted(owners.items()):
        # A proper name is written capitalised: "Meta", not the "meta" of "meta-analysis".
        if len(names_with_it) == 1 and (m := _named(re.escape(word), work, proper=True)):
            return names_with_it[0], blank(work, m)
    return None, work


def _named(names: str, work: str, proper: bool = False) -> re.Match | None:
    pattern = rf"(?:\b(?:by|from|at|of)\s+)?(?<![\w-])(?:{names})(?:'s)?(?![\w-])"
    for m in re.finditer(pattern, work, re.I):
        if not proper or m.group(0).split()[-1][:1].isupper():
            return m
    return None


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


def _read_authors(work: str) -> tuple[int | None, int | None, str]:
    """Bounds on the authors count ("a single author", "more than 10 authors")."""
    for pattern, low, high in _AUTHOR_RULES:
        if m := re.search(pattern, work, re.I):
            if "n" in m.groupdict():
                count = number(m)
                low = None if low is None else count + low
                high = None if high is None else count + high
            # "a solo effort, written by a single researcher" says it twice.
            for again in re.finditer(pattern, work, re.I):
                work = blank(work, again)
            return low, high, work
    return None, None, work


def _read_upvotes(work: str) -> tuple[int | None, int | None, str]:
    """Bounds on the upvotes ("more than 3 votes", "exactly two likes", "no upvotes")."""
    low = high = None
    for pattern, low_step, high_step in _UPVOTE_RULES:
        for m in re.finditer(pattern, work, re.I):
            low = low if low_step is None else number(m) + low_step
            high = high if high_step is None else number(m) + high_step
            work = blank(work, m)
    return low, high, work


def _read_sort(work: str, question: str) -> tuple[str | None, re.Match | None, str]:
    """The order asked for, the phrase that asked for it, and `work` without it."""
    if sort_match := _SORT.search(work):
        sort = sort_match.lastgroup
        # "the runner-up by votes, the second most liked": one sort, however often it is said.
        for again in _SORT.finditer(work):
            work = blank(work, again) if again.lastgroup == sort else work
        return sort, sort_match, work
    if m := _BARE_SUPERLATIVE.search(work):
        # "Among entries that show a vote count, which has the fewest?": the field is named
        # elsewhere in the question.
        if sort := _bare_sort(m.group(1), question):
            return sort, m, blank(work, m)
    return None, None, work


def _read_limit(work: str, sort_match: re.Match | None) -> tuple[int | None, str]:
    """How many papers a question asks for ("top 3", "the 5 newest papers")."""
    cut = sort_match.start() if sort_match else 0
    for pattern in (
        rf"\btop\s+{NUMBER}",
        rf"\b{NUMBER}\s*(?:of the\s+)?$" if sort_match else None,
        rf"\b{NUMBER}(?=\s+(?:[\w-]+\s+){{0,3}}?(?:papers|articles|publications)\b)",
    ):
        if pattern and (m := re.search(pattern, work[:cut] if "$" in pattern else work, re.I)):
            return number(m), blank(work, m)
    descriptive = sort_match and any(sort_match.groupdict().get(g) for g in ("big", "small"))
    if sort_match and not descriptive:
        # "big teams" describes papers; "the biggest team" asks for one.
        return _grammatical_limit(work[:cut], work[sort_match.end() :]), work
    return None, work


def _is_listing(question: str, filters: QueryFilters, asks_for: str | None) -> bool:
    """Papers in bulk rather than one paper or one fact."""
    if filters.limit == 1 or filters.nth or asks_for and not _LISTING.search(question):
        return False
    constrained = not replace(filters, sort=None, limit=None).is_empty()
    return bool(
        (filters.limit or 0) > 1
        or _LISTING.search(question)
        or filters.sort
        or constrained
        and not _SINGULAR.search(question)
    )


def parse_question(
    question: str, reference_date: dt.date, organizations: Collection[str] = ()
) -> ParsedQuestion:
    """Filters, sort, limit, asked-for field and topic of a question (rules: module notes)."""
    # Before the asked-for fields: "no publication date" is a filter, not a question about one.
    flags, work = _read_flags(question)
    if m := _COMPARE.search(work):
        parts = compared_parts(blank(work, m))
        # Two papers named, or papers of the conversation ("were they posted the same year?");
        # otherwise "which was posted first" is a superlative over the whole digest.
        if parts or _EARLIER_PAPERS.search(question):
            empty = QueryFilters()
            return ParsedQuestion(question, "", empty, None, False, None, m.lastgroup, parts)
    asks_for = aggregate = None
    if m := _AGGREGATE.search(work):
        aggregate, work = m.lastgroup, blank(work, m)
    elif m := _ASKS.search(work):
        asks_for, work = m.lastgroup, blank(work, m)
    bounds, work = _read_bounds(work, question, reference_date, organizations, aggregate)
    filters = QueryFilters(**flags, **bounds)
    untouched = filters.is_empty() and asks_for is None and aggregate is None
    topic = question if untouched else _topic(work)
    if not untouched and not names_subject(topic):
        # Once the metadata is read, "which entries went up" has nothing left to search for.
        topic = ""
    listing = _is_listing(question, filters, asks_for)
    return ParsedQuestion(question, topic, filters, asks_for, listing, aggregate)


def _read_flags(work: str) -> tuple[dict[str, Any], str]:
    """What a paper's record must or must not hold: a date, a year it is not from, an authors
    count, title words, an organisation; and `work` without those phrases."""
    flags: dict[str, Any] = {}
    if m := _UNDATED.search(work) or _DATED.search(work):
        flags["dated"], work = m.re is _DATED, blank(work, m)
    if m := _NOT_YEAR.search(work):
        flags["not_year"], work = int(m.group("year") or m.group("year2")), blank(work, m)
    if m := _NO_AUTHORS_COUNT.search(work):
        flags["has_authors_count"], work = False, blank(work, m)
    if m := _TITLE.search(work):
        flags["title_words"] = (
            m.group("a") or m.group("b") or m.group("c") or m.group("d")
        ).strip()
        work = blank(work, m)
    if m := _HAS_ORGANIZATION.search(work):
        flags["has_organization"], work = m.lastgroup == "yes", blank(work, m)
    return flags, work


def _read_bounds(
    work: str,
    question: str,
    reference_date: dt.date,
    organizations: Collection[str],
    aggregate: str | None,
) -> tuple[dict[str, Any], str]:
    """Organisation, authors, dates, upvotes, sort, rank and limit; `work` without them."""
    bounds: dict[str, Any] = {}
    bounds["organization"], work = _organization(work, organizations)
    bounds["min_authors"], bounds["max_authors"], work = _read_authors(work)
    found, work = time_filters(work, reference_date)
    if not found and (aggregate or _THAT_YEAR.search(work)) and (m := _BARE_YEAR.search(work)):
        # "2024 — how many papers come from that year?": a lone year in a question about the
        # listing is the year asked about, wherever it stands.
        found, work = {"year": int(m.group(1))}, blank(work, m)
    bounds.update(found)
    low, high, work = _read_upvotes(work)
    bounds["sort"], sort_match, work = _read_sort(work, question)
    if low is None and high is None and (m := re.search(_ANY_UPVOTES, work, re.I)):
        low, work = 1, blank(work, m)  # "with upvotes", "upvoted": after "most upvoted"
    bounds["min_upvotes"], bounds["max_upvotes"] = low, high
    nth = None
    if sort_match and (m := _NTH.search(work)):
        # "the second most liked", "the runner-up by votes", "the next most recent".
        nth = ORDINALS[m.group("nth").lower()]
        for again in _NTH.finditer(work):
            work = blank(work, again)
    bounds["nth"] = nth
    bounds["limit"], work = _read_limit(work, sort_match) if not nth else (None, work)
    return bounds, work
