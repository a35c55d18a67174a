"""The browser app's parts: session state and events in, Gradio components and HTML out.

One builder per tab (`chat`, `papers`, `map`) and the side panel (`panel`); the comparison
under the chat (`compare`); HTML for answers and source cards (`format`), the stylesheet
(`style`), per-session records (`session`), the topic map (`atlas`) and feedback and export
(`feedback`). `app.py` assembles and launches them. Uses the pipeline; nothing below imports it.
"""
