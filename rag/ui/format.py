"""HTML for the browser app: answers with linked citations, source cards, paper details.

Every function is pure: records in, an HTML string out, so the app's look is tested without a
server. Digest text (titles, abstracts, organisations, and the answers quoting them) is data:
it always goes through `escape` before it meets markup, which makes it inert both as HTML and
as Markdown, so a title such as `<img src=x onerror=alert(1)>` or an abstract holding
`![x](http://host/p.png)` shows as that text and the browser fetches nothing.

An answer message is HTML only (the Chatbot renders no Markdown): the answer's text, its
lines as paragraphs and its `- ` lines as a list, the title the composer writes in bold at the
head of a list item (`- **Title**: ...`) in <strong>, then the cards. A citation `[n]`
becomes a link to the card `#<key>-<n>`; `key` is unique per message on the page, so answers
earlier in the conversation keep their own cards. The sentences an answer used are marked
inside the abstract they came from, matched sentence by sentence with the same splitter the
composer uses (`rag.ingest.chunking.split_sentences`); when the answer quotes none of them (a list
of papers from their records), the card marks the abstract's sentence sharing the most words
with what was searched instead, so the highlight is always evidence for the question.

A card's relevance is a word and a number for papers retrieved by meaning, graded by the same
thresholds the answerer uses (`AnswerSettings`); a paper selected by its record (upvotes,
date) has none, since no similarity chose it. A generated answer shows each sentence's
verdict; the searched text shows under an answer when the conversation added to it.
The Papers table is a plain HTML table sorted on the server; its headers are buttons.
A comparison (`rag.answer.compare`) is a table too, one row per paper: its `[n]` links to the
paper's source card under the table, the card that marks the sentences the row's cells quote.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rag.answer.compare import COLUMNS, Cell, Comparison, ComparisonRow
from rag.answer.facts import YEAR_INFERRED
from rag.answer.grades import NEAREST_SHOWN, match_grade
from rag.answer.support import content_words
from rag.config import AnswerSettings
from rag.display import readable
from rag.ingest.chunking import split_sentences
from rag.records import Answer, Citation, Paper, Sentence, Source
from rag.texts import (
    APP_ASK_AS_NEW_TOPIC,
    APP_COMPARISON,
    APP_COMPARISON_NOTE,
    APP_DESCRIPTION,
    APP_MODEL_HEADING,
    APP_MODEL_STOPPED,
    APP_MODEL_WRITING,
    APP_NEAREST_LEAD,
    APP_NEW_TOPIC_MARK,
    APP_OVERVIEW,
    APP_OVERVIEW_TABS,
    APP_OVERVIEW_TOPICS,
    APP_PAPERS_SORT,
    APP_RELEVANCE,
    APP_RELEVANCE_HELP,
    APP_SEARCHED,
    APP_SEARCHED_HELP,
    APP_SENTENCE_UNCITED,
    APP_SENTENCE_UNSUPPORTED,
    APP_STOPPED,
    APP_YEAR_INFERRED,
    APP_YEAR_INFERRED_HELP,
    NOT_COVERED,
    NOTHING_TO_COMPARE,
)

TITLE = "Digest QA"
_CITATION = re.compile(r"\[(\d+)\]")
# Every character HTML, Markdown (CommonMark and GFM: emphasis, code, links, images, autolinks
# such as `http://`, `www.` and `a@b.org`, headings, lists, quotes, tables, strikethrough),
# LaTeX delimiters or a template reads as syntax. A numeric reference shows as the character
# in HTML, and a Markdown renderer reads it as a literal, never as syntax.
_SYNTAX = "&<>\"'\\`*_{}[]()#+-.!|~:@$="
_INERT = str.maketrans({char: f"&#{ord(char)};" for char in _SYNTAX})
_LIST_ITEM = "- "
# The extractive composer opens a list item with the paper's short title in bold.
_TITLE_LEAD = re.compile(r"\*\*(.+?)\*\*: ")
CURSOR = " ▍"
# A snippet counts as quoted by the answer when this share of its words is in the answer's
# text (the composer may turn "We find" into "The authors find").
QUOTED_SHARE = 0.6
_GRADES = AnswerSettings()
STRONG_MATCH = _GRADES.confident_relevance
WEAK_MATCH = _GRADES.min_relevance


def escape(text: str) -> str:
    """Digest text as inert markup: shown as it is, read as neither HTML nor Markdown."""
    return text.translate(_INERT)


def shown(text: str) -> str:
    """Digest text as a person reads it (`rag.display.readable`), escaped."""
    return escape(readable(text))


def day_label(published: dt.date | None) -> str:
    return published.isoformat() if published else "undated"


def link_citations(text: str, key: str, numbers: Iterable[int]) -> str:
    """Escape `text` and turn each known `[n]` into a link to its source card."""
    known = set(numbers)
    pieces = _CITATION.split(text)  # text, number, text, number, ..., text
    parts = [escape(pieces[0])]
    for digits, after in zip(pieces[1::2], pieces[2::2], strict=True):
        number = int(digits)
        link = f'<a class="cite" href="#{key}-{number}" data-cite="{number}">[{number}]</a>'
        parts += [link if number in known else escape(f"[{digits}]"), escape(after)]
    return _muted_inferred("".join(parts))


def _muted_inferred(html: str) -> str:
    """The records' "year inferred" in a muted span: it qualifies a date, it is not news."""
    return html.replace(YEAR_INFERRED, f'<span class="inferred">{YEAR_INFERRED}</span>')


def _list_item_html(item: str, key: str, numbers: Sequence[int]) -> str:
    lead = _TITLE_LEAD.match(item)
    if lead is None:
        return link_citations(item, key, numbers)
    rest = link_citations(item[lead.end() :], key, numbers)
    return f"<strong>{escape(lead.group(1))}</strong>: {rest}"


def answer_text_html(text: str, key: str, numbers: Iterable[int]) -> str:
    """The answer's text as HTML: each line a paragraph, consecutive `- ` lines one list, the
    composer's bold title at the head of an item in <strong>, known `[n]` linked to their
    cards; everything else escaped, so Markdown quoted from an abstract stays text."""
    known = list(numbers)
    blocks: list[str] = []
    items: list[str] = []
    for line in text.strip().splitlines():
        if line.startswith(_LIST_ITEM):
            items.append(f"<li>{_list_item_html(line[len(_LIST_ITEM) :], key, known)}</li>")
            continue
        if items:
            blocks.append(f"<ul>{''.join(items)}</ul>")
            items = []
        if line.strip():
            blocks.append(f"<p>{link_citations(line, key, known)}</p>")
    if items:
        blocks.append(f"<ul>{''.join(items)}</ul>")
    return f'<div class="answer-text">{"".join(blocks)}</div>'


def marked_abstract(abstract: str, used: str) -> str:
    """The abstract, escaped, with the sentences found in `used` wrapped in <mark>."""
    # Compared as read: `used` may hold the stored sentences or their readable form.
    used_sentences = {readable(sentence) for sentence in split_sentences(used)}
    parts = []
    for sentence in split_sentences(abstract):
        escaped = shown(sentence)
        marked = readable(sentence) in used_sentences
        parts.append(f"<mark>{escaped}</mark>" if marked else escaped)
    return " ".join(parts)


def relevance_html(score: float | None, answered: bool = True) -> str:
    """How well a paper retrieved by meaning matches the question, graded by the answerer's
    own thresholds (`match_grade`); "" for a paper chosen by its record (no similarity chose
    it). A paper the answer did not rest on (`answered` false) is never a strong match."""
    grade = match_grade(score, _GRADES, answered)
    if not grade or score is None:
        return ""
    help_text = APP_RELEVANCE_HELP.format(score=score, strong=STRONG_MATCH, weak=WEAK_MATCH)
    return (
        f'<span class="relevance relevance-{grade}" title="{escape(help_text)}">'
        f"{APP_RELEVANCE[grade]} {score:.2f}</span>"
    )


def date_html(paper: Paper) -> str:
    """The date, with a muted note when the digest gave no year and it was inferred."""
    if not paper.year_inferred:
        return day_label(paper.published)
    help_text = escape(APP_YEAR_INFERRED_HELP)
    note = f'<span class="inferred" title="{help_text}">{APP_YEAR_INFERRED}</span>'
    return f"{day_label(paper.published)} {note}"


def meta_line(paper: Paper, score: float | None, answered: bool = True) -> str:
    """Date, byline, upvotes and relevance, separated by dots."""
    parts = [date_html(paper)]
    if paper.byline:
        parts.append(escape(paper.byline))
    parts.append(f"▲ {paper.upvotes} upvote{'s' if paper.upvotes != 1 else ''}")
    if relevance := relevance_html(score, answered):
        parts.append(relevance)
    return " · ".join(parts)


def matching_sentence(abstract: str, query: str) -> str:
    """The abstract's sentence sharing the most words with `query` (the first of equals);
    "" when none shares any."""
    wanted = content_words(query)
    best, best_shared = "", 0
    for sentence in split_sentences(abstract):
        shared = len(wanted & content_words(sentence))
        if shared > best_shared:
            best, best_shared = sentence, shared
    return best


def quoted(snippet: str, text: str) -> bool:
    """Whether `text` quotes a sentence of `snippet` (most of its words are there)."""
    said = content_words(text)
    for sentence in split_sentences(snippet):
        words = content_words(sentence)
        if words and len(words & said) >= QUOTED_SHARE * len(words):
            return True
    return False


def evidence(citation: Citation, paper: Paper, answer: Answer) -> str:
    """What a card highlights: the sentences the answer quoted, else the abstract's sentence
    that best matches what was searched."""
    if citation.snippet and quoted(citation.snippet, answer.text):
        return citation.snippet
    return matching_sentence(paper.abstract, answer.query or answer.question)


def source_card(
    paper: Paper, score: float | None, used: str, anchor: str, label: str, answered: bool = True
) -> str:
    """One card: title, metadata, the sentences used, and the full abstract one click away."""
    used_html = " ".join(f"<mark>{shown(s)}</mark>" for s in split_sentences(used))
    quote = f'<blockquote class="source-used">{used_html}</blockquote>' if used_html else ""
    return (
        f'<div class="source-card" id="{anchor}" data-paper="{escape(paper.paper_id)}">'
        f'<div class="source-head"><span class="source-num">{label}</span> '
        f'<span class="source-title">{shown(paper.title)}</span></div>'
        f'<div class="source-meta">{meta_line(paper, score, answered)}</div>'
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
        used = evidence(citation, paper, answer)
        cards.append(source_card(paper, score, used, anchor, f"[{citation.number}]"))
    return "".join(cards)


def searched_differs(answer: Answer) -> bool:
    """Whether the search used more than the question's own words (the conversation's)."""
    return bool(answer.query) and bool(content_words(answer.query) - content_words(answer.question))


def searched_html(answer: Answer) -> str:
    """What was searched, when the conversation added to the question; "" otherwise."""
    if not searched_differs(answer):
        return ""
    return (
        f'<div class="answer-query" title="{escape(APP_SEARCHED_HELP)}">{APP_SEARCHED} '
        f'<span class="query">{escape(answer.query)}</span></div>'
    )


def sentence_html(sentence: Sentence, key: str) -> str:
    """One generated sentence with its verdict: backed, not backed, or citing nothing."""
    text = link_citations(sentence.text, key, sentence.citations)
    if sentence.supported:
        return f'<span class="sentence supported">{text}</span>'
    verdict = APP_SENTENCE_UNCITED if sentence.supported is None else APP_SENTENCE_UNSUPPORTED
    return (
        f'<span class="sentence unsupported">{text}</span> <span class="verdict">({verdict})</span>'
    )


def generated_text_html(answer: Answer, key: str) -> str:
    """A generated answer, sentence by sentence with each one's verdict."""
    body = " ".join(sentence_html(s, key) for s in answer.sentences)
    return f'<div class="answer-text generated"><p>{body}</p></div>'


def answer_html(answer: Answer, key: str, papers: Mapping[str, Paper]) -> str:
    """The chat message for a finished answer: text with linked citations, what was searched
    when the conversation added to it, then source cards."""
    if answer.abstained:
        return searched_html(answer) + not_covered_html(answer, key)
    numbers = [c.number for c in answer.citations]
    if answer.sentences:
        parts = [generated_text_html(answer, key)]
    else:
        parts = [answer_text_html(answer.text, key, numbers)]
    if note := answer.note:
        parts.append(f'<div class="answer-note">{escape(note)}</div>')
    parts.append(searched_html(answer))
    if answer.citations:
        parts.append(
            f'<div class="sources" data-answer="{key}">{citation_cards(answer, key, papers)}</div>'
        )
    return "".join(parts)


def model_answer_html(answer: Answer, key: str, papers: Mapping[str, Paper], model: str) -> str:
    """A generated answer under the heading that names its model."""
    heading = f'<div class="model-heading">{escape(APP_MODEL_HEADING.format(model=model))}</div>'
    return heading + answer_html(answer, key, papers)


def streaming_html(written: str) -> str:
    """An answer being written: its text so far and a cursor."""
    return answer_text_html(written + CURSOR, "", ())


def stopped_html(written: str) -> str:
    """An answer stopped while being written: its text so far (whole words), then "(stopped)"."""
    text = answer_text_html(written, "", ()) if written.strip() else ""
    return f'{text}<div class="stopped">{APP_STOPPED}</div>'


def model_writing_html(model: str, words: int) -> str:
    """The model's answer in progress: how far it is, never its unchecked text."""
    status = escape(APP_MODEL_WRITING.format(model=model, words=words))
    return f'<div class="model-writing">{status}{CURSOR}</div>'


def model_stopped_html() -> str:
    return f'<div class="stopped">{escape(APP_MODEL_STOPPED)}</div>'


def question_html(question: str, new_topic: bool) -> str:
    """The reader's question as the chat shows it, marked when it starts a new topic."""
    mark = f'<span class="topic-mark">{APP_NEW_TOPIC_MARK}</span> ' if new_topic else ""
    return mark + escape(question)


NEW_TOPIC_OPTION = {"label": APP_ASK_AS_NEW_TOPIC, "value": "new-topic"}


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
            answered=False,
        )
        for s in answer.sources
        if s.paper.paper_id in cited
    )
    nearest = [s for s in answer.sources if s.paper.paper_id not in cited][:NEAREST_SHOWN]
    cards = "".join(
        source_card(s.paper, s.score, "", f"{key}-near-{i}", "nearest", answered=False)
        for i, s in enumerate(nearest, start=1)
    )
    lead = f'<div class="nearest-lead">{APP_NEAREST_LEAD}</div>' if nearest else ""
    return f'<div class="not-covered"><strong>{escape(reason)}</strong>{about}{lead}{cards}</div>'


COMPARISON_KEY = "cmp"
# The comparison's columns after the paper: each cell's class and header, in
# `ComparisonRow.values()` order.
COMPARISON_COLUMNS = tuple(
    zip(("proposes", "evaluated", "result", "date", "upvotes"), COLUMNS, strict=True)
)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'s' if count != 1 else ''}"


def _compared_cell(cell: Cell) -> str:
    """A cell's content: the abstract's words, or a muted "(not stated in the abstract)"."""
    if not cell.filled:
        return f'<span class="not-stated">{escape(cell.shown())}</span>'
    if cell.sentence in ("", cell.text):
        return escape(cell.text)
    # A clause cut from a longer sentence shows that sentence on hover.
    return f'<span title="{escape(cell.sentence)}">{escape(cell.text)}</span>'


def _compared_row(row: ComparisonRow, key: str) -> str:
    number, paper = row.number, row.paper
    cite = f'<a class="cite" href="#{key}-{number}" data-cite="{number}">[{number}]</a>'
    contents = [*map(_compared_cell, row.cells), date_html(paper), str(paper.upvotes)]
    # Each cell carries its header, which a narrow table shows beside it (rows stack there).
    cells = "".join(
        f'<td class="col-{column}" data-label="{header.capitalize()}">{content}</td>'
        for (column, header), content in zip(COMPARISON_COLUMNS, contents, strict=True)
    )
    return (
        f'<tr data-paper="{escape(paper.paper_id)}"><th scope="row" class="col-paper">{cite} '
        f'<span class="compared-title">{shown(paper.title)}</span></th>{cells}</tr>'
    )


def comparison_html(comparison: Comparison, key: str = COMPARISON_KEY) -> str:
    """The comparison under the chat: what was compared, then a row per paper whose `[n]`
    links to its card (`comparison_cards_html`), or why no paper could be compared."""
    asked = f'<span class="compared-question">{escape(comparison.question)}</span>'
    count = plural(len(comparison.rows), "paper")
    head = f'<p class="comparison-head"><strong>{APP_COMPARISON}</strong> · {count} · {asked}</p>'
    if not comparison.rows:
        message = f'<div class="not-covered"><strong>{escape(NOTHING_TO_COMPARE)}</strong></div>'
        return f'<div class="comparison">{head}{message}</div>'
    heads = "".join(
        f'<th scope="col" class="col-{column}">{header.capitalize()}</th>'
        for column, header in (("paper", "paper"), *COMPARISON_COLUMNS)
    )
    body = "".join(_compared_row(row, key) for row in comparison.rows)
    return (
        f'<div class="comparison">{head}<div class="comparison-scroll">'
        f'<table class="comparison-table"><thead><tr>{heads}</tr></thead><tbody>{body}</tbody>'
        f'</table></div><p class="comparison-note">{escape(APP_COMPARISON_NOTE)}</p></div>'
    )


def _distinct(row: ComparisonRow) -> list[str]:
    """The sentences a row's cells quote, each once: a cell may hold a sentence without the
    LaTeX another cell kept, and the one as written (the longer) is the abstract's."""
    kept: list[str] = []
    for sentence in sorted({c.sentence for c in row.cells if c.sentence}, key=len, reverse=True):
        if not any(content_words(sentence) <= content_words(other) for other in kept):
            kept.append(sentence)
    return kept


def comparison_cards_html(comparison: Comparison, key: str = COMPARISON_KEY) -> str:
    """The compared papers' source cards, numbered as their rows, each marking the sentences
    its cells quote; "" when there is no row."""
    cards = []
    for row in comparison.rows:
        # In the abstract's order, as a reader meets them in the full abstract.
        used = " ".join(sorted(_distinct(row), key=row.paper.abstract.find))
        cards.append(source_card(row.paper, None, used, f"{key}-{row.number}", f"[{row.number}]"))
    if not cards:
        return ""
    return f'<div class="sources comparison-sources" data-answer="{key}">{"".join(cards)}</div>'


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
        f'<h3 class="paper-title">{shown(paper.title)}</h3>'
        f'<div class="source-meta">{meta_line(paper, None)}</div>'
        f'<p class="paper-abstract">{shown(paper.abstract)}</p>{links}</div>'
    )


PAPER_COLUMNS = ["Title", "Date", "Authors / organisation", "Upvotes"]


def paper_rows(papers: Iterable[Paper], search: str = "") -> list[list[object]]:
    """Table rows, newest first, of the papers whose title, byline or abstract has `search`."""
    chosen = sort_papers(matching_papers(papers, search), PaperSort())
    return [[p.title, day_label(p.published), p.byline, p.upvotes] for p in chosen]


def matching_papers(papers: Iterable[Paper], search: str = "") -> list[Paper]:
    """The papers whose title, byline or abstract contains `search` (any case)."""
    needle = search.strip().casefold()
    return [
        p for p in papers if not needle or needle in f"{p.title} {p.byline} {p.abstract}".casefold()
    ]


# The Papers table's columns: key, header, and the direction a first click sorts in.
TABLE_COLUMNS = (
    ("title", "Title", False),
    ("date", "Date", True),
    ("byline", "Authors", False),
    ("upvotes", "Upvotes", True),
)


@dataclass(frozen=True)
class PaperSort:
    """How the Papers table is sorted: a column and a direction (newest first to start)."""

    column: str = "date"
    descending: bool = True

    def toggled(self, column: str) -> PaperSort:
        """After a click on `column`'s header: the other direction, or a new column."""
        if column == self.column:
            return PaperSort(column, not self.descending)
        first = {key: descending for key, _, descending in TABLE_COLUMNS}
        if column not in first:
            return self
        return PaperSort(column, first[column])


def _sort_key(paper: Paper, column: str) -> Any:
    keys: dict[str, Any] = {
        "title": paper.title.casefold(),
        "date": paper.published or dt.date.min,
        "byline": (not paper.byline, paper.byline.casefold()),
        "upvotes": paper.upvotes,
    }
    return keys[column]


def sort_papers(papers: Iterable[Paper], sort: PaperSort) -> list[Paper]:
    """The papers in `sort`'s order, ties by title (A to Z whichever the direction)."""
    by_title = sorted(papers, key=lambda p: p.title.casefold())
    return sorted(by_title, key=lambda p: _sort_key(p, sort.column), reverse=sort.descending)


def _header_html(key: str, header: str, sort: PaperSort) -> str:
    sorted_here = key == sort.column
    direction = "descending" if sort.descending else "ascending"
    arrow = ("▼" if sort.descending else "▲") if sorted_here else ""
    label = escape(APP_PAPERS_SORT.format(column=header.lower()))
    return (
        f'<th scope="col" class="col-{key}" aria-sort="{direction if sorted_here else "none"}">'
        f'<button type="button" class="sort" data-sort="{key}" title="{label}">{header}'
        f'<span class="sort-mark">{arrow}</span></button></th>'
    )


def _row_html(paper: Paper) -> str:
    return (
        f'<tr data-paper="{escape(paper.paper_id)}" tabindex="0">'
        f'<td class="col-title">{shown(paper.title)}</td>'
        f'<td class="col-date">{day_label(paper.published)}</td>'
        f'<td class="col-byline">{escape(paper.byline)}</td>'
        f'<td class="col-upvotes">{paper.upvotes}</td></tr>'
    )


def papers_table_html(papers: Iterable[Paper], sort: PaperSort) -> str:
    """The Papers table: one row per paper (a click shows it), headers that sort on click."""
    rows = sort_papers(papers, sort)
    heads = "".join(_header_html(key, header, sort) for key, header, _ in TABLE_COLUMNS)
    body = "".join(_row_html(p) for p in rows)
    count = plural(len(rows), "paper")
    return (
        f'<div class="papers-scroll"><table class="papers"><thead><tr>{heads}</tr></thead>'
        f'<tbody>{body}</tbody></table></div><p class="papers-count">{count}</p>'
    )


def year_span(papers: Iterable[Paper]) -> str:
    """The years the papers were published in: "2013–2025", "2024", or "undated"."""
    years = sorted(p.published.year for p in papers if p.published)
    if not years:
        return "undated"
    return f"{years[0]}–{years[-1]}" if years[0] != years[-1] else str(years[0])


def header_html(overview: str = "") -> str:
    """The page's head: title, what the app does, and the digest's overview once known."""
    return f'<h1>{TITLE}</h1><p class="intro">{escape(APP_DESCRIPTION)}</p>{overview}'


def overview_html(papers: Sequence[Paper], topics: Sequence[tuple[str, int]] = ()) -> str:
    """The digest in one line: how many papers, which years, the largest topics (label and
    size), and where to browse them."""
    head = f"<b>{APP_OVERVIEW.format(papers=len(papers), years=year_span(papers))}</b>"
    named = ", ".join(f"{escape(label)} ({size})" for label, size in topics)
    about = f'<span class="topics"> · {APP_OVERVIEW_TOPICS.format(topics=named)}</span>'
    return f'<p class="overview">{head}{about if topics else ""} · {APP_OVERVIEW_TABS}</p>'
