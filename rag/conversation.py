"""Follow-up questions: rewrite them into standalone queries from the conversation so far.

"What method did they propose to fix it?" names nothing; the subject lives in earlier turns.
Without a language model, the subject is carried over: a follow-up (it leans on pronouns or
"and ...", or has almost no words of its own) is joined with the last user question and the
titles of the papers the last answer cited, found by matching the digest's titles in the
assistant's text. Those papers are also returned, so a follow-up that sorts or filters
("which of those is the newest?") can be answered over exactly them. The concession: a
follow-up that changes subject while still using a pronoun is read as continuing the old one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rag.records import Paper

Message = Mapping[str, str]

_LEANS_ON_CONTEXT = re.compile(
    r"\b(they|them|their|theirs|it|its|this|that|these|those|he|she|the (paper|authors?|"
    r"method|approach|study|work|model|one|same|first|second|latter|former)s?)\b"
    r"|^(and|also|what about|how about|so|then|which of|who of)\b",
    re.IGNORECASE,
)
# "Which of those ...": the follow-up picks among the papers already named ("they" usually
# means the authors, so it does not count).
_REFERS_TO_SET = re.compile(r"\b(those|these|of the(se|m)|among (them|those))\b", re.I)
_CITATION = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-]+")
_FILLER = frozenset(
    "what which who how when why where does do did is are was were the a an of to in on for "
    "and or it they them this that these those about more tell me please can you as".split()
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


def own_words(question: str) -> list[str]:
    return [w for w in _WORD.findall(question.lower()) if w not in _FILLER]


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


def standalone_question(
    question: str,
    history: Sequence[Message],
    papers: Sequence[Paper],
    recall_subject: Callable[[str], Sequence[Paper]] | None = None,
) -> Standalone:
    """The question itself when it stands alone, else joined with the conversation's subject.

    The subject is the papers the last answer named; when its text cites more papers than it
    names by title (shortened titles, or another tool's answer), `recall_subject` answers the
    previous question again to find the rest.
    """
    if not history or not is_follow_up(question):
        return Standalone(question, rewritten=False)
    previous_question = last_turn(history, "user")
    previous_answer = last_turn(history, "assistant")
    subject = cited_papers(previous_answer, papers)
    if not subject and previous_question:
        subject = cited_papers(previous_question, papers)
    cited_numbers = set(_CITATION.findall(previous_answer))
    if len(subject) < len(cited_numbers) and previous_question and recall_subject:
        # Some cited papers were named in a way no title matches: ask the question again.
        named = {p.paper_id for p in subject}
        subject += [p for p in recall_subject(previous_question) if p.paper_id not in named]
    elif not subject and previous_question and recall_subject:
        subject = list(recall_subject(previous_question))
    titles = "; ".join(p.title for p in subject[:TITLES_CARRIED])
    parts = [question, previous_question, titles]
    query = " — ".join(part for part in parts if part)
    return Standalone(
        query,
        rewritten=query != question,
        subject_papers=tuple(subject),
        refers_to_set=bool(_REFERS_TO_SET.search(question)) and len(subject) > 1,
    )
