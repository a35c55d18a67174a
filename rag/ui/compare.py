"""The comparison under the chat: its view, and its exports as CSV and Markdown.

A comparison is not a chat turn: it shows below the question row, with the same source cards
as the answers, and its exports are written in the data folder (under generated names) and
sent only to the page that asked, as the conversation's export is. The handler that fills it
is `ChatHandlers.compare` (rag.ui.chat), which reads the question as every way of asking does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from rag.answer.compare import Comparison
from rag.texts import APP_COMPARE_CSV, APP_COMPARE_MARKDOWN, APP_COMPARISON
from rag.ui.feedback import save_export
from rag.ui.style import COMPARISON_NARROW_CSS

# A new comparison is scrolled into view once drawn: it sits below the question row, out of
# sight in a short window. One already seen (a Compare that only warned) is left where it is.
SHOW_COMPARISON = """
() => {
  let tries = 0;
  const show = () => {
    const table = document.querySelector('#comparison .comparison');
    if (!table) { if (tries++ < 20) setTimeout(show, 50); return; }
    if (table.dataset.seen) return;
    table.dataset.seen = 'yes';
    document.querySelector('#comparison-panel').scrollIntoView({block: 'start'});
  };
  setTimeout(show, 50);
}
"""


def comparison_markdown(comparison: Comparison) -> str:
    """The comparison as a Markdown file: what was compared as its title, then the table."""
    return f"# {APP_COMPARISON}: {comparison.question}\n\n{comparison.to_markdown()}\n"


# A comparison's exports by file suffix: media type and text.
COMPARISON_EXPORTS: dict[str, tuple[str, Callable[[Comparison], str]]] = {
    "csv": ("text/csv", Comparison.to_csv),
    "md": ("text/markdown", comparison_markdown),
}


def save_comparison(folder: Path, comparison: Comparison, suffix: str) -> dict[str, str]:
    """Write the comparison as `suffix` ("csv" or "md") under `folder/exports/`; returns what
    the page saves: the file's name, its text and media type."""
    media, render = COMPARISON_EXPORTS[suffix]
    text = render(comparison)
    path = save_export(folder, text, kind="comparison", suffix=suffix)
    return {"name": path.name, "text": text, "type": media}


@dataclass(frozen=True)
class ComparisonView:
    """The comparison under the question row: hidden until the first Compare."""

    panel: gr.Column
    table: gr.HTML
    exports: gr.Row
    csv: gr.Button
    markdown: gr.Button
    cards: gr.HTML
    shown: gr.State  # the Comparison on show, for its exports

    @property
    def outputs(self) -> list[Any]:
        """What `ChatHandlers.compare` updates, in its order."""
        return [self.panel, self.table, self.exports, self.cards, self.shown]


def build_comparison() -> ComparisonView:
    """The comparison's components, hidden until the first Compare."""
    # Below the question row, so the chat and the question keep their place on the page.
    with gr.Column(visible=False, elem_id="comparison-panel") as panel:
        table = gr.HTML("", elem_id="comparison", min_height=0, css_template=COMPARISON_NARROW_CSS)
        with gr.Row(visible=False, elem_id="comparison-exports") as exports:
            csv = gr.Button(APP_COMPARE_CSV, size="sm", scale=0, min_width=150)
            markdown = gr.Button(APP_COMPARE_MARKDOWN, size="sm", scale=0, min_width=170)
        cards = gr.HTML("", elem_id="comparison-cards", min_height=0)
    return ComparisonView(panel, table, exports, csv, markdown, cards, gr.State(None))
