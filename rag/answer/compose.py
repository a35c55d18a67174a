"""The extractive answer: whole sentences from the retrieved abstracts, each citing its paper.

No language model is needed. Sentences of the best papers are scored by their similarity to
the question (embedding cosine plus a little word overlap, weighted by the paper's own
relevance), then picked greedily with a redundancy penalty (maximal marginal relevance), so
the answer opens with the best-matching sentence and never repeats itself. Sentences are
only ever used whole. First-person wording ("we propose") is turned into the third person so
the reply reads as a colleague's summary; the citation snippet keeps the original sentence.
The concession: an extractive reply cannot synthesise across papers, it can only select.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from rag.config import AnswerSettings
from rag.display import readable
from rag.ingest.chunking import split_sentences
from rag.records import Answer, Citation, Source, short_title
from rag.search.citations import strip_citations
from rag.texts import LIST_LEAD, NEAR_MISS, NEAREST_PAPERS_LEAD, NOT_COVERED

Encode = Callable[[Sequence[str]], np.ndarray]

# A sentence's relevance: its own similarity to the question, its paper's retrieval score,
# and the share of the question's content words it holds (weights sum to 1).
SENTENCE_WEIGHT = 0.55
PAPER_WEIGHT = 0.30
OVERLAP_WEIGHT = 0.15
# How much a candidate paper may trail the best one and still contribute sentences.
PAPER_SCORE_MARGIN = 0.12
# Sentences this similar to one already chosen count as repeats.
DUPLICATE_SIMILARITY = 0.85
ALREADY_SAID_PENALTY = 0.25
# Share of a follow-up's own words a repeated sentence must hold to be shown again.
ASKED_AGAIN = 0.5
REDUNDANCY_WEIGHT = 0.5
# Sentences less similar than this to a chosen one say something else: no redundancy.
UNRELATED_SIMILARITY = 0.3
MIN_SENTENCE_WORDS = 6

_LIST_QUESTION = re.compile(
    r"\b(which|what|list|name|any|all|several|other)\b.*\b(papers|works|studies|articles|"
    r"approaches|methods|benchmarks)\b|\bpapers (about|on|that|which)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9][a-z0-9\-]+")
_STOPWORDS = frozenset(
    "a an and are as at be by can did do does for from how in into is it its of on or that the "
    "their them these they this to was what when where which who why with about paper papers "
    "digest study studies work use used using does there any".split()
)
_FIRST_PERSON = [
    (re.compile(r"\bWe\b"), "They"),
    (re.compile(r"\bwe\b"), "they"),
    (re.compile(r"\bOur\b"), "Their"),
    (re.compile(r"\bour\b"), "their"),
    (re.compile(r"\bourselves\b"), "themselves"),
    (re.compile(r"\bus\b"), "them"),
]
# Sentences opening with these lean on an earlier sentence: poor openers, fine later on.
# ("Finally, ..." and other additive openers are stripped instead, see third_person.)
_DANGLING_OPENER = re.compile(
    r"^(this|these|that|those|it|its|such|however|then|thus|therefore|subsequently|"
    r"consequently|based on|to this end|"
    r"in this phase|for example|specifically|in particular)\b",
    re.IGNORECASE,
)
# Additive connectives carry no meaning once the sentence stands alone.
_ADDITIVE_CONNECTIVE = re.compile(
    r"^(moreover|furthermore|additionally|in addition|finally|also),\s+", re.IGNORECASE
)
DANGLING_PENALTY = 0.08
# What readers ask for is a finding: a method, a result, a number. Sentences that state one
# rank a little higher; sentences that set the scene ("Recent works ...", "X remains hard")
# a little lower.
_FINDING = re.compile(
    r"\d|\b(we |they |this paper |the authors )?(propose[sd]?|introduce[sd]?|present[s]?|show[s]?|"
    r"find[s]?|found|demonstrate[sd]?|reveal[s]?|prove[sd]?|achieve[sd]?|outperform[s]?|"
    r"improve[sd]?|reduce[sd]?|establish(es|ed)?|derive[sd]?|develop(s|ed)?)\b",
    re.IGNORECASE,
)
_BACKGROUND = re.compile(
    r"^(recent(ly)?|existing|prior|previous|traditional(ly)?|typically|despite|while|although|"
    r"in recent years|over the past|nowadays|as \w+ (become|becomes|grow|grows))\b"
    r"|\b(has|have) (become|been (widely|extensively))\b|\b(remains?|is) (a|an) (key|major|"
    r"central|fundamental|open|long-standing) (challenge|problem|question)\b|\boften\b",
    re.IGNORECASE,
)
FINDING_BONUS = 0.04
# The work per paper at question time is bounded, whatever a digest holds: the bundled
# digest's longest abstract has 14 sentences and its longest sentence 522 characters, and a
# 1 MB "abstract" would otherwise be encoded sentence by sentence on every question that
# retrieves it.
MAX_SENTENCES_PER_PAPER = 60
MAX_SENTENCE_CHARS = 2_000


def is_background(sentence: str) -> bool:
    """Whether a sentence sets the scene rather than states what the paper does or finds."""
    return bool(_BACKGROUND.search(sentence))


# Two-part questions: the best sentence for a part not yet answered gets this bonus; a
# sentence within the margin of a part's best answers that part.
PART_BONUS = 0.08
PART_MARGIN = 0.05
_ASKING = (
    r"(?:what|which|how|why|when|where|who|does|do|did|is|are|was|were|can|could|"
    r"(?:on|in|for|with|by|at|to|from|along|under) (?:which|what|how))\b"
)
_PART_SPLIT = re.compile(rf"\?\s+|;\s*|,?\s+and\s+(?={_ASKING})|,\s+(?={_ASKING})", re.I)
BACKGROUND_PENALTY = 0.05
_SELF_REFERENCE = re.compile(r"^(In )?(this|our|the present) (paper|work|study|article)\b", re.I)


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved abstract, with its paper and relevance."""

    text: str
    source: Source
    position: int
    relevance: float


def is_list_question(question: str) -> bool:
    """Whether the question asks for several papers rather than one fact."""
    return bool(_LIST_QUESTION.search(question))


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def third_person(sentence: str, title: str) -> str:
    """Reword an abstract's self-references so they read well in a reply."""
    reworded = _SELF_REFERENCE.sub(
        lambda m: (
            f"{'In ' if m.group(1) else ''}{'t' if m.group(1) else 'T'}he paper "
            f"\u201c{short_title(title)}\u201d"
        ),
        sentence,
        count=1,
    )
    for pattern, replacement in _FIRST_PERSON:
        reworded = pattern.sub(replacement, reworded)
    # Scraped LaTeX quotes (``like this'') read as typographic ones.
    reworded = reworded.replace("``", "\u201c").replace("''", "\u201d")
    stripped = _ADDITIVE_CONNECTIVE.sub("", reworded, count=1)
    return stripped[:1].upper() + stripped[1:] if stripped else reworded


def attribute(sentence: str) -> str:
    """In a paper's first sentence of the reply, the first 'they' becomes 'the authors' (and
    an opening 'Their' 'The authors''): the reader has not met 'them' yet."""
    if sentence.startswith("Their "):
        return "The authors' " + sentence[len("Their ") :]
    return re.sub(
        r"\b(T|t)hey\b",
        lambda m: "The authors" if m.group(1) == "T" else "the authors",
        sentence,
        count=1,
    )


# An opening that points back at a sentence the reader has not seen: a demonstrative, a
# connective that continues an argument, "the authors term this ...".
_DANGLING = re.compile(
    r"^(?:This|These|Those|That|Such|It|Its|They|Them|Here|Then|Next|Hence|Thus|Therefore|"
    r"However|Moreover|Furthermore|Additionally|Consequently|Similarly|Instead|Conversely|"
    r"Finally|Second|Secondly|Third|Thirdly|In (?:this|these|such|addition|contrast|turn)|"
    r"To (?:this|that|these) ends?|As a result|On the other hand)\b"
    r"|^(?:\S+ ){0,4}(?:term|terms|call|calls|dub|dubs|name|names) (?:this|these|it)\b"
)


# After a list line's paper name, "they", "their" and "it" mean that paper and its authors.
_NAMED_BY_LABEL = re.compile(r"^(?:It|Its|They|Their|Them)\b")


def dangling(sentence: str, labelled: bool = False) -> bool:
    """Whether a sentence opens by pointing back at one before it (`labelled`: it follows the
    paper's name, which "they" and "it" may point at)."""
    sentence = sentence.lstrip("- ")
    return bool(_DANGLING.match(sentence)) and not (labelled and _NAMED_BY_LABEL.match(sentence))


def dangling_opener(text: str) -> bool:
    """Whether an answer's first sentence (each line's, for a list) points back at nothing."""
    lines = [line.split("**: ", 1)[-1] for line in text.splitlines() if line.startswith("- ")]
    if lines:
        return any(dangling(line, labelled=True) for line in lines)
    return dangling(text)


def lead_that_stands(chosen: Sequence[Candidate]) -> list[Candidate]:
    """The chosen sentences with the lead paper's first sentence that stands alone moved to the
    front: an answer does not open by pointing back at a sentence it left out."""
    ordered = list(chosen)
    if not ordered:
        return ordered
    lead = ordered[0].source.paper
    for i, candidate in enumerate(ordered):
        if candidate.source.paper.paper_id != lead.paper_id:
            break
        # As it will read: an opening "they" becomes "the authors" (`attribute`).
        if not dangling(attribute(third_person(candidate.text, lead.title))):
            return [candidate, *ordered[:i], *ordered[i + 1 :]]
    return ordered


def with_citation(sentence: str, number: int) -> str:
    """Put `[n]` before the sentence's final punctuation."""
    body = sentence.rstrip()
    quote = ""
    while body and body[-1] in "\"'\u201d":
        quote, body = body[-1] + quote, body[:-1]
    if body and body[-1] in ".!?":
        return f"{body[:-1]}{quote} [{number}]{body[-1]}"
    return f"{body}{quote} [{number}]."


def candidates(
    question: str, question_vector: np.ndarray, sources: Sequence[Source], encode: Encode
) -> tuple[list[Candidate], np.ndarray]:
    """Every usable sentence of the sources, scored against the question, and its vectors."""
    rows: list[tuple[str, Source, int]] = []
    for source in sources:
        sentences = split_sentences(source.paper.abstract)[:MAX_SENTENCES_PER_PAPER]
        for position, sentence in enumerate(sentences):
            # An abstract's own questions pose the problem; they never answer the reader's.
            if (
                MIN_SENTENCE_WORDS <= len(sentence.split())
                and len(sentence) <= MAX_SENTENCE_CHARS
                and not sentence.endswith("?")
            ):
                rows.append((sentence, source, position))
    if not rows:
        return [], np.zeros((0, question_vector.shape[0]), dtype=np.float32)
    vectors = encode([text for text, _, _ in rows])
    cosine = vectors @ question_vector
    asked = content_words(question)
    out = []
    for (text, source, position), cos in zip(rows, cosine, strict=True):
        overlap = len(asked & content_words(text)) / len(asked) if asked else 0.0
        relevance = (
            SENTENCE_WEIGHT * float(cos) + PAPER_WEIGHT * source.score + OVERLAP_WEIGHT * overlap
        )
        if _DANGLING_OPENER.match(text):
            relevance -= DANGLING_PENALTY
        if _FINDING.search(text):
            relevance += FINDING_BONUS
        if _BACKGROUND.search(text):
            relevance -= BACKGROUND_PENALTY
        out.append(Candidate(text, source, position, relevance))
    return out, vectors


def lead_with_best_paper(
    found: Sequence[Candidate], vectors: np.ndarray, best_id: str
) -> tuple[list[Candidate], np.ndarray]:
    """A direct answer comes from the paper retrieval ranked first: another paper's sentence
    stays a candidate only when it matches the question better than every sentence of the
    best paper. The best paper's sentences come first, so it is cited as [1]."""
    own = [c.relevance for c in found if c.source.paper.paper_id == best_id]
    if not own:
        return list(found), vectors
    ceiling = max(own)
    keep = [
        i
        for i, c in enumerate(found)
        if c.source.paper.paper_id == best_id or c.relevance > ceiling
    ]
    keep.sort(key=lambda i: found[i].source.paper.paper_id != best_id)
    return [found[i] for i in keep], vectors[keep]


def demote_repeats(
    found: Sequence[Candidate],
    vectors: np.ndarray,
    already_said: Sequence[str],
    encode: Encode,
    question: str = "",
) -> list[Candidate]:
    """Lower the relevance of sentences the conversation has already shown, unless they hold
    most of the follow-up's own words ("what method did they propose?" asks again for the
    sentence that proposed it)."""
    said = [s for text in already_said for s in split_sentences(strip_citations(text))]
    if not said:
        return list(found)
    repeats = (vectors @ encode(said).T).max(axis=1) >= DUPLICATE_SIMILARITY
    asked = content_words(question)

    def asked_again(text: str) -> bool:
        return bool(asked) and len(asked & content_words(text)) / len(asked) >= ASKED_AGAIN

    return [
        dataclasses.replace(c, relevance=c.relevance - ALREADY_SAID_PENALTY)
        if repeated and not asked_again(c.text)
        else c
        for c, repeated in zip(found, repeats, strict=True)
    ]


def question_parts(question: str) -> list[str]:
    """The questions inside a question: "what does it prove, and along which trajectory?" is
    two. [] when it asks one thing."""
    parts = [p for p in _PART_SPLIT.split(question) if p and content_words(p)]
    return parts if len(parts) >= 2 else []


def select(
    found: Sequence[Candidate],
    vectors: np.ndarray,
    limit: int,
    spread: bool,
    part_match: np.ndarray | None = None,
) -> list[Candidate]:
    """Greedy MMR: best first, then the most relevant sentence least like those chosen.

    With `spread`, each paper contributes at most one sentence (a list answer names papers).
    `part_match` (sentences x question parts, cosines) makes the answer cover every part: the
    best sentence for a part not yet answered gets a bonus.
    """
    chosen: list[int] = []
    papers_used: set[str] = set()
    best_for_part = part_match.argmax(axis=0) if part_match is not None and len(found) else []
    covered: set[int] = set()
    while len(chosen) < min(limit, len(found)):
        best_index, best_value = -1, -np.inf
        for i, candidate in enumerate(found):
            if i in chosen:
                continue
            similarity = max((float(vectors[i] @ vectors[j]) for j in chosen), default=0.0)
            if similarity >= DUPLICATE_SIMILARITY:
                continue
            redundancy = max(similarity - UNRELATED_SIMILARITY, 0.0)
            value = candidate.relevance - REDUNDANCY_WEIGHT * redundancy
            if any(i == best and p not in covered for p, best in enumerate(best_for_part)):
                value += PART_BONUS
            if spread and candidate.source.paper.paper_id in papers_used:
                continue
            if value > best_value:
                best_index, best_value = i, value
        if best_index < 0:
            break
        chosen.append(best_index)
        papers_used.add(found[best_index].source.paper.paper_id)
        if part_match is not None:
            top = part_match.max(axis=0)
            covered |= {
                p
                for p in range(part_match.shape[1])
                if part_match[best_index, p] >= top[p] - PART_MARGIN
            }
    return [found[i] for i in chosen]


def order_for_reading(chosen: Sequence[Candidate], lead: str | None = None) -> list[Candidate]:
    """Keep each paper's sentences together, papers in order of their best sentence (the
    `lead` paper first when given), the best sentence first and the paper's other sentences
    in abstract order after it."""
    by_paper: dict[str, list[Candidate]] = {}
    for candidate in chosen:
        by_paper.setdefault(candidate.source.paper.paper_id, []).append(candidate)
    groups = sorted(by_paper.items(), key=lambda item: item[0] != lead)
    ordered: list[Candidate] = []
    for _, group in groups:
        ordered.append(group[0])
        ordered.extend(sorted(group[1:], key=lambda c: c.position))
    return ordered


def near_miss(question: str, sources: Sequence[Source], gap: str) -> Answer:
    """A question on a paper of the digest that asks for what its abstract does not state:
    the paper is named and cited, the gap said, and the answer counts as a refusal."""
    paper = sources[0].paper
    sentences = split_sentences(paper.abstract)
    text = NEAR_MISS.format(title=short_title(paper.title), gap=gap)
    citation = Citation(
        1, paper.paper_id, paper.title, paper.published, sentences[0] if sentences else ""
    )
    return Answer(
        question=question,
        text=text,
        citations=(citation,),
        sources=tuple(sources),
        abstained=True,
    )


def abstain(question: str, sources: Sequence[Source], reason: str = NOT_COVERED) -> Answer:
    """Say plainly the digest has no answer, and name the nearest papers without citing them."""
    text = reason
    if sources:
        nearest = "; ".join(f"\u201c{s.paper.title}\u201d" for s in sources[:3])
        text = f"{reason} {NEAREST_PAPERS_LEAD} {nearest}."
    return Answer(question=question, text=text, sources=tuple(sources), abstained=True)


def compose_extractive(
    question: str,
    question_vector: np.ndarray,
    sources: Sequence[Source],
    encode: Encode,
    settings: AnswerSettings,
    already_said: Sequence[str] = (),
) -> Answer:
    """A cited extractive answer, or an abstention when nothing retrieved is relevant.

    `already_said` holds earlier answers of the conversation: a follow-up asks for something
    new, so sentences that repeat them rank lower."""
    # The decision rests on the paper ranked first: a relevant-looking paper further down a
    # ranking whose top is irrelevant is more often a near-miss than an answer.
    best = sources[0].score if sources else 0.0
    if best < settings.min_relevance:
        return abstain(question, sources)
    floor = max(settings.min_relevance, best - PAPER_SCORE_MARGIN)
    usable = [s for s in sources if s.score >= floor]
    found, vectors = candidates(question, question_vector, usable, encode)
    if not found:
        return abstain(question, sources)
    found = demote_repeats(found, vectors, already_said, encode, question)
    listing = is_list_question(question) and len(usable) > 1
    limit = settings.max_list_sentences if listing else settings.max_sentences
    lead = None if listing else sources[0].paper.paper_id
    if lead:
        found, vectors = lead_with_best_paper(found, vectors, lead)
    parts = [] if listing else question_parts(question)
    part_match = vectors @ encode(parts).T if parts else None
    # A list starts with the paper retrieval ranks first, as a direct answer does.
    first = lead or sources[0].paper.paper_id
    chosen = order_for_reading(select(found, vectors, limit, listing, part_match), first)
    if not listing:
        chosen = lead_that_stands(chosen)

    numbers: dict[str, int] = {}
    snippets: dict[str, list[str]] = {}
    lines: list[str] = []
    for candidate in chosen:
        paper = candidate.source.paper
        number = numbers.setdefault(paper.paper_id, len(numbers) + 1)
        snippets.setdefault(paper.paper_id, []).append(candidate.text)
        sentence = third_person(candidate.text, paper.title)
        if not listing and len(snippets[paper.paper_id]) == 1:
            sentence = attribute(sentence)
        # The reader sees the abstract's words as characters ("4%", not "4\\%").
        sentence = with_citation(readable(sentence), number)
        name = readable(short_title(paper.title))
        lines.append(f"- **{name}**: {sentence}" if listing else sentence)

    citations = tuple(
        Citation(
            number=number,
            paper_id=paper_id,
            title=next(s.paper.title for s in usable if s.paper.paper_id == paper_id),
            published=next(s.paper.published for s in usable if s.paper.paper_id == paper_id),
            snippet=" ".join(snippets[paper_id]),
        )
        for paper_id, number in numbers.items()
    )
    text = "\n".join([LIST_LEAD, *lines]) if listing else " ".join(lines)
    return Answer(question=question, text=text, citations=citations, sources=tuple(sources))
