"""Search: a question in, the papers it asks about out.

Takes a question and the conversation so far: rewrites follow-ups into standalone queries
(`conversation`, reading the last answer's markers with `citations`), reads metadata
constraints, sorts and counts by word class (`query`, `when`, `vocabulary`, `filters`), strips
framing to find the theme (`themes`), and ranks papers by dense and BM25 search fused with
reciprocal rank fusion (`keyword`, `retrieve`). Gives `Source` records with scores. Builds on
`rag.ingest` only.
"""
