"""The browser app's stylesheet: source cards, citation links, the map.

Kept apart from the markup (`rag.ui_format`) so either can change alone. Colours come from
Gradio's theme variables where one exists, so dark mode keeps working; `:target` lights up
the card a citation link points to.
"""

from __future__ import annotations

CSS = """
.source-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 12px; margin: 8px 0; background: var(--background-fill-secondary); }
.source-card:target { outline: 3px solid var(--color-accent); }
.source-head { font-weight: 600; }
.source-num { color: var(--color-accent); margin-right: 4px; }
.source-meta { font-size: 0.85em; opacity: 0.8; margin: 2px 0 6px; }
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
