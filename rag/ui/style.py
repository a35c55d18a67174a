"""The browser app's stylesheet: source cards, citation links, the papers table, the map.

Kept apart from the markup (`rag.ui.format`) so either can change alone. Colours come from
Gradio's theme variables where one exists, so dark mode keeps working; `:target` lights up
the card a citation link points to. The reader's latest question stays pinned at the top of
the chat while its answer scrolls under it (a sticky row on an opaque band as wide as the
chat, which also keeps Gradio's toolbar off the text; the Chatbot has no option for it).
The Papers table's columns take fixed shares of its width so all four fit from 1280 px up;
on a narrow screen the selected paper comes above the table. The comparison table does the
same in the chat's width, its cells wrapping; where that width is too narrow for six columns
(a container query, so an open side panel counts) each paper becomes a block of labelled lines.
"""

from __future__ import annotations

CSS = """
#chat .user-row { padding: 36px 0 6px; }
#chat .user-row:not(:has(~ .user-row)) { position: sticky; top: -16px; z-index: 2;
  background: var(--block-background-fill); clip-path: inset(0 -100vmax);
  box-shadow: 0 0 0 100vmax var(--block-background-fill); }
.topic-mark { display: inline-block; font-size: 0.75em; font-weight: 600; text-transform: uppercase;
  letter-spacing: 0.04em; padding: 0 6px; margin-right: 4px; border-radius: 4px;
  background: var(--color-accent-soft); color: var(--color-accent); }
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 12px; margin: 8px 0; background: var(--background-fill-secondary); }
.source-card:target { outline: 3px solid var(--color-accent); }
.source-head { font-weight: 600; }
.source-num { color: var(--color-accent); margin-right: 4px; }
.source-meta { font-size: 0.85em; opacity: 0.8; margin: 2px 0 6px; }
.inferred { font-size: 0.9em; opacity: 0.65; font-style: italic; }
.relevance { white-space: nowrap; }
.relevance-weak { opacity: 0.7; }
.source-used { margin: 4px 0; padding-left: 8px; border-left: 3px solid var(--color-accent); }
.source-card mark, .paper-detail mark { background: #fde68a; color: #111; padding: 0 2px; }
.source-card details summary { cursor: pointer; font-size: 0.9em; }
a.cite { font-weight: 600; text-decoration: none; color: var(--color-accent); }
a.cite:hover { text-decoration: underline; }
.not-covered { border: 1px dashed #d97706; border-radius: 8px; padding: 8px 12px;
  background: rgba(245, 158, 11, 0.08); }
.nearest-lead { margin-top: 6px; font-size: 0.9em; }
.chat-error { color: #b91c1c; font-weight: 600; }
.answer-note { font-size: 0.85em; font-style: italic; opacity: 0.8; }
.answer-query { font-size: 0.85em; opacity: 0.75; margin: 2px 0 4px; }
.answer-query .query { font-style: italic; }
.answer-text { line-height: 1.6; }
.answer-text p { margin: 0 0 6px; }
.answer-text ul { list-style: disc; margin: 0 0 6px; padding-left: 1.5em; }
.model-heading { font-size: 0.85em; font-weight: 600; color: var(--color-accent);
  margin-bottom: 4px; }
.model-writing { font-size: 0.9em; font-style: italic; opacity: 0.8; }
.sentence.unsupported { text-decoration: line-through; text-decoration-color: #b91c1c;
  opacity: 0.7; }
.verdict { font-size: 0.85em; color: #b91c1c; }
.stopped { font-size: 0.9em; font-style: italic; opacity: 0.8; margin-top: 4px; }
#header h1 { font-size: 1.7em; font-weight: 700; margin: 0 0 4px; }
#header p { margin: 0 0 2px; }
.overview { opacity: 0.9; }
#feedback { align-items: center; padding: 6px 10px; border-radius: 8px;
  background: var(--color-accent-soft); }
#feedback-status p { margin: 0; }
#filters-row { align-items: center; gap: 8px; flex-wrap: nowrap; }
#filters-label { flex: 0 0 auto; width: auto; min-width: 0; }
.filters-label { font-weight: 600; font-size: 0.9em; color: var(--body-text-color-subdued);
  white-space: nowrap; }
.papers-scroll { max-height: max(320px, calc(100vh - 390px)); overflow: auto;
  border: 1px solid var(--border-color-primary); border-radius: 8px; }
table.papers { width: 100%; table-layout: fixed; border-collapse: collapse; font-size: 0.9em; }
table.papers th { position: sticky; top: 0; z-index: 1;
  background: var(--background-fill-secondary); text-align: left; padding: 0;
  border-bottom: 1px solid var(--border-color-primary); }
table.papers th button.sort { all: unset; box-sizing: border-box; display: block; width: 100%;
  padding: 8px; cursor: pointer; font-weight: 600; white-space: nowrap; }
table.papers th button.sort:hover, table.papers th button.sort:focus-visible {
  color: var(--color-accent); }
.sort-mark { margin-left: 4px; font-size: 0.8em; }
#papers-table table.papers td, #papers-table table.papers th { border: none;
  border-bottom: 1px solid var(--border-color-primary); }
table.papers td { padding: 6px 8px; vertical-align: top; overflow-wrap: anywhere; }
table.papers tbody tr { cursor: pointer; }
table.papers tbody tr:hover { background: var(--background-fill-secondary); }
table.papers tbody tr.selected { background: var(--color-accent-soft); }
table.papers .col-date { width: 6.8em; white-space: nowrap; }
table.papers .col-byline { width: 8.5em; }
table.papers .col-upvotes { width: 6.2em; text-align: right; }
table.papers th.col-upvotes button.sort { text-align: right; }
.papers-count { font-size: 0.85em; opacity: 0.7; margin: 4px 0 0; }
#paper-column { max-height: max(320px, calc(100vh - 360px)); overflow: auto; }
#ask, #compare, #new-topic, #stop { white-space: nowrap; }
.comparison { container-type: inline-size; }
.comparison-head { margin: 0 0 8px; }
.compared-question { font-style: italic; }
.comparison-scroll { border: 1px solid var(--border-color-primary); border-radius: 8px;
  overflow: hidden; }
table.comparison-table { width: 100%; table-layout: fixed; border: none; margin: 0;
  border-collapse: collapse; font-size: 0.9em; line-height: 1.45;
  background: var(--block-background-fill); }
table.comparison-table tr { border: none; }
table.comparison-table th, table.comparison-table td { padding: 8px 10px; vertical-align: top;
  text-align: left; overflow-wrap: anywhere; border: none;
  border-bottom: 1px solid var(--border-color-primary); }
table.comparison-table tbody tr:last-child > * { border-bottom: none; }
table.comparison-table thead th { background: var(--color-accent-soft); font-weight: 600;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
table.comparison-table tbody th { font-weight: 600; }
table.comparison-table tbody tr:nth-child(even) { background: var(--background-fill-secondary); }
table.comparison-table .col-paper { width: 20%; }
table.comparison-table .col-date { width: 8.2em; }
table.comparison-table .col-upvotes { width: 6.4em; }
table.comparison-table th.col-upvotes, table.comparison-table td.col-upvotes {
  text-align: right; }
table.comparison-table tbody .col-date { white-space: nowrap; }
table.comparison-table .inferred { display: block; }
.not-stated { font-style: italic; opacity: 0.6; }
.comparison-note { font-size: 0.85em; opacity: 0.75; margin: 6px 0 0; }
#comparison-exports { gap: 8px; padding-bottom: 4px; }
/* The table and its cards line up with the chat and the buttons, edge to edge. */
#comparison .html-container, #comparison-cards .html-container { padding: 0; }
table.comparison-table a.cite { padding: 0; margin-right: 4px; }
@media (max-width: 720px) {
  #header .intro, #header .topics { display: none; }
  /* The buttons shrink to their words, so Stop stays in the first screen with the others. */
  #ask, #compare, #new-topic, #stop { min-height: 0; padding: 6px 4px; min-width: 0 !important;
    flex: 1 1 auto; }
  #paper-column { order: -1; position: static; max-height: none; }
  table.papers .col-byline { display: none; }
}
.paper-map { width: 100%; max-width: 900px; height: auto; }
.map-point { cursor: pointer; stroke: #fff; stroke-width: 1.5; }
.map-point:hover, .map-point:focus { stroke: #111; stroke-width: 2.5; }
.map-label { font-size: 13px; font-weight: 600; fill: currentColor; paint-order: stroke;
  stroke: var(--background-fill-primary); stroke-width: 4px; }
.map-legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 12px; }
.map-legend .swatch { display: inline-block; width: 12px; height: 12px; border-radius: 50%;
  margin-right: 6px; vertical-align: middle; }
.paper-detail { padding: 8px 0; }
"""
# Where the chat is too narrow for six columns (a phone, or a small window beside the open side
# panel), each compared paper becomes a block of labelled lines. A container query, as it is
# the chat's width that counts; it goes in the comparison component's own stylesheet, since
# the app's `CSS` passes through Gradio, which keeps no @container rule. Nested under the
# component, so each selector is relative to it.
COMPARISON_NARROW_CSS = """
@container (max-width: 760px) {
  table.comparison-table thead { display: none; }
  table.comparison-table, table.comparison-table tbody, table.comparison-table tr,
  table.comparison-table th, table.comparison-table td { display: block; width: auto; }
  table.comparison-table { padding: 0; }
  table.comparison-table tbody tr { padding: 8px 0;
    border-bottom: 1px solid var(--border-color-primary); }
  table.comparison-table tbody tr:last-child { border-bottom: none; }
  table.comparison-table tbody th, table.comparison-table tbody td { border-bottom: none;
    padding: 2px 12px; }
  table.comparison-table tbody th { padding-bottom: 4px; }
  table.comparison-table td::before { content: attr(data-label) ": "; font-weight: 600; }
  table.comparison-table tbody .col-date, table.comparison-table tbody .col-upvotes {
    display: inline-block; text-align: left; }
  table.comparison-table .inferred { display: inline; }
}
"""
