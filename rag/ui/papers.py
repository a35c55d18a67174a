"""The Papers tab: every paper in a table that fits its columns, sorts on a header click and
shows the selected paper's abstract beside it.

The table is plain HTML from `rag.ui.format.papers_table_html` (digest text escaped), so its
columns have fixed shares of the width and fit from 1280 px up; Gradio's Dataframe sizes
columns by their content and sorts from a menu, not from the header. A click on a header or a
row reaches the server as the component's `select` event (as the map's points do); sorting and
searching happen there, over the same catalogue the answers cite. On a narrow screen the
abstract comes first, above the table, so a selection is never below the fold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.pipeline import Pipeline
from rag.texts import APP_PAPERS_HINT, APP_PAPERS_SEARCH
from rag.ui.format import PaperSort, matching_papers, paper_detail_html, papers_table_html

# A header click sorts, a row click (or Enter on a focused row) selects; both go to the server.
TABLE_EVENTS = """
const select = (value) => trigger('select', {index: 0, value: value});
element.addEventListener('click', (event) => {
  const header = event.target.closest('[data-sort]');
  if (header) return select('sort:' + header.dataset.sort);
  const row = event.target.closest('tr[data-paper]');
  if (!row) return;
  element.querySelectorAll('tr.selected').forEach((r) => r.classList.remove('selected'));
  row.classList.add('selected');
  select('paper:' + row.dataset.paper);
});
element.addEventListener('keydown', (event) => {
  const row = event.target.closest('tr[data-paper]');
  if (row && event.key === 'Enter') row.click();
});
"""


@dataclass(frozen=True)
class PapersView:
    search: gr.Textbox
    table: gr.HTML
    detail: gr.HTML
    sort: gr.State


class PapersHandlers:
    """Search, sort and selection over the pipeline's catalogue."""

    def __init__(self, pipeline_of: Callable[[], Pipeline]) -> None:
        self.pipeline_of = pipeline_of

    def table(self, search: str = "", sort: PaperSort | None = None) -> str:
        papers = matching_papers(self.pipeline_of().papers.values(), search)
        return papers_table_html(papers, sort or PaperSort())

    def select(self, search: str, sort: PaperSort, event: gr.SelectData) -> tuple[Any, Any, Any]:
        """A header click sorts (again: the other way); a row click shows its paper."""
        kind, _, value = str(event.value).partition(":")
        if kind == "sort":
            sort = sort.toggled(value)
            return self.table(search, sort), sort, gr.skip()
        paper = self.pipeline_of().papers.get(value)
        return gr.skip(), sort, paper_detail_html(paper) if paper else gr.skip()


def build_papers_tab() -> PapersView:
    """Search above; the table and, beside it, the selected paper."""
    search = gr.Textbox(label=APP_PAPERS_SEARCH, elem_id="papers-search")
    with gr.Row(elem_id="papers-row"):
        with gr.Column(scale=5, min_width=420):
            table = gr.HTML("", elem_id="papers-table", js_on_load=TABLE_EVENTS)
        with gr.Column(scale=3, min_width=280, elem_id="paper-column"):
            detail = gr.HTML(f"<p>{APP_PAPERS_HINT}</p>", elem_id="paper")
    return PapersView(search, table, detail, gr.State(PaperSort()))


def wire_papers(view: PapersView, handlers: PapersHandlers) -> None:
    private: dict[str, Any] = {"api_visibility": "private"}
    view.search.change(handlers.table, [view.search, view.sort], [view.table], **private)
    view.table.select(
        handlers.select, [view.search, view.sort], [view.table, view.sort, view.detail], **private
    )
