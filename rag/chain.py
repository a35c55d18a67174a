"""The answering chain: understand the question, retrieve, then compose, as LangChain runnables.

Three steps, each a plain function of a `Turn` record so it can be tested alone:
1. understand: a follow-up is rewritten into a standalone query from the conversation, and
   metadata phrases ("from 2024", "most upvoted", "by NewMind AI") become explicit filters
   and sorts, merged with any filters the caller passed;
2. retrieve: hybrid search under those filters (more papers when the question asks for a
   list), or, for pure metadata questions, the filtered catalogue itself;
3. compose: metadata questions are answered from the records, everything else by the
   extractive composer, which abstains when nothing relevant was found.
A generated answer (rag.answer.generated) runs the first two steps, then asks a model over
`grounding_sources`, keeping the composed answer as its fallback.
The applied filters and the rewritten query are shown in the `Answer`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from langchain_core.runnables import Runnable, RunnableLambda

from rag.answer.abstain import (
    asked_thing,
    asks_for_names,
    credit_named_papers,
    missing_detail,
    missing_gap,
    names_elsewhere,
    question_names,
    states_figure,
)
from rag.answer.compose import (
    abstain,
    compose_extractive,
    content_words,
    is_list_question,
    near_miss,
    question_parts,
)
from rag.answer.facts import (
    METADATA_MATCH_SCORE,
    checked_field,
    compose_check,
    compose_comparison,
    compose_field_answer,
    compose_listing,
    compose_vote_total,
    compose_years,
)
from rag.config import Settings
from rag.ingest.embedding import Encoder
from rag.records import Answer, Paper, Source, short_title
from rag.search.conversation import (
    Message,
    Standalone,
    cited_papers,
    points_back,
    standalone_question,
)
from rag.search.filters import QueryFilters, filter_papers
from rag.search.keyword import tokenize
from rag.search.query import ParsedQuestion, comparison_field, parse_question
from rag.search.retrieve import HybridRetriever, closeness, to_sources
from rag.search.themes import search_text, theme_members
from rag.search.vocabulary import LISTING_STEMS
from rag.texts import (
    GAP_THING,
    NO_AUTHOR_NAMES,
    PART_NOT_GIVEN,
    THING_NOT_MENTIONED,
    UNMATCHED_TOPIC,
)

# Papers looked at for each name in a comparison ("the entropy mechanism paper").
COMPARE_CANDIDATES = 5
# A word used by at most this many papers (or this share of the digest) is rare enough to name
# a subject.
RARE_WORD_PAPERS, RARE_WORD_SHARE = 2, 0.02
# Words no paper uses that make a conversation's turn a subject of its own.
CONVERSATION_UNKNOWN_WORDS = 2


@dataclass(frozen=True)
class Turn:
    """One question as asked: the chain's input."""

    question: str
    history: tuple[Message, ...] = ()
    explicit: QueryFilters = field(default_factory=QueryFilters)
    # Filter fields read from the question that the reader switched off (a removed UI chip).
    ignored: frozenset[str] = frozenset()
    # Papers to retrieve, when the caller chooses (None: the settings decide).
    k: int | None = None


@dataclass(frozen=True, kw_only=True)
class Understood(Turn):
    """A turn once read (`understand`): its standalone query, what it asks of the metadata and
    the papers of the conversation it is about; `retrieve` adds its sources."""

    query: str
    parsed: ParsedQuestion
    subject: tuple[Paper, ...] = ()
    sources: tuple[Source, ...] = ()
    # In a conversation: the best dense cosine of the question alone (its own search).
    alone_best: float | None = None


@dataclass(frozen=True)
class Resources:
    """What the chain reads: settings, the catalogue, the retriever and the encoder."""

    settings: Settings
    papers: Mapping[str, Paper]
    retriever: HybridRetriever
    encoder: Encoder
    # Answers a question with no history: how a follow-up finds the earlier turn's papers.
    recall: Callable[[str], Answer]


def understand(turn: Turn, res: Resources) -> Understood:
    catalogue = list(res.papers.values())

    def recall_subject(previous: str) -> list[Paper]:
        return [res.papers[c.paper_id] for c in res.recall(previous).citations]

    alone: list[float] = []

    def new_subject(question: str, subject: Sequence[Paper]) -> bool:
        """Whether the question alone finds a paper the conversation is not about, either
        confidently or far better than it matches any of the conversation's papers."""
        text = search_text(question)
        documents = res.retriever.search(text, k=1)
        # Kept for the off-topic check, which judges a turn by this same search.
        alone.append(documents[0].metadata["dense"] if documents else 0.0)
        ids = {p.paper_id for p in subject}
        if not documents or documents[0].metadata["paper_id"] in ids:
            return False
        # A name the conversation's papers never mention ("STEER" after a question on
        # BehaveGPT) is about another paper, however the encoder scores it.
        if names := question_names(question):
            # Only the papers that use a name's words can mention it.
            words = tokenize([" ".join(names)])[0]
            naming = {pid for word in words for pid in res.retriever.keyword.holders(word)}
            if names_elsewhere(question, [res.papers[pid] for pid in naming], subject):
                return True
        best, r = documents[0].metadata["dense"], res.settings.retrieval
        if best >= r.new_subject_relevance:
            return True
        if best < res.settings.answer.min_relevance:
            return False
        if best - closeness(res.retriever, text, ids) >= r.new_subject_margin:
            return True
        # A rare word the found paper uses and none of the conversation's ("sycophancy" after
        # a list of 2023 papers) names a new subject however the encoder scores it.
        top = documents[0].metadata["paper_id"]
        rare = max(RARE_WORD_PAPERS, round(RARE_WORD_SHARE * len(res.papers)))
        for word in set(tokenize([text])[0]) - LISTING_STEMS:
            holders = res.retriever.keyword.holders(word)
            if top in holders and len(holders) <= rare and not holders & ids:
                return True
        return False

    standalone = standalone_question(
        turn.question, turn.history, catalogue, recall_subject, new_subject
    )
    dated = [p.published for p in catalogue if p.published]
    reference_date = max(dated) if dated else None
    organizations = sorted({p.organization for p in catalogue if p.organization})
    parsed = (
        parse_question(turn.question, reference_date, organizations) if reference_date else None
    )
    if parsed is None:
        parsed = ParsedQuestion(turn.question, turn.question, QueryFilters(), None, False)
    filters = parsed.filters.without(turn.ignored).merged(turn.explicit)
    parsed = dataclasses.replace(parsed, filters=filters)
    if standalone.refers_to_set and parsed.topic:
        # "Which of those is about X?": search for X among the papers already named.
        query = parsed.topic
    elif standalone.rewritten:
        query = standalone.query
    elif parsed.topic and (parsed.asks_for or parsed.aggregate or not parsed.filters.is_empty()):
        # Metadata phrases would only blur the search: look for the topic they qualify.
        query = parsed.topic
    else:
        query = search_text(turn.question)
    subject = standalone.subject_papers if standalone.refers_to_set else ()
    field = comparison_field(turn.question)
    if field and not parsed.compare and len(standalone.subject_papers) >= 2:
        # "Which came first?" after an answer about two papers compares those two.
        parsed = dataclasses.replace(
            parsed, compare=field, parts=(), topic="", filters=QueryFilters()
        )
    if parsed.compare:
        subject = compared_papers(parsed, standalone, catalogue, res)
        if len(subject) < 2:
            # Not two papers to compare after all: answer the question as it stands.
            parsed = dataclasses.replace(parsed, compare=None, topic=turn.question)
            query = search_text(turn.question)
    asked = {f.name: getattr(turn, f.name) for f in dataclasses.fields(Turn)}
    return Understood(
        **asked,
        query=query,
        parsed=parsed,
        subject=tuple(subject),
        alone_best=alone[0] if alone else None,
    )


def compared_papers(
    parsed: ParsedQuestion, standalone: Standalone, catalogue: list[Paper], res: Resources
) -> tuple[Paper, ...]:
    """The papers a comparison names: by title where a part quotes one, else the best match
    for the part; without parts, the papers the conversation is about."""
    if not parsed.parts:
        return standalone.subject_papers[:2]
    # "Older or newer than the perturbation paper?": the conversation's paper is the other one.
    found: list[Paper] = list(standalone.subject_papers[:1]) if len(parsed.parts) == 1 else []
    for part in parsed.parts:
        named = [p for p in cited_papers(part, catalogue) if p not in found]
        if not named:
            # Readers name a paper by words of its title: among the closest papers, the one
            # whose title shares most words with the part.
            documents = res.retriever.search(part, k=COMPARE_CANDIDATES)
            close = [res.papers[d.metadata["paper_id"]] for d in documents]
            close = [p for p in close if p not in found]
            named = sorted(close, key=lambda p: -shared_title_words(part, p))
        found += named[:1]
    return tuple(found)


def shared_title_words(text: str, paper: Paper) -> int:
    """How many content words of `text` the paper's title has: readers name a paper by them."""
    return len(content_words(text) & content_words(paper.title))


def answered_from_records(turn: Understood) -> bool:
    """Pure metadata questions ("the most upvoted paper", "how many papers are there"), sorts
    over earlier results, and a field of a paper picked by a sort ("the date of the paper with
    the most authors")."""
    parsed = turn.parsed
    if parsed.compare:
        return True
    if parsed.topic:
        return False
    if parsed.asks_for:
        # "Which org is it listed under?" after a filter: a field of the matching paper.
        return not parsed.filters.is_empty()
    return bool(turn.subject) or parsed.aggregate is not None or not parsed.filters.is_empty()


def wants_list(turn: Understood) -> bool:
    return turn.parsed.is_listing or is_list_question(turn.question)


def retrieve(turn: Understood, res: Resources) -> Understood:
    if answered_from_records(turn):
        return turn
    filters = turn.parsed.filters
    allowed = None
    if turn.subject:
        allowed = {p.paper_id for p in filter_papers(turn.subject, filters)}
    elif not filters.is_empty():
        allowed = {p.paper_id for p in filter_papers(res.papers.values(), unsorted(filters))}
    r = res.settings.retrieval
    k = turn.k or (r.list_k if wants_list(turn) else r.k)
    documents = res.retriever.search(turn.query, allowed=allowed, k=k)
    sources = credit_named_papers(
        turn.question, to_sources(documents, res.papers), res.settings.answer.min_relevance
    )
    return dataclasses.replace(turn, sources=tuple(sources))


def unsorted(filters: QueryFilters) -> QueryFilters:
    return dataclasses.replace(filters, sort=None, limit=None)


def compose(turn: Understood, res: Resources) -> Answer:
    parsed, filters = turn.parsed, turn.parsed.filters
    labelled = filters.labelled()
    min_relevance = res.settings.answer.min_relevance
    relevant = [s for s in turn.sources if s.dense >= min_relevance]
    on_topic = bool(turn.sources) and turn.sources[0].score >= min_relevance
    if asks_for_names(turn.question) and not asks_for_listed_organization(turn):
        # "Who is the single author of X?" reads like metadata, but the digest has no names;
        # "which institution is it listed under?" asks for the record's organisation.
        answer = abstain(turn.question, turn.sources, NO_AUTHOR_NAMES)
    elif parsed.compare:
        answer = compose_comparison(parsed, turn.subject)
    elif answered_from_records(turn):
        answer = records_answer(turn, res, parsed)
    elif checked := checked_paper(turn, res):
        # "Did the Parrot benchmark come out before November?": its record decides.
        answer = compose_check(parsed, checked)
    elif parsed.asks_for and (named := named_paper(turn, res, relevant)):
        answer = compose_field_answer(parsed, named.paper, named.score)
    elif parsed.asks_for:
        answer = abstain(turn.question, turn.sources)
    elif (parsed.aggregate or not filters.is_empty()) and not relevant:
        # The metadata was understood but what is left matches no paper: the filtered
        # catalogue answers, saying when the leftover looked like a subject the digest lacks.
        unmatched = parsed.topic if res.retriever.keyword.knows_any(parsed.topic) else ""
        answer = records_answer(turn, res, dataclasses.replace(parsed, topic=""), unmatched)
    elif parsed.aggregate or not filters.is_empty():
        members = theme_members(turn.sources, min_relevance)
        ranked = (
            filter_papers([s.paper for s in members], filters)
            if filters.sort
            else [s.paper for s in members]
        )
        answer = compose_listing(parsed, ranked, {s.paper.paper_id: s.score for s in members})
    elif off_topic(turn, res):
        # Judged on the question's own words, which is what the reader is shown as searched.
        answer = dataclasses.replace(
            abstain(turn.question, turn.sources), query=search_text(turn.question)
        )
    elif (thing := asked_thing(turn.question)) and not res.retriever.keyword.knows_any(thing):
        # "Which GPU did they train on?" where no abstract mentions a GPU: none can say which.
        answer = (
            near_miss(turn.question, turn.sources, GAP_THING.format(thing=thing))
            if on_topic
            else abstain(turn.question, turn.sources, THING_NOT_MENTIONED.format(thing=thing))
        )
    elif gap := missing_gap(turn.question, turn.sources):
        reason, missing = gap
        if not on_topic:
            answer = abstain(turn.question, turn.sources, reason)
        else:
            answer = partly_answered(turn, res, missing) or near_miss(
                turn.question, turn.sources, missing
            )
    else:
        answer = extractive(turn, res)
    return dataclasses.replace(
        answer,
        question=turn.question,
        query=answer.query or turn.query,
        filters=tuple(label for _, label in labelled),
        filter_fields=tuple(names for names, _ in labelled),
    )


def asks_for_listed_organization(turn: Understood) -> bool:
    """ "Which institution is it listed under?" asks for the record's organisation; "who are the
    authors and what lab are they at?" for names the digest does not hold."""
    return turn.parsed.asks_for == "organization" and not re.search(
        r"\b(?:authors?|who)\b", turn.question, re.I
    )


def extractive(turn: Understood, res: Resources) -> Answer:
    """The abstracts' own sentences that answer the question, each cited."""
    # Sentences answer the reader's own words; the rewritten query only found the papers.
    return compose_extractive(
        turn.question,
        res.encoder.encode_query(turn.question),
        list(turn.sources),
        res.encoder.encode_cached,
        res.settings.answer,
        already_said=[m["content"] for m in turn.history if m.get("role") == "assistant"],
    )


_ASKS = re.compile(r"\b(?:what|which|how|why|who|when|where|does|do|did|is|are|was|were)\b", re.I)


# "How large is the dataset?", "at what resolution?": a degree, which only a number answers.
_ASKS_DEGREE = re.compile(
    r"\bhow (?:large|big|long|fast|small|high|low|wide|deep|old|heavy|expensive|costly)\b"
    r"|\bat what\b",
    re.I,
)


def part_lacks(part: str, sources: Sequence[Source]) -> bool:
    """Whether the best paper's abstract lacks what one part of a question asks for."""
    if missing_gap(part, sources):
        return True
    asked = [w for w in tokenize([part])[0] if w not in LISTING_STEMS]
    return bool(_ASKS_DEGREE.search(part)) and not states_figure(asked, sources)


def partly_answered(turn: Understood, res: Resources, missing: str) -> Answer | None:
    """A two-part question whose other part the abstracts answer ("which model do they start
    from, and what do they add for big motions?"): that answer, then what the abstract lacks.
    None when every part lacks what it asks for."""
    # Only parts that ask something count: "In CURE, what threshold ..." asks one thing.
    parts = [part for part in question_parts(turn.question) if _ASKS.search(part)]
    if len(parts) < 2 or all(part_lacks(part, turn.sources) for part in parts):
        return None
    answer = extractive(turn, res)
    # The gap was found in the best paper's abstract: the answer must rest on that paper, or
    # the note would say it of another.
    if answer.abstained or not answer.citations:
        return None
    lead = answer.citations[0]
    if lead.paper_id != turn.sources[0].paper.paper_id:
        return None
    note = PART_NOT_GIVEN.format(title=short_title(lead.title), number=lead.number, gap=missing)
    return dataclasses.replace(answer, text=f"{answer.text} {note}")


# A yes/no question about one paper ("did it", "was it"); "is there any ...", "are the ..."
# and "do any ..." ask about several papers instead.
_YES_NO = re.compile(r"^\s*(?:did|does|is|was|has|had)\b(?!\s+(?:there|any|some)\b)", re.I)


def checked_paper(turn: Understood, res: Resources) -> Paper | None:
    """The paper a yes/no question tests against its filters ("Did BehaveGPT get any likes?",
    "Was GTR posted in 2025?"): named by title, or the closest paper sharing a title word with
    what is left of the question. None for other questions."""
    parsed = turn.parsed
    if not _YES_NO.match(turn.question) or not parsed.topic or not checked_field(parsed.filters):
        return None
    catalogue = list(res.papers.values())
    if named := cited_papers(turn.question, catalogue):
        return named[0]
    documents = res.retriever.search(parsed.topic, k=COMPARE_CANDIDATES)
    close = [res.papers[d.metadata["paper_id"]] for d in documents]
    titled = [p for p in close if shared_title_words(parsed.topic, p)]
    return titled[0] if titled else None


def records_answer(
    turn: Understood, res: Resources, parsed: ParsedQuestion, unmatched: str = ""
) -> Answer:
    """The answer from the paper records: a field, a year span, a vote total or a listing of
    the papers the filters select (the conversation's papers when it refers to them).
    `unmatched`: words of the question that matched no paper, said before the answer."""
    pool = turn.subject or tuple(res.papers.values())
    matched = filter_papers(pool, parsed.filters)
    if parsed.asks_for and matched:
        answer = compose_field_answer(parsed, matched[0], METADATA_MATCH_SCORE)
    elif parsed.aggregate == "years":
        answer = compose_years(parsed, matched)
    elif parsed.aggregate == "votes":
        answer = compose_vote_total(parsed, matched)
    else:
        runners_up: list[Paper] = []
        if parsed.filters.sort and parsed.filters.limit == 1 and not parsed.filters.nth:
            second = dataclasses.replace(parsed.filters, limit=None, nth=2)
            runners_up = filter_papers(pool, second)
        answer = compose_listing(parsed, matched, runners_up=runners_up)
    if unmatched and not answer.abstained:
        answer = dataclasses.replace(
            answer, text=f"{UNMATCHED_TOPIC.format(topic=unmatched)} {answer.text}"
        )
    return answer


def off_topic(turn: Understood, res: Resources) -> bool:
    """Whether the question is about a subject the digest lacks although its best paper
    passes the relevance floor: many of its words occur in no paper ("speculative decoding",
    "federated learning") and the best paper is no close match. A single shared word such as
    "collapse" lifts the cosine over the floor; the words the digest never uses say more.

    Inside a conversation the question is judged by its own words and its own best match:
    the conversation's papers, which a follow-up is searched with, would otherwise lend an
    off-topic turn ("and mixture-of-depths?") their relevance."""
    if not turn.sources:
        return False
    answer = res.settings.answer
    text = search_text(turn.question)
    unknown = res.retriever.keyword.unknown_share(text, LISTING_STEMS)
    if unknown < answer.unknown_words:
        return False
    best = turn.sources[0].score
    if turn.history:
        # A follow-up is short, so one word the abstracts do not use ("what fixes it?") is a
        # large share of it; a new subject brings several.
        if points_back(turn.question):
            return False
        if res.retriever.keyword.unknown_count(text, LISTING_STEMS) < CONVERSATION_UNKNOWN_WORDS:
            return False
        best = turn.alone_best or 0.0
    return best < answer.confident_relevance


def named_paper(turn: Understood, res: Resources, relevant: Sequence[Source]) -> Source | None:
    """The paper a field question ("how many votes did GTR get?") is about: one whose title
    the question quotes, else the most relevant source, else a retrieved paper whose title
    shares a word with what is left of the question (a bare name scores low in meaning)."""
    by_id = {s.paper.paper_id: s for s in turn.sources}
    for paper in cited_papers(turn.question, list(res.papers.values())):
        return by_id.get(paper.paper_id) or Source(paper, METADATA_MATCH_SCORE, 1)
    if relevant:
        return relevant[0]
    topic = turn.parsed.topic
    overlap = [(shared_title_words(topic, s.paper), -s.rank, s) for s in turn.sources[:3]]
    best = max(overlap, key=lambda item: item[:2], default=(0, 0, None))
    return best[2] if best[0] else None


def grounding_sources(turn: Understood, res: Resources) -> tuple[Source, ...]:
    """The sources a generated answer may rest on: the relevant passages of a question the
    extractive composer would answer from abstracts. None for metadata questions, listings
    and refusals, which the records answer exactly and a model could only blur."""
    parsed = turn.parsed
    if (
        parsed.asks_for
        or parsed.aggregate
        or answered_from_records(turn)
        or not parsed.filters.is_empty()
    ):
        return ()
    if missing_detail(turn.question, turn.sources):
        return ()
    floor = res.settings.answer.min_relevance
    if not turn.sources or turn.sources[0].score < floor:
        return ()
    # As many as a direct answer retrieves: a list question's ten would crowd a small context.
    return tuple(s for s in turn.sources if s.score >= floor)[: res.settings.retrieval.k]


def _step(
    function: Callable[[Turn, Resources], object], resources: Callable[[], Resources]
) -> RunnableLambda:
    return RunnableLambda(lambda turn: function(turn, resources()))


def build_retrieval_chain(resources: Callable[[], Resources]) -> Runnable:
    """Turn -> Understood with its query, filters and sources: the first two steps."""
    return _step(understand, resources) | _step(retrieve, resources)


def build_chain(resources: Callable[[], Resources]) -> Runnable:
    """Turn -> Answer; `resources` is called per run so a re-ingest is picked up."""
    return build_retrieval_chain(resources) | _step(compose, resources)
