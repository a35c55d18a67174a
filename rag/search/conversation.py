"""Follow-up questions: rewrite them into standalone queries from the conversation so far.

"What method did they propose to fix it?" names nothing; the subject lives in earlier turns.
Without a language model, the subject is carried over: a follow-up (it leans on pronouns or
"and ...", or has almost no words of its own) is joined with the last user question and the
titles of the papers the last answer cited, found by matching the digest's titles in the
assistant's text. Those papers are also returned, so a follow-up that sorts or filters
("which of those is the newest?") can be answered over exactly them.

Whether a question continues the conversation does not hinge on pronouns ("which models caved
worst?" names nothing and has none; "what is their X" can open a new subject). As in TREC
CAsT's historical query expansion, the caller searches for the question alone: unless that
finds a paper outside the conversation's subject with confidence (`new_subject`), the
question continues the conversation and is searched with it.

`check_history` refuses anything but a list of user and assistant messages and bounds what a
history contributes (its latest messages, each cut to size; of the previous question only
its start is carried), so a pasted megabyte costs no more than a short turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rag.errors import QuestionError
from rag.records import Paper
from rag.search.citations import citation_numbers
from rag.search.keyword import tokenize
from rag.search.vocabulary import LISTING_STEMS, one_of

Message = Mapping[str, str]
ROLES = ("user", "assistant")
MESSAGE_SHAPE = "{'role': 'user' or 'assistant', 'content': text}"
# What a history contributes to a question: only the latest turns are read (the rewrite uses
# the last question and answer), each cut to a size no real turn reaches, so a huge history
# costs no more than a short one.
MAX_HISTORY_MESSAGES = 20
MAX_TURN_CHARS = 4000
# Of the previous question, a follow-up reads its start, at most this long (real questions are
# a fraction of it): text pasted after it would outweigh the question in every search.
CARRIED_QUESTION_CHARS = 500

# What points back at the conversation: a pronoun, "the paper", "the latter", or an opening
# that carries on from the last turn ("and ...", "what about ...").
_POINTERS = one_of("they them their theirs it its this these those he she")
_POINTED_AT = one_of(
    "paper authors? method approach study work model one same first second latter former"
)
_CARRY_ON = r"^(?:and|also|what about|how about|so|then|which of|who of)\b"
# "The papers that fix X", "the work on Y": a noun its own clause restricts names a new set.
_RESTRICTED = r"(?!\s+(?:that|which|who|whose|where|on|about|in|into|from|with|for|by)\b)"
# "That" points back as a demonstrative ("that paper", "what about that?", "is that ..."), not
# as a relative or a conjunction ("the papers that fix X", "show that X").
_THAT = (
    rf"that(?=\s+{_POINTED_AT}s?\b|\s*[?.!,;]|\s*$)"
    r"|(?:about|on|in|of|from|with|for|by|to|like|is|was|does|did|do)\s+that"
)
_LEANS_ON_CONTEXT = re.compile(
    rf"\b(?:{_POINTERS}|{_THAT}|the {_POINTED_AT}s?\b{_RESTRICTED})\b|{_CARRY_ON}", re.I
)
# "Which of those ...": the follow-up picks among the papers already named ("they" usually
# means the authors, so it does not count).
_REFERS_TO_SET = re.compile(r"\b(those|these|of the(se|m)|among (them|those))\b", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_FILLER = frozenset(
    "what which who how when why where does do did is are was were the a an of to in on for "
    "and or it they them this that these those about more tell me please can you as".split()
)
# "It", "that paper", "the method": one paper, the one the last answer was about (its first),
# not every paper it cited. "They" is left out: it usually means a paper's authors, and after
# a list it means the list.
_POINTS_AT_ONE = re.compile(
    rf"\b(?:it|its|(?:this|that|the) (?:paper|one|work|study|method|approach|model|benchmark|"
    rf"framework|dataset|system)\b{_RESTRICTED})\b",
    re.I,
)
# "The one about card games", "the paper on fisheries": one of the papers, picked by a detail.
_PICK_BY_DETAIL = re.compile(
    r"\bthe (?:one|paper|work|study|method|benchmark)\s+(?:about|on|with|that|which|where|"
    r"for|in)\s+(?P<detail>[^?.!,;:]+)"
    # "the piano one", "the mental-health paper"
    r"|\bthe (?P<named>[\w-]+(?:\s+[\w-]+)?)\s+(?:one|paper|study|work)\b",
    re.I,
)
# In a conversation, a question this short leans on the previous turn ("Did prompting help?").
MIN_OWN_WORDS = 6
TITLES_CARRIED = 3


@dataclass(frozen=True)
class Standalone:
    """A question ready for retrieval, and the papers the conversation was about."""

    query: str
    rewritten: bool
    subject_papers: tuple[Paper, ...] = ()
    refers_to_set: bool = False
    # The one paper the question points at ("it", "the one about card games"), when it does.
    refers_to_one: Paper | None = None


def check_history(history: object) -> tuple[Message, ...]:
    """The history as the pipeline reads it: its last MAX_HISTORY_MESSAGES messages, each cut
    to MAX_TURN_CHARS; a `QuestionError` naming the expected shape when it is not a list of
    messages."""
    if history is None:
        return ()
    if isinstance(history, str | bytes | Mapping) or not isinstance(history, Sequence):
        raise QuestionError(
            f"history must be a list of messages {MESSAGE_SHAPE}, got {type(history).__name__}"
        )
    messages = list(history)
    for number, message in enumerate(messages):
        if problem := _message_problem(message):
            raise QuestionError(f"history[{number}] {problem}; expected {MESSAGE_SHAPE}")
    return tuple(
        {"role": m["role"], "content": _shortened(m["content"])}
        for m in messages[-MAX_HISTORY_MESSAGES:]
    )


def _message_problem(message: object) -> str:
    if not isinstance(message, Mapping):
        return f"is of type {type(message).__name__}, not a message"
    if "role" not in message:
        return "has no 'role'"
    if message["role"] not in ROLES:
        return f"has role {message['role']!r}"
    if "content" not in message:
        return "has no 'content'"
    if not isinstance(message["content"], str):
        return f"has content of type {type(message['content']).__name__}, not text"
    return ""


def _shortened(text: str) -> str:
    """`text` cut to MAX_TURN_CHARS, keeping its start and its end: an answer's references
    (the cited titles a follow-up is resolved by) come last."""
    if len(text) <= MAX_TURN_CHARS:
        return text
    half = MAX_TURN_CHARS // 2
    return f"{text[:half]} … {text[-half:]}"


def own_words(question: str) -> list[str]:
    return [w for w in _WORD.findall(question.lower()) if w not in _FILLER]


# A turn that names the conversation's papers by a pronoun or goes on from the last answer
# ("and the weakest models?") is about them, whatever words it brings.
_POINTS_BACK = re.compile(
    rf"\b(?:{_POINTERS}|the {_POINTED_AT}s?)\b|^\s*(?:and|also|so|then)\b", re.I
)


def points_back(question: str) -> bool:
    """Whether the question refers to the conversation by a pronoun or goes on from it."""
    return bool(_POINTS_BACK.search(question))


def is_follow_up(question: str) -> bool:
    """Whether the question needs earlier turns to be understood."""
    return bool(_LEANS_ON_CONTEXT.search(question)) or len(own_words(question)) < MIN_OWN_WORDS


def cited_papers(text: str, papers: Sequence[Paper]) -> list[Paper]:
    """Digest papers whose titles (or the part before a colon) appear in `text`, in order."""
    lowered = text.lower()
    found = []
    for paper in papers:
        head = paper.title.split(":", 1)[0].strip()
        positions = [lowered.find(n) for n in {paper.title.lower(), head.lower()} if len(n) >= 6]
        positions = [p for p in positions if p >= 0]
        # Short heads are acronyms ("GTR", "CURE"): whole word, exact case, or they match noise.
        if len(head) < 6 and (match := re.search(rf"\b{re.escape(head)}\b", text)):
            positions.append(match.start())
        if positions:
            found.append((min(positions), paper))
    return [paper for _, paper in sorted(found, key=lambda item: item[0])]


def last_turn(history: Sequence[Message], role: str) -> str:
    for message in reversed(history):
        if message.get("role") == role and str(message.get("content", "")).strip():
            return str(message["content"])
    return ""


def last_question(history: Sequence[Message]) -> str:
    """The start of the last user turn: what a follow-up carries over and searches with."""
    return last_turn(history, "user")[:CARRIED_QUESTION_CHARS]


def conversation_subject(
    history: Sequence[Message],
    papers: Sequence[Paper],
    recall_subject: Callable[[str], Sequence[Paper]] | None = None,
) -> list[Paper]:
    """The papers the conversation is about: those the last answer named, completed by asking
    the previous question again when its text cites more papers than it names by title
    (shortened titles, or another tool's answer)."""
    previous_question = last_question(history)
    previous_answer = last_turn(history, "assistant")
    subject = cited_papers(previous_answer, papers)
    if not subject and previous_question:
        subject = cited_papers(previous_question, papers)
    cited_numbers = citation_numbers(previous_answer)
    if len(subject) < len(cited_numbers) and previous_question and recall_subject:
        named = {p.paper_id for p in subject}
        subject += [p for p in recall_subject(previous_question) if p.paper_id not in named]
    elif not subject and previous_question and recall_subject:
        subject = list(recall_subject(previous_question))
    if not subject and previous_answer and recall_subject:
        # The answer describes its paper even when it names it loosely: search with it.
        subject = list(recall_subject(previous_answer))
    return subject


def standalone_question(
    question: str,
    history: Sequence[Message],
    papers: Sequence[Paper],
    recall_subject: Callable[[str], Sequence[Paper]] | None = None,
    new_subject: Callable[[str, Sequence[Paper]], bool] | None = None,
) -> Standalone:
    """The question itself when it stands alone, else joined with the conversation's subject.

    With `new_subject` (question, conversation papers -> whether the question alone is
    confidently about something else), every question in a conversation continues it unless
    that says otherwise, pronouns or not; without it, the pronoun and length test decides.
    """
    if not history:
        return Standalone(question, rewritten=False)
    if new_subject is None and not is_follow_up(question):
        return Standalone(question, rewritten=False)
    subject = conversation_subject(history, papers, recall_subject)
    if new_subject is not None and new_subject(question, subject):
        return Standalone(question, rewritten=False)
    previous_question = last_question(history)
    refers_to_set = bool(_REFERS_TO_SET.search(question)) and len(subject) > 1
    one = None if refers_to_set else pointed_paper(question, subject)
    # A question about one paper is searched with that paper's title alone: the other papers a
    # long answer mentioned must not pull the search their way (they may still be found).
    carried = [one] if one else subject[:TITLES_CARRIED]
    titles = "; ".join(p.title for p in carried)
    parts = [question, previous_question, titles]
    query = " — ".join(part for part in parts if part)
    return Standalone(
        query,
        rewritten=query != question,
        subject_papers=tuple(subject),
        refers_to_set=refers_to_set,
        refers_to_one=one,
    )


def pointed_paper(question: str, subject: Sequence[Paper]) -> Paper | None:
    """The one paper of the conversation's subject a question points at: the one a detail
    picks ("the one about card games": most of the detail's words in its title and abstract),
    else, for "it" or "that paper", the paper the last answer was about (its first). None when
    the question points at no single paper."""
    if not subject:
        return None
    pick = _PICK_BY_DETAIL.search(question)
    # "The first one", "the other paper" pick by place, not by a detail of the paper.
    words = set(tokenize([pick.group("detail") or pick.group("named")])[0]) if pick else set()
    if words - LISTING_STEMS:
        words -= LISTING_STEMS
        overlap = [
            (len(words & set(tokenize([f"{p.title} {p.abstract}"])[0])), -i, p)
            for i, p in enumerate(subject)
        ]
        best = max(overlap, key=lambda item: item[:2])
        if best[0]:
            return best[2]
    if _POINTS_AT_ONE.search(question):
        return subject[0]
    return None
