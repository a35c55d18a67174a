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
_FRAMING = re.compile(
    r"^\s*((is there|are there|do you have|have you got)\s+(any\s+)?(work|research|papers?|"
    r"studies|study|anything|something)?\s*|(which|what)\s+(papers?|work|research|studies|"
    r"articles)\s*(in (the digest|here))?\s*(is there\s+)?|list (all )?(the )?(papers|studies|"
    r"work)\s*|(show|find|give) me\s+(the\s+)?(papers?|work|research)?\s*)",
    re.IGNORECASE,
)
_LINKING = re.compile(
    r"^(in (the digest|here)\s+)?(that|which|are|is|on|about|involves?|"
    r"deals? with|study|studies|looks? at|try to|tries to)\b\s*",
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
