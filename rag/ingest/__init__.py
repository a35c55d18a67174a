"""Ingest: digest files in, a searchable Chroma index out.

Takes listing text, JSON or JSONL digests (`digest`, `listing`), turns each paper into
`Paper` records and sentence-aligned `Chunk`s (`chunking`), embeds them (`embedding`) and writes
them as a new index generation that readers switch to atomically (`index`, `storage`,
`catalogue`, `derived`). Gives `PaperIndex`: the catalogue of papers and nearest-chunk search.
Imports nothing from the stages above it.
"""
