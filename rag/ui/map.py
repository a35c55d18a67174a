"""The Map tab, and the digest's topics it finds for the landing page's overview.

`Catalogue` embeds every paper once (a few seconds on a CPU) and keeps the atlas
(`rag.ui.atlas`): the map draws it, and the overview names its largest clusters as the digest's
main topics. It is built on page load, apart from the table, so the Chat and Papers tabs do
not wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gradio as gr

from rag.ingest.chunking import embed_text
from rag.pipeline import Pipeline
from rag.texts import APP_MAP_HELP
from rag.ui.atlas import Atlas, build_atlas, render_svg
from rag.ui.format import paper_detail_html

TOPICS_SHOWN = 3
MAP_CLICKS = """
element.addEventListener('click', (event) => {
  const point = event.target.closest('[data-paper]');
  if (point) trigger('select', {index: 0, value: point.dataset.paper});
});
"""


class Catalogue:
    """The digest's atlas, built once on first use (the pipeline's papers and encoder)."""

    def __init__(self, pipeline_of: Callable[[], Pipeline]) -> None:
        self.pipeline_of = pipeline_of
        self._lock = threading.Lock()
        self._atlas: Atlas | None = None

    def atlas(self) -> Atlas:
        with self._lock:
            if self._atlas is None:
                pipeline = self.pipeline_of()
                papers = list(pipeline.papers.values())
                texts = [embed_text(p.title, p.abstract) for p in papers]
                self._atlas = build_atlas(papers, pipeline.encoder.encode(texts))
            return self._atlas

    def topics(self, count: int = TOPICS_SHOWN) -> list[tuple[str, int]]:
        """The largest clusters' labels and sizes, largest first."""
        clusters = sorted(self.atlas().clusters, key=lambda c: (-c.size, c.number))
        return [(c.label, c.size) for c in clusters[:count]]

    def topics_if_built(self) -> list[tuple[str, int]]:
        """The topics when the atlas exists already (a later page load), else none."""
        return self.topics() if self._atlas is not None else []

    def svg(self) -> str:
        return render_svg(self.atlas())

    def show_point(self, event: gr.SelectData) -> str:
        paper = self.pipeline_of().papers.get(str(event.value))
        return paper_detail_html(paper) if paper else ""


@dataclass(frozen=True)
class MapView:
    paper_map: gr.HTML
    detail: gr.HTML


def build_map_tab(catalogue: Catalogue) -> MapView:
    gr.Markdown(APP_MAP_HELP)
    paper_map = gr.HTML("", elem_id="paper-map", js_on_load=MAP_CLICKS)
    detail = gr.HTML("", elem_id="map-paper")
    private: dict[str, Any] = {"api_visibility": "private"}
    paper_map.select(catalogue.show_point, None, [detail], **private)
    return MapView(paper_map, detail)
