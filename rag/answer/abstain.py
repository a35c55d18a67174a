"""When to say "the digest does not cover this", beyond a low relevance score.

A relevance threshold refuses questions on subjects the digest lacks. Near-misses are harder:
the question is on one of the digest's papers but asks for what an abstract never states.
Two kinds are recognised here, both from what a digest can hold rather than from wording
seen in tests:
- names and affiliations: the listing gives an authors count or an organisation, never who
  the authors are or where they work;
- figures: a "how many / how much / what score / what learning rate" question needs the best
  paper to state a number within a few words of what was asked about ("8.4 million agents",
  "150 scenarios"). When it does not, the figure is not in the digest.
The concession: a figure written out in words ("six benchmarks") counts, but a figure stated
in a sentence that uses other words for the asked quantity is missed, and the answer refuses.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence

from rag.ingest.chunking import split_sentences
from rag.records import Paper, Source
from rag.search.keyword import name_parts, tokenize
from rag.search.vocabulary import one_of
from rag.texts import (
    FIGURE_NOT_GIVEN,
    GAP_AUTHOR_NAMES,
    GAP_CHOICE,
    GAP_FIGURE,
    GAP_HOW_MANY,
    GAP_MODEL,
    GAP_NAME,
    GAP_VERSION,
    GAP_WHAT,
    MODEL_NOT_NAMED,
    NAME_NOT_MENTIONED,
    NO_AUTHOR_NAMES,
)

_ASKS_FOR_NAMES = re.compile(
    r"\b(who (is|are|was|were) the ([\w-]+ )?(authors?|researchers?|writers?)\b"
    r"|who (funded|sponsored|financed|paid for)\b|\bfunding\b|\bgrants?\b|\bsponsor\w*"
    r"|names? of the authors?|authors' names|first author|last author"
    r"|which (university|universities|institutions?|institutes?|labs?)|affiliat\w*)\b",
    re.IGNORECASE,
)
# Nouns that name a measured quantity: a question for one ("what latency reduction", "what
# AUC", "what learning rate") wants a number.
MEASURES = (
    "score accuracy rate size budget cost number percentage speed.?up coefficient constant value "
    "weight threshold temperature ratio factor quantile discount horizon dimension epochs steps "
    "count amount length duration latency reduction improvement gain drop increase decrease "
    "overhead throughput auc perplexity"
).split()
_MEASURE = f"(?:{'|'.join(MEASURES)})"
# The quantity asked for: "how many GPU hours", "what AIME24 score", "what learning rate".
_ASKS_FOR_FIGURE = re.compile(
    r"\bhow (many|much) (?P<many>[\w\- ]{2,40}?)\b(did|do|does|were|was|is|are|in|for|on|"
    r"would|could|had|has|have|it|they)\b"
    rf"|\bwhat (?P<what>[\w\- ]{{0,30}}?\b(?P<unit>{_MEASURE}(?:\s+{_MEASURE})*))s?\b",
    re.IGNORECASE,
)
# An acronym or a name with digits: "GSM8K", "AIME24", "STEER", "GPT-4".
_NAME = re.compile(r"\b(?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|[A-Za-z]+-?\d[\w.-]*)\b")
_COMMON_NAMES = frozenset({"AI", "AIs", "LLM", "LLMs", "RL", "ML", "NLP", "VLM", "VLMs", "GPU"})
FIGURE_WINDOW = 4
# "Which base model did they fine-tune?", "which specific LLMs were tested?": a question for a
# named model, which the best paper must name (a name with digits, or a model family).
_ASKS_FOR_MODEL = re.compile(
    r"\b(?:which|what)\s+(?:(?:specific|exact|particular|base|backbone|underlying|"
    r"pre-?trained|language|foundation|open|proprietary)\s+)*(?:models?|llms?|backbones?|"
    r"model versions?|architectures?)\b",
    re.I,
)
# Model families named without digits ("Gemini", "LLaMA"); a name with digits ("LLaVA-7b",
# "Qwen2.5") counts as a model when a size or a model word stands near it, so "COVID-19"
# does not.
_MODEL_FAMILY = re.compile(
    r"\b(?:GPT\w*|ChatGPT|LLaMA\w*|Llama\w*|Qwen\w*|Mistral\w*|Mixtral|Gemini|Gemma\w*|Claude|"
    r"Grok|DeepSeek\w*|Phi-?\w*|BERT|RoBERTa|T5|ViT|ResNet\w*|LLaVA\w*|Vicuna|Falcon|OPT|"
    r"PaLM\w*|Pythia)\b"
)
_NAME_WITH_DIGITS = re.compile(r"\b[A-Za-z]+-?\d[\w.-]*")
_MODEL_SIZE = re.compile(r"\d(?:\.\d+)?[BbMm]\b")
_MODEL_CONTEXT = re.compile(
    r"\b(?:models?|llms?|lms?|networks?|backbones?|checkpoints?|transformers?)\b", re.I
)
MODEL_CONTEXT_CHARS = 40
# "Which exact Gemini and Grok versions", "what version of GPT-4": a version is a name with
# digits, which a family name alone does not give.
_ASKS_FOR_VERSION = re.compile(r"\b(?:which|what)\b[^?]{0,60}?\bversions?\b", re.I)
# "PPO or GRPO?": a choice between names, which the paper asked about must make.
_CHOICE = re.compile(
    r"\b((?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|[A-Za-z]+-?\d[\w.-]*))\s*,?\s+or\s+"
    r"((?:[A-Z][A-Za-z]*[A-Z][A-Za-z]*|[A-Za-z]+-?\d[\w.-]*))\b"
)
_AUXILIARIES = frozenset("did do does is are was were has have had".split())
_COMPARATIVES = frozenset("more less fewer better worse".split())
# Units that say little alone ("what learning rate", "what model size"): the words before
# them count too.
_GENERIC_UNITS = frozenset(
    "score accuracy rate size budget cost number percentage count amount length value "
    "reduction improvement gain drop increase decrease overhead".split()
)
# A change in a measure, whichever word states it.
_CHANGE = frozenset(tokenize(["gain improvement increase boost reduction decrease drop"])[0])
_DETERMINERS = frozenset("the a an their its this that".split())
_QUESTION_WORDS = frozenset(
    "how much mani what which did do doe is are was were ha have had".split()
)
_NUMBER = re.compile(
    r"\d|\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen)\b",
    re.IGNORECASE,
)


# What an abstract names only when it says so and a reader asks by kind: the hardware, software
# and setting of the work ("which GPU did they train on?", "what optimizer was used?").
RESOURCES = one_of(
    "gpus? tpus? hardware accelerators? clusters? machines? chips? optimizers? libraries "
    "library frameworks? toolkits? compilers? programming languages? licen[cs]es? venues? "
    "conferences? journals? countr(?:y|ies) cit(?:y|ies) hospitals? institutions? companies "
    "company budgets? servers?"
)
_ASKS_WHICH = re.compile(
    r"\b(?:which|what)\s+(?:(?:kind|type|sort)s?\s+of\s+|specific\s+|exact\s+|particular\s+)?"
    rf"(?P<thing>{RESOURCES})\s+(?:did|do|does|was|were|is|are|has|have|had)\b",
    re.I,
)


def asked_thing(question: str) -> str:
    """The kind of thing a "which X did they ..." question asks for ("GPU"), or ""."""
    match = _ASKS_WHICH.search(question)
    return match.group("thing") if match else ""


def asked_quantity(question: str) -> list[str]:
    """Stemmed words of the quantity a question asks for ([] when it asks for none)."""
    match = _ASKS_FOR_FIGURE.search(question)
    if not match:
        return []
    phrase = match.group("many") or match.group("what") or ""
    if match.group("what"):
        # "what was the largest model size": the quantity follows the verb and article.
        phrase = " ".join(_without_leading(phrase.split(), _AUXILIARIES | _DETERMINERS))
    first = phrase.split()[0].lower() if phrase.split() else ""
    # "how much did it improve", "how much does it matter" ask about a degree, not a figure.
    if first in _AUXILIARIES:
        return []
    if first in _COMPARATIVES or match.group("many") and first.endswith("er"):
        # "how much better was the task success?": the figure quantifies the rest of the
        # question ("task success"), not the comparative.
        words = tokenize([question])[0]
        return [w for w in words if w not in _QUESTION_WORDS | {first}]
    unit = (match.group("unit") or "").lower().split()
    if unit and unit[-1] not in _GENERIC_UNITS:
        # "what entropy threshold": the number must be a threshold, not any number near
        # "entropy", which a paper on entropy puts next to every figure it gives.
        words = tokenize([" ".join(unit)])[0]
    else:
        words = [w for w in tokenize([phrase])[0] if w not in _AUXILIARIES]
    if set(words) & _CHANGE:
        # A change is stated in any of its words ("a 152% improvement" answers "what gain"),
        # and a number next to a name the question asks about ("on ALFWorld") is its figure.
        words += sorted(_CHANGE) + tokenize([" ".join(sorted(question_names(question)))])[0]
    return words


def _without_leading(words: list[str], skipped: frozenset[str]) -> list[str]:
    while len(words) > 1 and words[0].lower() in skipped:
        words = words[1:]
    return words


def states_figure(words: Sequence[str], sources: Sequence[Source]) -> bool:
    """Whether the best source states a number next to one of the asked words."""
    if not sources:
        return False
    for sentence in split_sentences(sources[0].paper.abstract):
        tokens = sentence.split()
        numbers = [i for i, token in enumerate(tokens) if _NUMBER.search(token)]
        for i in numbers:
            # The number must quantify what was asked: an asked word within a few words of it.
            window = " ".join(tokens[max(0, i - FIGURE_WINDOW) : i + FIGURE_WINDOW + 1])
            if set(words) & set(tokenize([window])[0]):
                return True
    return False


def _mentions(name: str, text: str) -> bool:
    """Whether `text` names `name` in any written form: "AIME" is in "AIME24", "LM" in "LLMs",
    "VAEs" in "VAE". An acronym must appear in capitals: "STEER" the method is not the
    "steering" of another paper."""
    lowered = text.lower()
    for form in name_parts(name).split():
        if form.isupper() and len(form) > 1:
            if form in text:  # in capitals, also inside a longer acronym: "LM" in "LLMs"
                return True
        elif form.lower() in lowered:
            return True
    return False


def unmentioned_names(question: str, sources: Sequence[Source]) -> list[str]:
    """Names in the question (GSM8K, AIME24, STEER) that no retrieved paper mentions.

    A question naming a benchmark or method asks about that name; papers that do not mention
    it cannot answer, however close their topic. Every retrieved paper is searched, since the
    one that names it need not be the closest in meaning."""
    if not sources:
        return []
    text = name_parts(" ".join(f"{s.paper.title} {s.paper.abstract}" for s in sources))
    return sorted(n for n in question_names(question) if not _mentions(n, text))


def asks_for_names(question: str) -> bool:
    """Whether the question asks who the authors are or where they work."""
    return bool(_ASKS_FOR_NAMES.search(question))


def credit_named_papers(question: str, sources: Sequence[Source], floor: float) -> list[Source]:
    """Sources that mention a name the question asks about ("AIME", "ALFWorld", "GPT-4o"),
    raised to the relevance `floor` when their cosine is lower and ranked first: the encoder
    gives a bare name little weight, so "which abstracts report AIME results?" scores low
    against the very papers that name it. Only names with digits or several capitals count."""
    names = [
        n
        for n in question_names(question)
        if sum(c.isupper() for c in n) >= 2 or any(c.isdigit() for c in n)
    ]
    if not names:
        return list(sources)
    naming, others = [], []
    for source in sources:
        text = name_parts(f"{source.paper.title} {source.paper.abstract}")
        if any(_mentions(n, text) for n in names):
            naming.append(
                dataclasses.replace(
                    source, score=max(source.score, floor), dense=max(source.dense, floor)
                )
            )
        else:
            others.append(source)
    # Papers that name the asked thing go first: the question is about it.
    ranked = naming + others
    return [dataclasses.replace(s, rank=rank) for rank, s in enumerate(ranked, start=1)]


def names_elsewhere(question: str, papers: Sequence[Paper], subject: Sequence[Paper]) -> bool:
    """Whether the question names something ("STEER", "AIME24") that some paper of the
    digest mentions and none of `subject` does: then it is about those other papers."""
    names = question_names(question)
    if not names:
        return False

    def named(paper: Paper) -> set[str]:
        text = name_parts(f"{paper.title} {paper.abstract}")
        return {n for n in names if _mentions(n, text)}

    in_subject = set().union(*(named(p) for p in subject)) if subject else set()
    return any(named(p) - in_subject for p in papers)


def question_names(question: str) -> set[str]:
    """The names a question uses: acronyms and names with digits ("STEER", "AIME24")."""
    return {m.group(0) for m in _NAME.finditer(question)} - _COMMON_NAMES


def missing_gap(question: str, sources: Sequence[Source]) -> tuple[str, str] | None:
    """Why the digest cannot answer this question, and what the abstract lacks ("that
    figure", "GSM8K"), or None when it may."""
    if asks_for_names(question):
        return NO_AUTHOR_NAMES, GAP_AUTHOR_NAMES
    if names := sorted(set(unmentioned_names(question, sources)) - _chosen(question, sources)):
        listed = ", ".join(names)
        return NAME_NOT_MENTIONED.format(names=listed), GAP_NAME.format(names=listed)
    words = asked_quantity(question)
    if words and not states_figure(words, sources):
        return FIGURE_NOT_GIVEN, asked_figure(question)
    if sources and (gap := _missing_name(question, sources[0])):
        return gap
    return None


def _chosen(question: str, sources: Sequence[Source]) -> set[str]:
    """The options of a choice ("PPO or GRPO?") when the best paper names one of them: the
    other option need not be in the digest."""
    choice = _CHOICE.search(question)
    if not choice or not sources:
        return set()
    text = name_parts(f"{sources[0].paper.title} {sources[0].paper.abstract}")
    return set(choice.groups()) if any(_mentions(n, text) for n in choice.groups()) else set()


def _missing_name(question: str, source: Source) -> tuple[str, str] | None:
    """The named thing a question asks of its paper (a model, a version, one of two named
    options) that the paper's abstract does not name."""
    if _ASKS_FOR_VERSION.search(question) and not names_a_model(source, versioned=True):
        return MODEL_NOT_NAMED, GAP_VERSION
    if _ASKS_FOR_MODEL.search(question) and not names_a_model(source):
        return MODEL_NOT_NAMED, GAP_MODEL
    choice = _CHOICE.search(question)
    text = name_parts(f"{source.paper.title} {source.paper.abstract}")
    if choice and not any(_mentions(name, text) for name in choice.groups()):
        options = " or ".join(choice.groups())
        return NAME_NOT_MENTIONED.format(names=options), GAP_CHOICE.format(options=options)
    return None


def names_a_model(source: Source, versioned: bool = False) -> bool:
    """Whether the paper's abstract names a model ("Qwen2.5-7B", "GPT-4", "Gemini"); with
    `versioned`, a model name with digits ("Gemini 2.5" is "Gemini" and "2.5": not enough)."""
    text = source.paper.abstract
    if not versioned and _MODEL_FAMILY.search(text):
        return True
    for match in _NAME_WITH_DIGITS.finditer(text):
        around = text[
            max(0, match.start() - MODEL_CONTEXT_CHARS) : match.end() + MODEL_CONTEXT_CHARS
        ]
        if (
            _MODEL_SIZE.search(match.group(0))
            or _MODEL_CONTEXT.search(around)
            or _MODEL_FAMILY.match(match.group(0))
        ):
            return True
    return False


def asked_figure(question: str) -> str:
    """The figure asked for, as a noun phrase: "the learning rate", "the number of GPU hours"."""
    match = _ASKS_FOR_FIGURE.search(question)
    many = match and (match.group("many") or "").strip()
    what = match and " ".join(
        _without_leading((match.group("what") or "").split(), _AUXILIARIES | _DETERMINERS)
    )
    if many and many.split()[0].lower() not in _AUXILIARIES | _COMPARATIVES:
        return GAP_HOW_MANY.format(phrase=many)
    if what:
        return GAP_WHAT.format(phrase=what)
    return GAP_FIGURE


def missing_detail(question: str, sources: Sequence[Source]) -> str | None:
    """Why the digest cannot answer this question, or None when it may."""
    gap = missing_gap(question, sources)
    return gap[0] if gap else None
