"""Evaluation: question sets in, scored reports out.

Reads JSONL or CSV question sets (`questions`), runs them through a configuration or its plain
peers (`evaluation`, `peers`), scores retrieval, citations and refusals (`metrics`) and writes
report.md, plots and comparisons (`report`). `generate` drafts a starter set from the digest.
Uses the pipeline; nothing below imports it.
"""
