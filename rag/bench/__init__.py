"""Speed and load: synthetic digests in, measured figures out.

`python -m rag.bench` times ingest, re-ingest, questions, cold start and memory at given sizes
(`run`); `synthetic` writes reproducible digests of any size; `loadtest` drives the running app
with concurrent sessions. Uses the pipeline; nothing else imports it.
"""
