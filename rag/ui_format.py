"""HTML for the browser app: answers with linked citations, source cards, paper details.

Every function is pure: records in, an HTML string out, so the app's look is tested without a
server. Digest text (titles, abstracts, organisations) is always passed through `html.escape`
before it meets markup, so a title such as `<img src=x onerror=alert(1)>` shows as text.

An answer message is Markdown (the composer writes `- **Title**: ...` for lists) followed by
HTML blocks for the cards. Gradio's Chatbot renders Markdown and sanitizes the HTML; each card
is one HTML block without blank lines, so Markdown never reads inside it. A citation `[n]`
becomes a link to the card `#<key>-<n>`; `key` is unique per message on the page, so answers
earlier in the conversation keep their own cards. The sentences an answer used are marked
inside the abstract they came from, matched sentence by sentence with the same splitter the
composer uses (`rag.chunking.split_sentences`).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping, Sequence

from rag.chunking import split_sentences
from rag.records import Answer, Citation, Paper, Source
from rag.texts import APP_NEAREST_LEAD, NOT_COVERED

NEAREST_SHOWN = 3
_CITATION = re.compile(r"\[(\d+)\]")


def escape(text: str) -> str:
    """Digest text as inert HTML."""
    return html.escape(text, quote=True)


def day_label(published: dt.date | None) -> str:
    return published.isoformat() if published else "undated"


def link_citations(text: str, key: str, numbers: Iterable[int]) -> str:
    """Escape `text` and turn each known `[n]` into a link to its source card."""
    known = set(numbers)

    def link(match: re.Match[str]) -> str:
        number = int(match.group(1))
        if number not in known:
            return match.group(0)
        return f'<a class="cite" href="#{key}-{number}" data-cite="{number}">[{number}]</a>'

    return _CITATION.sub(link, html.escape(text, quote=False))


def marked_abstract(abstract: str, used: str) -> str:
    """The abstract, escaped, with the sentences found in `used` wrapped in <mark>."""
    used_sentences = set(split_sentences(used))
    parts = []
    for sentence in split_sentences(abstract):
        escaped = escape(sentence)
        parts.append(f"<mark>{escaped}</mark>" if sentence in used_sentences else escaped)
    return " ".join(parts)


def meta_line(paper: Paper, score: float | None) -> str:
    """Date, byline, upvotes and relevance, separated by dots."""
    parts = [day_label(paper.published)]
    if paper.byline:
        parts.append(escape(paper.byline))
    parts.append(f"▲ {paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if score is not None:
        parts.append(f"relevance {score:.2f}")
    return " · ".join(parts)


def source_card(paper: Paper, score: float | None, used: str, anchor: str, label: str) -> str:
    """One card: title, metadata, the sentences used, and the full abstract one click away."""
    used_html = " ".join(f"<mark>{escape(s)}</mark>" for s in split_sentences(used))
    quote = f'<blockquote class="source-used">{used_html}</blockquote>' if used_html else ""
    return (
        f'<div class="source-card" id="{anchor}" data-paper="{escape(paper.paper_id)}">'
        f'<div class="source-head"><span class="source-num">{label}</span> '
        f'<span class="source-title">{escape(paper.title)}</span></div>'
        f'<div class="source-meta">{meta_line(paper, score)}</div>'
        f"{quote}"
        f"<details><summary>Full abstract</summary>"
        f'<p class="source-abstract">{marked_abstract(paper.abstract, used)}</p></details>'
        "</div>"
    )


def _paper_of(citation: Citation, sources: Sequence[Source], papers: Mapping[str, Paper]) -> Paper:
    for source in sources:
        if source.paper.paper_id == citation.paper_id:
            return source.paper
    if citation.paper_id in papers:
        return papers[citation.paper_id]
    return Paper(citation.paper_id, citation.title, citation.snippet, published=citation.published)


def _score_of(paper_id: str, sources: Sequence[Source]) -> float | None:
    return next((s.score for s in sources if s.paper.paper_id == paper_id), None)


def citation_cards(answer: Answer, key: str, papers: Mapping[str, Paper]) -> str:
    """Cards for the cited papers, in citation order."""
    cards = []
    for citation in answer.citations:
        paper = _paper_of(citation, answer.sources, papers)
        score = _score_of(citation.paper_id, answer.sources)
        anchor = f"{key}-{citation.number}"
        cards.append(source_card(paper, score, citation.snippet, anchor, f"[{citation.number}]"))
    return "".join(cards)


def answer_html(answer: Answer, key: str, papers: Mapping[str, Paper]) -> str:
    """The chat message for a finished answer: text with linked citations, then source cards."""
    if answer.abstained:
        return not_covered_html(answer, key)
    numbers = [c.number for c in answer.citations]
    text = link_citations(answer.text.strip(), key, numbers)
    parts = [text]
    if note := answer.note:
        parts.append(f'<div class="answer-note">{escape(note)}</div>')
    if answer.citations:
        parts.append(
            f'<div class="sources" data-answer="{key}">{citation_cards(answer, key, papers)}</div>'
        )
    return "\n\n".join(parts)


def not_covered_html(answer: Answer, key: str) -> str:
    """The clear "not covered" state: the reason, then the nearest papers, marked not cited."""
    reason = answer.text.split(" The nearest papers")[0].strip() or NOT_COVERED
    # A near-miss cites the paper it is about: its card is numbered, the others are nearest.
    cited = {c.paper_id: c for c in answer.citations}
    about = "".join(
        source_card(
            s.paper,
            s.score,
            "",
            f"{key}-{cited[s.paper.paper_id].number}",
            f"[{cited[s.paper.paper_id].number}]",
        )
        for s in answer.sources
        if s.paper.paper_id in cited
    )
    nearest = [s for s in answer.sources if s.paper.paper_id not in cited][:NEAREST_SHOWN]
    cards = "".join(
        source_card(s.paper, s.score, "", f"{key}-near-{i}", "nearest")
        for i, s in enumerate(nearest, start=1)
    )
    lead = f'<div class="nearest-lead">{APP_NEAREST_LEAD}</div>' if nearest else ""
    return f'<div class="not-covered"><strong>{escape(reason)}</strong>{about}{lead}{cards}</div>'


def error_html(message: str) -> str:
    """A friendly error shown in the chat instead of an answer."""
    return f'<div class="chat-error">⚠️ {escape(message)}</div>'


def paper_detail_html(paper: Paper) -> str:
    """A paper shown on its own (Papers table selection, Map click)."""
    code = "".join(
        f'<li><a href="{escape(url)}" rel="noopener noreferrer">{escape(url)}</a></li>'
        for url in paper.code_urls
        if url.startswith(("https://", "http://"))
    )
    links = f"<ul class='paper-code'>{code}</ul>" if code else ""
    return (
        f'<div class="paper-detail" data-paper="{escape(paper.paper_id)}">'
        f'<h3 class="paper-title">{escape(paper.title)}</h3>'
        f'<div class="source-meta">{meta_line(paper, None)}</div>'
        f'<p class="paper-abstract">{escape(paper.abstract)}</p>{links}</div>'
    )


PAPER_COLUMNS = ["Title", "Date", "Authors / organisation", "Upvotes"]


def paper_rows(papers: Iterable[Paper], search: str = "") -> list[list[object]]:
    """Table rows, newest first, of the papers whose title, byline or abstract has `search`."""
    needle = search.strip().casefold()
    chosen = [
        p for p in papers if not needle or needle in f"{p.title} {p.byline} {p.abstract}".casefold()
    ]
    chosen.sort(key=lambda p: (p.published or dt.date.min, p.title), reverse=True)
    return [[p.title, day_label(p.published), p.byline, p.upvotes] for p in chosen]
