"""The side panel: who writes the answer, how many sources, and the filters.

The panel holds controls only; the filters they set show with the question's own among the
active filters above the question box (`rag.ui.chat`), the one place a reader sees and
removes them. The answer modes offered are `rag.answer.backends.available_modes`, the configured
default first, each named for a reader: the packaged Gemma 3 270M is a demonstration model,
fluent but often wrong, and says so in the picker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
from gradio.components import Component

from rag.answer.backends import available_modes
from rag.pipeline import Pipeline
from rag.texts import (
    APP_MODE_DEMO,
    APP_MODE_DEMO_INFO,
    APP_MODE_EXTRACTIVE,
    APP_MODE_LOCAL,
    APP_MODE_OLLAMA,
    APP_MODE_OPENAI,
)
from rag.ui.session import ANY_YEAR

SOURCES_RANGE = (1, 10)
# Gradio opens a sidebar over the page on a phone too; there it starts closed.
CLOSE_ON_NARROW = """
() => {
  if (!window.matchMedia('(max-width: 720px)').matches) return;
  let tries = 0;
  const close = () => {
    const toggle = document.querySelector('.sidebar.open .toggle-button');
    if (toggle) toggle.click();
    else if (tries++ < 50) setTimeout(close, 100);
  };
  close();
}
"""


@dataclass(frozen=True)
class Panel:
    """The side panel's controls."""

    mode: gr.Dropdown
    sources: gr.Slider
    year: gr.Dropdown
    since: gr.Textbox
    until: gr.Textbox
    min_upvotes: gr.Slider

    @property
    def filters(self) -> list[Component]:
        """The filter controls, in the order `PanelFilters.read` takes their values."""
        return [self.year, self.since, self.until, self.min_upvotes]


def mode_label(mode: str, pipeline: Pipeline) -> str:
    """How the picker and a generated answer's heading name an answer mode."""
    packaged = not pipeline.settings.llm.model_path
    labels = {
        "extractive": APP_MODE_EXTRACTIVE,
        "llamacpp": APP_MODE_DEMO if packaged else APP_MODE_LOCAL,
        "openai": APP_MODE_OPENAI,
        "ollama": APP_MODE_OLLAMA,
    }
    return labels.get(mode, mode)


def answer_modes(pipeline: Pipeline) -> list[str]:
    """Modes to offer, the configured default first."""
    modes = available_modes(pipeline.settings)
    default = pipeline.settings.llm.mode
    return sorted(modes, key=lambda mode: mode != default)


def build_panel() -> Panel:
    """The side panel, open; its choices are filled in on page load (`panel_choices`)."""
    with gr.Sidebar(label="Settings", open=True):
        mode = gr.Dropdown(
            [(APP_MODE_EXTRACTIVE, "extractive")],
            value="extractive",
            label="Answer mode",
            elem_id="mode",
        )
        sources = gr.Slider(*SOURCES_RANGE, value=5, step=1, label="Number of sources")
        year = gr.Dropdown([ANY_YEAR], value=ANY_YEAR, label="Year")
        since = gr.Textbox(label="Published since", placeholder="YYYY-MM-DD")
        until = gr.Textbox(label="Published until", placeholder="YYYY-MM-DD")
        min_upvotes = gr.Slider(0, 100, value=0, step=1, label="Minimum upvotes")
    return Panel(mode, sources, year, since, until, min_upvotes)


def panel_choices(pipeline: Pipeline) -> tuple[Any, ...]:
    """Updates for the year, mode and sources controls: the digest's years, the modes this
    server offers, and the configured depth."""
    years = sorted({p.published.year for p in pipeline.papers.values() if p.published})
    modes = answer_modes(pipeline)
    labels = [(mode_label(m, pipeline), m) for m in modes]
    demo = any(label == APP_MODE_DEMO for label, _ in labels)
    k = pipeline.settings.retrieval.k
    return (
        gr.Dropdown(choices=[ANY_YEAR, *map(str, years)]),
        gr.Dropdown(choices=labels, value=modes[0], info=APP_MODE_DEMO_INFO if demo else None),
        gr.Slider(value=k, maximum=max(SOURCES_RANGE[1], k)),
    )
