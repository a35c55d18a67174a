"""What a question is about: its search text without framing, and the papers of its theme.

Pure functions over strings and `Source` records, kept apart from the chain so retrieval
tuning changes one small module.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.records import Source

# A topical listing keeps papers this close to the best one (dense cosine), or with strong
# keyword evidence, so a theme question names every paper that clearly belongs to it.
THEME_MARGIN = 0.10
THEME_KEYWORD = 0.6


# How readers frame a search ("what research is there on ...", "which papers ..."): words
# about the digest, not about the subject, so they only blur the search.
# Whole words only: "which works build on X" must leave "build on X", not "s build on X".
# "What does the digest say about X" keeps its framing: the off-topic check's share of unknown
# words was set with such words in, and stripping them let three off-topic questions of the
# development set through it.
_DIGEST_NOUN = r"(?:papers?|works?|research|studies|study|articles?|entries|entry|preprints?)"
_FRAMING = re.compile(
    rf"^\s*((is there|are there|do you have|have you got)\s+(any\s+)?({_DIGEST_NOUN}|"
    rf"anything|something)?\b\s*|(which|what)\s+{_DIGEST_NOUN}\b\s*((is|are) there\s+)?|"
    rf"list (all )?(the )?{_DIGEST_NOUN}\b\s*|"
    # "Compare GRPO and PPO" names what it compares without a noun for papers.
    rf"(compare|contrast) (all )?(the )?({_DIGEST_NOUN}\b)?\s*|(show|find|give) me\s+(the\s+)?"
    rf"({_DIGEST_NOUN}\b)?\s*)",
    re.IGNORECASE,
)
_LINKING = re.compile(
    r"^((in (the digest|this digest|the list|this list)|here|in here|listed)\s+)?(that|which|"
    r"are|is|on|about|involves?|deals? with|study|studies|looks? at|try to|tries to)?\b\s*",
    re.I,
)


def search_text(question: str) -> str:
    """The question without its framing: "Which papers study X?" -> "X?"."""
    stripped = _FRAMING.sub("", question, count=1)
    for _ in range(3):
        stripped = _LINKING.sub("", stripped, count=1)
    return stripped if len(stripped.split()) >= 2 else question


def theme_members(sources: Sequence[Source], min_relevance: float) -> list[Source]:
    """The sources that clearly belong to the question's theme (none when nothing is relevant)."""
    relevant = [s for s in sources if s.dense >= min_relevance]
    if not relevant:
        return []
    best = max(s.dense for s in relevant)
    return [s for s in relevant if s.dense >= best - THEME_MARGIN or s.keyword >= THEME_KEYWORD]
