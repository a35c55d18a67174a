"""The app's markup for what a reader asked to see: what was searched, relevance that means
something, the year marked once when inferred, the sentence that matched the question,
verdicts on a model's sentences, the sortable Papers table, the digest's overview line and
the comparison table. All pure: records in, HTML out."""

from __future__ import annotations

import datetime as dt
import html
import re

from rag.answer.compare import NOT_STATED, compare_papers
from rag.records import Answer, Citation, Paper, Sentence, Source
from rag.texts import (
    APP_MODEL_STOPPED,
    APP_SEARCHED,
    APP_SENTENCE_UNSUPPORTED,
    APP_STOPPED,
    APP_YEAR_INFERRED,
    NOTHING_TO_COMPARE,
)
from rag.ui.format import (
    PaperSort,
    answer_html,
    comparison_cards_html,
    comparison_html,
    escape,
    matching_sentence,
    meta_line,
    model_stopped_html,
    overview_html,
    papers_table_html,
    question_html,
    relevance_html,
    sort_papers,
    stopped_html,
)

ABSTRACT = (
    "Deep classifiers are trained far past zero error. "
    "We analyse neural collapse with small perturbations of the features. "
    "Experiments use three image benchmarks."
)
XSS_TITLE = "Neural Collapse <img src=x onerror=alert(1)> Revisited"


def paper(
    title: str = "Perturbation Analysis",
    paper_id: str = "p1",
    published: dt.date | None = dt.date(2025, 3, 1),
    inferred: bool = False,
    upvotes: int = 0,
    organization: str | None = None,
) -> Paper:
    return Paper(
        paper_id,
        title,
        ABSTRACT,
        authors_count=None if organization else 3,
        organization=organization,
        published=published,
        year_inferred=inferred,
        upvotes=upvotes,
    )


def visible(markup: str) -> str:
    """The text a browser shows for `markup`."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def listed(*papers: Paper, score: float, query: str = "") -> Answer:
    """A list answer from the records: titles and dates, each paper cited, snippets the
    abstracts' first sentences (as the record composer gives them)."""
    first = ABSTRACT.split(". ")[0] + "."
    citations = tuple(
        Citation(n, p.paper_id, p.title, p.published, first) for n, p in enumerate(papers, 1)
    )
    text = "\n".join(f"- “{p.title}” ({p.published}) [{n}]." for n, p in enumerate(papers, 1))
    sources = tuple(Source(p, score, n) for n, p in enumerate(papers, 1))
    question = "Which papers are about neural collapse perturbations?"
    return Answer(question, text, citations, sources, query=query or question)


# --- item 1: what was searched ------------------------------------------------------------------


def test_the_searched_text_shows_only_when_the_conversation_added_to_the_question() -> None:
    follow_up = Answer(
        "How do they measure it?",
        "By perturbations [1].",
        query="How do they measure it? — What is neural collapse? — Perturbation Analysis",
    )
    framed = Answer("Which papers study neural collapse?", "x", query="neural collapse?")

    shown = answer_html(follow_up, "a1", {})

    assert f"{APP_SEARCHED} " in visible(shown)
    assert "What is neural collapse? — Perturbation Analysis" in visible(shown)
    assert APP_SEARCHED not in visible(answer_html(framed, "a1", {}))  # only framing was dropped
    assert APP_SEARCHED not in visible(answer_html(Answer("q", "x"), "a1", {}))


def test_a_question_asked_as_a_new_topic_is_marked_and_escaped() -> None:
    assert (
        visible(question_html("<b>their</b> results?", True)) == "new topic <b>their</b> results?"
    )
    assert question_html("<b>x</b>", False) == escape("<b>x</b>")


# --- item 5: relevance, inferred years, evidence -------------------------------------------------


def test_relevance_is_graded_by_the_answerers_thresholds_and_absent_for_record_matches() -> None:
    assert visible(relevance_html(0.62)) == "strong match 0.62"
    assert visible(relevance_html(0.31)) == "partial match 0.31"
    assert visible(relevance_html(0.12)) == "weak match 0.12"
    assert relevance_html(1.0) == "" and relevance_html(None) == ""

    by_record = answer_html(listed(paper("A"), paper("B", "p2"), score=1.0), "a1", {})
    assert "match" not in visible(by_record) and "relevance" not in visible(by_record)
    by_meaning = visible(answer_html(listed(paper("A"), score=0.55), "a1", {}))
    assert "strong match 0.55" in by_meaning


def test_an_inferred_year_is_marked_once_per_card_in_a_muted_note() -> None:
    inferred = meta_line(paper(inferred=True), 0.5)
    known = meta_line(paper(inferred=False), 0.5)

    assert inferred.count(APP_YEAR_INFERRED) == 1
    assert re.search(rf'<span class="inferred"[^>]*>{APP_YEAR_INFERRED}</span>', inferred)
    assert APP_YEAR_INFERRED not in known
    card = answer_html(listed(paper(inferred=True), score=0.5), "a1", {})
    assert card.count(f">{APP_YEAR_INFERRED}<") == 1


def test_a_list_from_the_records_highlights_the_sentence_that_matched_the_question() -> None:
    answer = listed(paper("A"), paper("B", "p2"), score=0.5)

    shown = answer_html(answer, "a1", {})

    marked = re.findall(r"<mark>(.*?)</mark>", shown)
    assert marked and all("perturbations" in visible(m) for m in marked)
    assert not any("trained far past zero error" in visible(m) for m in marked)
    # A direct answer quoting its snippet keeps that snippet highlighted.
    quoted = Answer(
        "What do they analyse?",
        "The authors analyse neural collapse with small perturbations of the features [1].",
        (Citation(1, "p1", "A", None, ABSTRACT.split(". ")[1] + "."),),
        (Source(paper("A"), 0.5, 1),),
    )
    assert "We analyse neural collapse" in visible(
        re.findall(r"<mark>(.*?)</mark>", answer_html(quoted, "a1", {}))[0]
    )
    assert matching_sentence(ABSTRACT, "bread recipes") == ""


# --- item 2: a generated answer's verdicts -------------------------------------------------------


def test_a_generated_answer_marks_each_sentence_its_source_does_not_back() -> None:
    answer = Answer(
        "q",
        "Backed [1]. Invented [1].",
        (Citation(1, "p1", "A", None, ""),),
        (Source(paper("A"), 0.5, 1),),
        mode="llamacpp",
        sentences=(Sentence("Backed [1].", (1,), True), Sentence("Invented [1].", (1,), False)),
    )

    shown = answer_html(answer, "a4", {})

    assert re.search(r'class="sentence supported">Backed <a class="cite" href="#a4-1"', shown)
    assert re.search(r'class="sentence unsupported">Invented ', shown)
    assert visible(shown).count(APP_SENTENCE_UNSUPPORTED) == 1


# --- item 3: a stopped answer --------------------------------------------------------------------


def test_a_stopped_answer_ends_with_its_text_and_stopped_and_never_a_cursor() -> None:
    stopped = visible(stopped_html("Tides are forecast by "))

    assert stopped.startswith("Tides are forecast by") and stopped.endswith(APP_STOPPED)
    assert visible(stopped_html("")).strip() == APP_STOPPED
    assert "▍" not in stopped_html("x") + model_stopped_html()
    assert visible(model_stopped_html()) == APP_MODEL_STOPPED


# --- item 4: the Papers table --------------------------------------------------------------------


def test_a_header_click_sorts_its_column_and_a_second_click_reverses_it() -> None:
    papers = [
        paper("Beta", "p1", dt.date(2024, 1, 1), upvotes=3),
        paper("alpha", "p2", dt.date(2025, 1, 1), upvotes=9),
        paper("Gamma", "p3", None, upvotes=3),
    ]

    def titles(sort: PaperSort) -> list[str]:
        return [p.title for p in sort_papers(papers, sort)]

    newest = PaperSort()
    assert titles(newest) == ["alpha", "Beta", "Gamma"]  # newest first, undated last
    by_votes = newest.toggled("upvotes")
    assert by_votes == PaperSort("upvotes", True)
    assert titles(by_votes) == ["alpha", "Beta", "Gamma"]  # ties by title either way
    assert titles(by_votes.toggled("upvotes")) == ["Beta", "Gamma", "alpha"]
    assert titles(newest.toggled("title")) == ["alpha", "Beta", "Gamma"]
    assert newest.toggled("no such column") == newest


def test_the_papers_table_has_sort_buttons_for_headers_and_escaped_rows() -> None:
    table = papers_table_html([paper(XSS_TITLE), paper("B", "p2")], PaperSort("upvotes", False))

    assert re.findall(r'<button type="button" class="sort" data-sort="(\w+)"', table) == [
        "title",
        "date",
        "byline",
        "upvotes",
    ]
    assert 'aria-sort="ascending"><button type="button" class="sort" data-sort="upvotes"' in table
    assert table.count('aria-sort="none"') == 3
    assert "<img" not in table and escape(XSS_TITLE) in table
    assert table.count('<tr data-paper="') == 2 and "2 papers" in table


# --- item 9: the overview line -------------------------------------------------------------------


def test_the_overview_says_how_many_papers_which_years_and_topics_and_names_the_tabs() -> None:
    papers = [paper(published=dt.date(2022, 5, 1)), paper("B", "p2"), paper("C", "p3", None)]

    line = visible(overview_html(papers, [("entropy · rl · reward", 20), ("agent <b>", 8)]))

    assert line.startswith("3 papers, published 2022–2025")
    assert "largest topics: entropy · rl · reward (20), agent <b> (8)" in line
    assert "Papers" in line and "Map" in line
    assert "largest topics" not in visible(overview_html(papers))
    assert "agent &#60;b&#62; (8)" in overview_html(papers, [("agent <b>", 8)])


# --- the comparison table ------------------------------------------------------------------------

SORTING = Paper(
    "sorting",
    "Sparse Lattice Sorting for Quantum Annealers",
    "Quantum annealers sort poorly. We introduce a sorting algorithm that encodes keys on a "
    "sparse lattice. Experiments on simulated hardware show that it improves success to 98 "
    "percent on 64 keys.",
    published=dt.date(2022, 10, 29),
    upvotes=7,
)
THEORY = Paper(
    "theory",
    "Neural Collapse in Deep Linear Networks",
    "Modern deep networks perform well on many tasks. We prove that global solutions exhibit "
    "neural collapse across the linear layers.",
)


def test_a_comparison_is_a_table_whose_numbers_link_to_cards_marking_the_quoted_sentences() -> None:
    comparison = compare_papers("Compare sorting and collapse", [SORTING, THEORY])

    table, cards = comparison_html(comparison), comparison_cards_html(comparison)

    headers = re.findall(r'<th scope="col" class="col-\w+">([^<]*)</th>', table)
    assert headers == [
        "Paper",
        "Proposes or studies",
        "Evaluated on",
        "Headline result",
        "Date",
        "Upvotes",
    ]
    rows = [visible(row) for row in re.findall(r"<tbody>.*</tbody>", table)[0].split("</tr>")[:-1]]
    assert rows[0].startswith(f"[1] {SORTING.title}We introduce a sorting algorithm")
    assert rows[0].endswith("2022-10-297") and "improves success to 98 percent" in rows[0]
    assert rows[1].startswith(f"[2] {THEORY.title}We prove") and rows[1].endswith("undated0")
    assert visible(table).count(f"({NOT_STATED})") == 2  # what the theory paper does not state
    assert "Compare sorting and collapse" in visible(table) and "2 papers" in visible(table)
    # Each number links to its paper's card, which marks the sentences the row's cells quote.
    for number, paper in ((1, SORTING), (2, THEORY)):
        assert f'<a class="cite" href="#cmp-{number}" data-cite="{number}">[{number}]</a>' in table
        card = cards.split(f'id="cmp-{number}"')[1].split('<div class="source-card"')[0]
        assert f'data-paper="{paper.paper_id}"' in cards and paper.title in visible(card)
        marked = [visible(m) for m in re.findall(r"<mark>(.*?)</mark>", card)]
        row = comparison.rows[number - 1]
        assert {c.sentence for c in row.cells if c.filled} <= set(marked)


def test_a_comparison_without_papers_says_there_is_nothing_to_compare() -> None:
    empty = compare_papers("Compare bread recipes", [])

    assert NOTHING_TO_COMPARE in visible(comparison_html(empty))
    assert "<table" not in comparison_html(empty) and comparison_cards_html(empty) == ""


def test_digest_text_in_a_comparison_is_escaped_as_html_and_markdown() -> None:
    hostile = Paper(
        "hostile",
        XSS_TITLE,
        'Label smoothing slows collapse. We propose **SMOOTH** ![x](http://host/p.png) "fix"; '
        "it is long enough to be cut: "
        + "a clause " * 30
        + ". Experiments on <b>CIFAR</b> show [the code](http://host/c) improves accuracy.",
    )
    comparison = compare_papers("<script>alert(1)</script> compare", [hostile])

    shown = comparison_html(comparison) + comparison_cards_html(comparison)

    assert "<img" not in shown and "<script" not in shown and "<b>" not in shown
    assert not re.search(r"<a (?!class=\"cite\")", shown)  # no link but the citation's
    assert "**" not in shown and "](" not in shown and "![" not in shown  # inert as Markdown
    text = visible(shown)
    assert XSS_TITLE in text and "<script>alert(1)</script> compare" in text
    assert "We propose **SMOOTH** ![x](http://host/p.png)" in text
    assert "Experiments on <b>CIFAR</b>" in text
    # A cell cut from a longer sentence shows the sentence on hover, escaped in the attribute.
    hover = re.findall(r' title="([^"]*)"', comparison_html(comparison))
    assert any(html.unescape(h).startswith("We propose **SMOOTH**") for h in hover)
