"""Answer: ranked sources in, a cited answer (or an honest refusal) out.

Takes the question and its `Source`s: decides whether the digest covers it (`abstain`), answers
metadata questions from the records (`facts`), composes extractive answers from whole abstract
sentences (`compose`), or has an LLM write one over a grounded prompt and checks each sentence
against its sources (`backends`, `grounding`, `generated`, `support`). Also lays papers side by
side (`compare`). Builds on `rag.search` and `rag.ingest`.
"""
