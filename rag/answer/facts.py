"""Answers to metadata questions, composed from the paper records themselves.

"Which papers are from 2023?", "the most upvoted paper", "how many authors wrote X": the
digest's own fields answer these exactly, so no sentence is extracted and no model is asked.
`compose_listing` names papers already filtered and ordered by the caller (`rag.search.query`);
`compose_field_answer` states one field of one paper. Every paper named is cited, numbered in
the order listed, with its first abstract sentence as the snippet. Concessions: a listing
shows at most `MAX_LISTED` papers (it says how many more match); a tie for a superlative is
broken by title, silently; the source score of a paper matched by metadata alone is 1.0,
since the match is certain rather than a similarity.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence

from rag.answer.compose import with_citation
from rag.ingest.chunking import split_sentences
from rag.records import Answer, Citation, Paper, Source, short_title
from rag.search.filters import SORT_ORDERS, QueryFilters, filter_papers
from rag.search.query import ParsedQuestion

MAX_LISTED = 10
MODE = "metadata"
METADATA_MATCH_SCORE = 1.0

NO_MATCH = "No paper in the digest {predicate}."
NO_MATCH_ANY = "matches the question"
COUNT_LEAD = "{count} {papers} in the digest {predicate}{order}:"
ALL_LEAD = "The digest lists {count} {papers}{order}:"
TOP_LEAD = "The {count} {superlative} in the digest{scope}:"
SINGLE_LEAD = "The {superlative} in the digest{scope} is \u201c{title}\u201d{detail}"
TIE_LEAD = "{papers} tie as the {superlative} in the digest{scope}{detail}."
YEARS_LEAD = (
    "The digest's {count} span {first} to {last}: {counts}. The oldest is \u201c{oldest}\u201d"
    " ({oldest_date}) [1] and the newest \u201c{newest}\u201d ({newest_date}) [2]."
)
YEARS_ONE = "The only dated paper is \u201c{title}\u201d ({date}) [1]."
YEARS_UNDATED = "{papers} {verb} no date."
VOTES_LEAD = "The papers in the digest{scope} have {total} in total, on {voted} of {count}:"
COMPARE_LEAD = {
    "date": "{first} came first; then {rest}.",
    "upvotes": "{first} has the most upvotes; then {rest}.",
    "authors": "{first} has the most authors; then {rest}.",
}
SAME_YEAR = "Both are from {year} [1][2]."
COMPARE_SAME = "{papers} have the same {field}."
FIELD_WORDS = {"date": "date", "upvotes": "number of upvotes", "authors": "number of authors"}
CHECK_YES, CHECK_NO = "Yes:", "No:"
RUNNERS_UP = "Next {verb} {papers} ({detail}) {marks}."
MAX_RUNNERS_UP = 3
ORDINAL_WORDS = {2: "second", 3: "third", 4: "fourth", 5: "fifth"}
MORE_PAPERS = "{count} more {papers} match but are not listed."
PAPER_LINE = "- \u201c{title}\u201d ({details})"
TOPIC_SCOPE = "related to \u201c{topic}\u201d"
SCOPE_PUBLISHED = "published {dates}"
SCOPE_YEAR = "in {year}"
SCOPE_MONTH = "in {month} of any year"
SCOPE_DAY = "on {month} {day} of any year"
SCOPE_NOT_YEAR = "published in a year other than {year}"
SCOPE_COUNTED = {True: "an authors count", False: "no authors count"}
SCOPE_TITLE = "\u201c{words}\u201d in the title"
SCOPE_BETWEEN = "between {since} and {until}"
SCOPE_SINCE = "since {day}"
SCOPE_UNTIL = "on or before {day}"
SCOPE_EXACTLY = "exactly {upvotes}"
SCOPE_AT_LEAST = "at least {upvotes}"
SCOPE_AT_MOST = "at most {upvotes}"
SCOPE_ORGANIZATION = "published by {organization}"
SCOPE_HAS_ORGANIZATION = {
    True: ("is", "listed under an organisation"),
    False: ("has", "an authors count"),
}
SCOPE_DATED = {True: "a publication date", False: "no publication date"}
WITH = "with {phrase}"
VERB_FORMS = {"was": ("was", "were"), "has": ("has", "have"), "is": ("is", "are")}
UNDATED = "undated"
YEAR_INFERRED = "year inferred"

FIELD_SENTENCES = {
    "authors": "\u201c{title}\u201d has {authors}.",
    "date": "\u201c{title}\u201d was published on {date}{inferred}.",
    "upvotes": "\u201c{title}\u201d has {upvotes}.",
    "organization": "\u201c{title}\u201d was published by {organization}.",
}
FIELD_NAMES = {
    "authors": "authors count",
    "date": "publication date",
    "organization": "organisation",
}
UNKNOWN_FIELD = "The digest lists no {name} for \u201c{title}\u201d{instead}."
INSTEAD_ORGANIZATION = "; it is listed under {organization}"
INSTEAD_AUTHORS = "; it lists {authors}"
INFERRED_NOTE = " (year inferred from the listing)"
SUMMARY = "\u201c{title}\u201d: {details}."


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _upvotes(paper: Paper) -> str:
    return "no upvotes" if paper.upvotes == 0 else _plural(paper.upvotes, "upvote")


def _details(paper: Paper) -> str:
    """Date, upvotes and byline, as a listing line shows them."""
    date = paper.published.isoformat() if paper.published else UNDATED
    parts = [f"{date}, {YEAR_INFERRED}" if paper.year_inferred else date]
    parts.append(_plural(paper.upvotes, "upvote"))
    if paper.authors_count is not None:
        parts.append(_plural(paper.authors_count, "author"))
    elif paper.organization:
        parts.append(paper.organization)
    return ", ".join(parts)


def _sort_detail(paper: Paper, sort: str) -> str:
    """The one field a superlative is about: "8 upvotes", "2013-05-29", "17 authors"."""
    if sort in ("newest", "oldest"):
        return paper.published.isoformat() if paper.published else UNDATED
    if sort in ("most_upvoted", "least_upvoted"):
        return _plural(paper.upvotes, "upvote")
    if paper.authors_count is None:
        return paper.organization or ""
    return _plural(paper.authors_count, "author")


def _clauses(filters: QueryFilters, topic: str) -> list[tuple[str, str]]:
    """The filters as (verb, phrase) pairs: ("was", "published in 2023"), ("has", "at least 4
    upvotes"); the verb is conjugated by `_predicate` or turned into "with" by `_attributive`."""
    dates = [SCOPE_YEAR.format(year=filters.year)] if filters.year is not None else []
    since, until = filters.since, filters.until
    if since and until:
        dates.append(SCOPE_BETWEEN.format(since=since.isoformat(), until=until.isoformat()))
    elif since or until:
        dates.append((SCOPE_SINCE if since else SCOPE_UNTIL).format(day=(since or until)))
    if filters.month is not None:
        month = calendar.month_name[filters.month]
        if filters.day is None:
            dates.append(SCOPE_MONTH.format(month=month))
        else:
            dates.append(SCOPE_DAY.format(month=month, day=filters.day))
    clauses = [("was", SCOPE_PUBLISHED.format(dates=" and ".join(dates)))] if dates else []
    low, high = filters.min_upvotes, filters.max_upvotes
    if low is not None and low == high:
        clauses.append(("has", SCOPE_EXACTLY.format(upvotes=_plural(low, "upvote"))))
    else:
        if low is not None:
            clauses.append(("has", SCOPE_AT_LEAST.format(upvotes=_plural(low, "upvote"))))
        if high is not None:
            clauses.append(("has", SCOPE_AT_MOST.format(upvotes=_plural(high, "upvote"))))
    if filters.organization:
        clauses.append(("was", SCOPE_ORGANIZATION.format(organization=filters.organization)))
    if filters.has_organization is not None:
        clauses.append(SCOPE_HAS_ORGANIZATION[filters.has_organization])
    low, high = filters.min_authors, filters.max_authors
    if low is not None and low == high:
        clauses.append(("has", SCOPE_EXACTLY.format(upvotes=_plural(low, "author"))))
    elif low is not None or high is not None:
        bound, value = (SCOPE_AT_LEAST, low) if low is not None else (SCOPE_AT_MOST, high)
        clauses.append(("has", bound.format(upvotes=_plural(value, "author"))))
    if filters.dated is not None:
        clauses.append(("has", SCOPE_DATED[filters.dated]))
    if filters.not_year is not None:
        clauses.append(("was", SCOPE_NOT_YEAR.format(year=filters.not_year)))
    if filters.has_authors_count is not None:
        clauses.append(("has", SCOPE_COUNTED[filters.has_authors_count]))
    if filters.title_words:
        clauses.append(("has", SCOPE_TITLE.format(words=filters.title_words)))
    return clauses + ([("is", TOPIC_SCOPE.format(topic=topic))] if topic else [])


def _attributive(clauses: list[tuple[str, str]]) -> str:
    """Clauses after a noun: " published in 2023, with at least 4 upvotes"."""
    phrases = [WITH.format(phrase=p) if verb == "has" else p for verb, p in clauses]
    return f" {', '.join(phrases)}" if phrases else ""


def _predicate(clauses: list[tuple[str, str]], count: int) -> str:
    """Clauses as a verb phrase: "were published in 2023 and have at least 4 upvotes"."""
    verbs = [f"{VERB_FORMS[verb][count != 1]} {phrase}" for verb, phrase in clauses]
    return ", ".join(verbs[:-1]) + (" and " if len(verbs) > 1 else "") + verbs[-1]


def _citation(number: int, paper: Paper) -> Citation:
    sentences = split_sentences(paper.abstract)
    return Citation(
        number=number,
        paper_id=paper.paper_id,
        title=paper.title,
        published=paper.published,
        snippet=sentences[0] if sentences else "",
    )


def _lead(filters: QueryFilters, clauses: list[tuple[str, str]], count: int) -> str:
    """The sentence above a listing: "3 papers in the digest were published in 2023:"."""
    papers = "paper" if count == 1 else "papers"
    if filters.sort and filters.limit is not None:
        superlative = SORT_ORDERS[filters.sort].superlative[1]
        return TOP_LEAD.format(count=count, superlative=superlative, scope=_attributive(clauses))
    order = f", {SORT_ORDERS[filters.sort].order}" if filters.sort else ""
    if not clauses:
        return ALL_LEAD.format(count=count, papers=papers, order=order)
    predicate = _predicate(clauses, count)
    return COUNT_LEAD.format(count=count, papers=papers, predicate=predicate, order=order)


def _no_match(parsed: ParsedQuestion) -> Answer:
    clauses = _clauses(parsed.filters, parsed.topic)
    predicate = _predicate(clauses, 1) if clauses else NO_MATCH_ANY
    text = NO_MATCH.format(predicate=predicate)
    # "Anything from 2021?" is answered by the records: none. Only a subject the digest may
    # lack makes it a refusal.
    return Answer(question=parsed.question, text=text, abstained=bool(parsed.topic), mode=MODE)


def _superlative_sentence(
    filters: QueryFilters, clauses: list[tuple[str, str]], papers: Sequence[Paper]
) -> str:
    """ "The most upvoted paper in the digest is “X” (8 upvotes) [1]." or, for a tie, "“X” [1]
    and “Y” [2] tie as the second most upvoted papers in the digest (4 upvotes each)." """
    assert filters.sort is not None
    ordinal = f"{ORDINAL_WORDS.get(filters.nth or 1, '')} " if (filters.nth or 1) > 1 else ""
    singular, plural = SORT_ORDERS[filters.sort].superlative
    scope = _attributive(clauses)
    detail = _sort_detail(papers[0], filters.sort)
    if len(papers) == 1:
        lead = SINGLE_LEAD.format(
            superlative=ordinal + singular,
            scope=scope,
            title=papers[0].title,
            detail=f" ({detail})" if detail else "",
        )
        return with_citation(lead, 1)
    titles = [f"\u201c{p.title}\u201d [{n}]" for n, p in enumerate(papers, start=1)]
    named = ", ".join(titles[:-1]) + f" and {titles[-1]}"
    each = f" ({detail} each)" if detail and filters.sort not in ("newest", "oldest") else ""
    return TIE_LEAD.format(
        papers=named, superlative=ordinal + plural, scope=scope, detail=each or f" ({detail})"
    )


def _runners_up_sentence(papers: Sequence[Paper], sort: str, first_number: int) -> str:
    """ "Next come “Y” and “Z” (4 upvotes each) [2][3]." The papers of the next rank."""
    titles = [f"\u201c{p.title}\u201d" for p in papers]
    named = titles[0] if len(titles) == 1 else ", ".join(titles[:-1]) + f" and {titles[-1]}"
    detail = _sort_detail(papers[0], sort)
    each = " each" if len(papers) > 1 and sort not in ("newest", "oldest") else ""
    verb = "comes" if len(papers) == 1 else "come"
    marks = "".join(f"[{n}]" for n in range(first_number, first_number + len(papers)))
    return RUNNERS_UP.format(verb=verb, papers=named, detail=f"{detail}{each}", marks=marks)


def compose_comparison(parsed: ParsedQuestion, papers: Sequence[Paper]) -> Answer:
    """Two or more papers compared on one field, in that field's order, each with its value."""
    field = parsed.compare or "date"
    sort = {"date": "oldest", "upvotes": "most_upvoted", "authors": "most_authors"}[field]
    ordered = filter_papers(papers, QueryFilters(sort=sort))
    values = [_sort_detail(p, sort) for p in ordered]
    named = [
        f"\u201c{p.title}\u201d ({v}) [{n}]" for n, (p, v) in enumerate(zip(ordered, values), 1)
    ]
    if len(set(values)) == 1:
        text = COMPARE_SAME.format(papers=" and ".join(named), field=FIELD_WORDS[field])
    else:
        text = COMPARE_LEAD[field].format(first=named[0], rest="; then ".join(named[1:]))
    years = {p.published.year for p in ordered if p.published}
    if field == "date" and len(ordered) == 2 and len(years) == 1:
        text += " " + SAME_YEAR.format(year=ordered[0].published.year)
    return Answer(
        question=parsed.question,
        text=text,
        citations=tuple(_citation(n, p) for n, p in enumerate(ordered, start=1)),
        sources=tuple(Source(p, METADATA_MATCH_SCORE, n) for n, p in enumerate(ordered, 1)),
        mode=MODE,
    )


def compose_vote_total(parsed: ParsedQuestion, papers: Sequence[Paper]) -> Answer:
    """The upvotes of the matching papers added up, and the papers that have any, most first."""
    voted = filter_papers(papers, QueryFilters(min_upvotes=1, sort="most_upvoted"))
    total = sum(p.upvotes for p in voted)
    scope = _attributive(_clauses(parsed.filters, parsed.topic))
    lead = VOTES_LEAD.format(
        total=_plural(total, "upvote"),
        scope=scope,
        voted=len(voted),
        count=_plural(len(papers), "paper"),
    )
    shown = voted[:MAX_LISTED]
    lines = [lead] + [
        with_citation(PAPER_LINE.format(title=p.title, details=_details(p)), n)
        for n, p in enumerate(shown, start=1)
    ]
    return Answer(
        question=parsed.question,
        text="\n".join(lines),
        citations=tuple(_citation(n, p) for n, p in enumerate(shown, start=1)),
        sources=tuple(Source(p, METADATA_MATCH_SCORE, n) for n, p in enumerate(shown, 1)),
        mode=MODE,
    )


def compose_years(parsed: ParsedQuestion, papers: Sequence[Paper]) -> Answer:
    """Which years the matching papers span, with a count per year; the oldest and the newest
    paper are cited."""
    dated = sorted((p for p in papers if p.published), key=lambda p: p.published)
    if not dated:
        return _no_match(parsed)
    per_year: dict[int, int] = {}
    for paper in dated:
        per_year[paper.published.year] = per_year.get(paper.published.year, 0) + 1
    counts = ", ".join(f"{year} ({count})" for year, count in sorted(per_year.items()))
    first, last = dated[0], dated[-1]
    if len(dated) == 1:
        text = YEARS_ONE.format(title=first.title, date=first.published.isoformat())
    else:
        text = YEARS_LEAD.format(
            count=_plural(len(dated), "dated paper"),
            first=first.published.year,
            last=last.published.year,
            counts=counts,
            oldest=first.title,
            oldest_date=first.published.isoformat(),
            newest=last.title,
            newest_date=last.published.isoformat(),
        )
    if undated := len(papers) - len(dated):
        verb = "has" if undated == 1 else "have"
        text += " " + YEARS_UNDATED.format(papers=_plural(undated, "paper"), verb=verb)
    shown = list(dict.fromkeys([first, last, *dated[1:-1]]))
    sources = [Source(p, METADATA_MATCH_SCORE, n) for n, p in enumerate(shown, start=1)]
    return Answer(
        question=parsed.question,
        text=text,
        citations=tuple(_citation(n, p) for n, p in enumerate(shown[:2], start=1)),
        sources=tuple(sources),
        mode=MODE,
    )


def compose_listing(
    parsed: ParsedQuestion,
    papers: Sequence[Paper],
    scores: Mapping[str, float] | None = None,
    runners_up: Sequence[Paper] = (),
) -> Answer:
    """The papers, in the given order, under a lead naming the filters; an abstention when
    none match. `scores` (relevance by paper id) fills the sources; absent, 1.0 each. For a
    superlative, `runners_up` (the papers with the next value) are named after it."""
    if not papers:
        return _no_match(parsed)
    filters, count = parsed.filters, len(papers)
    clauses = _clauses(filters, parsed.topic)
    if filters.sort and (count == 1 or filters.limit == 1 or filters.nth):
        # A superlative: a sentence, naming every paper that ties for it.
        shown = list(papers[:MAX_LISTED])
        lines = [_superlative_sentence(filters, clauses, shown)]
        if runners_up and filters.sort:
            # The next rank, cited after the superlative's papers.
            following = list(runners_up[:MAX_RUNNERS_UP])
            lines[0] += " " + _runners_up_sentence(following, filters.sort, len(shown) + 1)
            shown += following
    else:
        shown = list(papers[:MAX_LISTED])
        lines = [_lead(filters, clauses, count)]
        lines += [
            with_citation(PAPER_LINE.format(title=p.title, details=_details(p)), n)
            for n, p in enumerate(shown, start=1)
        ]
        if (rest := count - len(shown)) > 0:
            lines.append(MORE_PAPERS.format(count=rest, papers="paper" if rest == 1 else "papers"))
    sources = [
        Source(p, METADATA_MATCH_SCORE if scores is None else scores.get(p.paper_id, 0.0), n)
        for n, p in enumerate(shown, start=1)
    ]
    return Answer(
        question=parsed.question,
        text="\n".join(lines),
        citations=tuple(_citation(n, p) for n, p in enumerate(shown, start=1)),
        sources=tuple(sources),
        mode=MODE,
    )


def _field_sentence(field: str | None, paper: Paper) -> str:
    """The sentence for one field, or for all of them when no known field is asked for."""
    title = short_title(paper.title)
    authors = None if paper.authors_count is None else _plural(paper.authors_count, "author")
    if field == "authors" and authors is None:
        instead = INSTEAD_ORGANIZATION.format(organization=paper.organization)
        return UNKNOWN_FIELD.format(
            name=FIELD_NAMES[field], title=title, instead=instead if paper.organization else ""
        )
    if field == "organization" and not paper.organization:
        instead = INSTEAD_AUTHORS.format(authors=authors) if authors else ""
        return UNKNOWN_FIELD.format(name=FIELD_NAMES[field], title=title, instead=instead)
    if field == "date" and paper.published is None:
        return UNKNOWN_FIELD.format(name=FIELD_NAMES[field], title=title, instead="")
    if field not in FIELD_SENTENCES:
        return SUMMARY.format(title=title, details=_details(paper))
    return FIELD_SENTENCES[field].format(
        title=title,
        authors=authors,
        date=paper.published.isoformat() if paper.published else "",
        inferred=INFERRED_NOTE if paper.year_inferred else "",
        upvotes=_upvotes(paper),
        organization=paper.organization,
    )


def compose_field_answer(parsed: ParsedQuestion, paper: Paper, score: float) -> Answer:
    """One sentence stating the field `parsed.asks_for` of `paper`, citing it; a field the
    digest does not list is said to be missing (with the byline it does list, if any). Without
    a field asked for, the sentence summarises date, upvotes and byline."""
    return Answer(
        question=parsed.question,
        text=with_citation(_field_sentence(parsed.asks_for, paper), 1),
        citations=(_citation(1, paper),),
        sources=(Source(paper=paper, score=score, rank=1),),
        mode=MODE,
    )


def checked_field(filters: QueryFilters) -> str | None:
    """The record field a yes/no question tests: "did X get any likes?" tests upvotes."""
    groups = [
        ("upvotes", (filters.min_upvotes, filters.max_upvotes)),
        ("date", (filters.year, filters.since, filters.until, filters.month, filters.dated)),
        ("authors", (filters.min_authors, filters.max_authors)),
        ("organization", (filters.organization, filters.has_organization)),
    ]
    return next((field for field, values in groups if any(v is not None for v in values)), None)


def compose_check(parsed: ParsedQuestion, paper: Paper) -> Answer:
    """ "Yes"/"No" for a yes/no question about one paper's record ("Did BehaveGPT get any
    likes?"), with the field that decides it, cited."""
    field = checked_field(parsed.filters)
    verdict = CHECK_YES if parsed.filters.matches(paper) else CHECK_NO
    return Answer(
        question=parsed.question,
        text=f"{verdict} {with_citation(_field_sentence(field, paper), 1)}",
        citations=(_citation(1, paper),),
        sources=(Source(paper=paper, score=METADATA_MATCH_SCORE, rank=1),),
        mode=MODE,
    )
