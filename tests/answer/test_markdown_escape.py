"""Digest text is data: `escape` makes it inert as HTML and as Markdown, and the app's own
formatting (citation links, list items, the composer's bold titles, cards) is built around it.

The Markdown checks render the escaped text with markdown-it (CommonMark, plus GFM tables and
strikethrough); GFM's bare-URL autolinks are checked by what the escaped text no longer holds,
and in Chromium by tests/test_browser.py.
"""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rag.records import Answer, Citation, Paper, Source
from rag.ui.atlas import Atlas, Cluster, MapPoint, render_svg
from rag.ui.format import answer_html, answer_text_html, escape, paper_detail_html

SERVER = "http://127.0.0.1:9"
MARKUP = {
    "image": f"![x]({SERVER}/p.png)",
    "link": f"[the code]({SERVER}/link)",
    "autolink": f"<{SERVER}/auto>",
    "bare url": f"{SERVER}/bare",
    "www": "www.example.org",
    "email": "someone@example.org",
    "bold": "**strong** and __strong__",
    "emphasis": "*em* and _em_",
    "code": "`inline code`",
    "strikethrough": "~~gone~~",
    "html": "<img src=x onerror=alert(1)>",
    "heading": "# Heading",
    "list": "- item\n1. item",
    "quote": "> quoted",
    "table": "| a | b |\n| - | - |\n| 1 | 2 |",
    "latex": "$x^2$ and $$y$$",
    "template": "{{value}} ${value}",
    "entity": "&amp; &#42;",
    "escape": "\\*not bold\\*",
}
# What a renderer makes of Markdown; none of it may come out of digest text.
TAGS = re.compile(r"<(?!/?p>)[a-z]")
REFERENCE = re.compile(r"&#\d+;")
# Every character that HTML or Markdown (or a LaTeX or template renderer) reads as syntax.
SYNTAX = set("&<>\"'\\`*_{}[]()#+-.!|~:@$=")


def rendered(markdown: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


@pytest.mark.parametrize("text", MARKUP.values(), ids=MARKUP.keys())
def test_escaped_digest_text_renders_as_the_same_text_and_no_markup(text: str) -> None:
    out = rendered(escape(text))

    assert not TAGS.search(out), out
    shown = html.unescape(re.sub(r"</?p>", "", out)).strip()
    assert shown == text


@pytest.mark.parametrize("text", MARKUP.values(), ids=MARKUP.keys())
def test_escaped_digest_text_holds_no_syntax_character(text: str) -> None:
    escaped = escape(text)

    assert not SYNTAX & set(REFERENCE.sub("", escaped))
    assert "://" not in escaped and "www." not in escaped and "@" not in escaped


@given(st.text())
def test_escaping_keeps_the_text_and_leaves_no_syntax(text: str) -> None:
    escaped = escape(text)

    assert html.unescape(escaped) == text
    assert not SYNTAX & set(REFERENCE.sub("", escaped))


def test_the_composers_list_keeps_its_bold_titles_and_links_but_not_the_digests_markup() -> None:
    text = (
        "Several papers in the digest address this:\n"
        "- **Label Smoothing **Slows** `Neural Collapse` Down**: See [the code](x) [1].\n"
        f"- **Plain**: Data are at <{SERVER}/auto> and ![x]({SERVER}/p.png) [2] [7]."
    )

    out = answer_text_html(text, "a1", [1, 2])

    assert out.count("<li>") == 2 and out.count("<ul>") == 1
    assert re.findall(r"<strong>(.*?)</strong>", out) == [
        escape("Label Smoothing **Slows** `Neural Collapse` Down"),
        "Plain",
    ]
    assert re.findall(r'href="([^"]*)"', out) == ["#a1-1", "#a1-2"]
    assert "<img" not in out and "<code" not in out and "[7]" not in out
    assert html.unescape(re.sub(r"<[^>]+>", "", out)).startswith(
        "Several papers in the digest address this:Label Smoothing **Slows**"
    )


def markdown_paper() -> Paper:
    return Paper(
        "p1",
        "Label Smoothing **Slows** `Neural Collapse` Down",
        f"We revisit collapse ![x]({SERVER}/p.png). See [the code]({SERVER}/link) for **it**.",
        organization="**Lab** <b>",
        published=None,
        code_urls=("https://github.com/a/b",),
    )


def test_cards_details_and_the_map_show_digest_markdown_as_text() -> None:
    paper = markdown_paper()
    answer = Answer(
        "q",
        "See the code for it [1].",
        (Citation(1, "p1", paper.title, None, paper.abstract),),
        (Source(paper, 0.9, 1),),
    )
    svg = render_svg(Atlas((MapPoint("p1", paper.title, 0.5, 0.5, 0),), (Cluster(0, ("x",), 1),)))

    for out in (answer_html(answer, "a1", {}), paper_detail_html(paper), svg):
        assert "**" not in out and "`" not in out and "![x]" not in out and "<b>" not in out
        assert SERVER not in out and "<img" not in out and "<code" not in out
        assert escape(paper.title) in out
    # The paper's code links are the card's own structure: real links, shown as they are.
    assert 'href="https&#58;//github&#46;com/a/b"' in paper_detail_html(paper)
    assert html.unescape("https&#58;//github&#46;com/a/b") == "https://github.com/a/b"
