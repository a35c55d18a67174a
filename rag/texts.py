"""Fixed wording the user sees, in one place, so tests assert on the constant and not a copy."""

from __future__ import annotations

NOT_COVERED = "The digest does not cover this question."
NOTHING_TO_COMPARE = "The digest has no papers on this question to compare."
NEAREST_PAPERS_LEAD = "The nearest papers in the digest, not cited as evidence, are:"
LIST_LEAD = "Several papers in the digest address this:"
EMPTY_INDEX = "The index is empty: run `python -m rag ingest` to add a digest."

EMPTY_QUESTION = "Please type a question."
QUESTION_TOO_LONG = "That question is too long ({length} characters; the limit is {limit})."
QUESTION_NOT_TEXT = "A question must be text."
NO_AUTHOR_NAMES = (
    "The digest lists no author names or affiliations, only how many authors a paper has"
    " or the organisation it comes from."
)
FIGURE_NOT_GIVEN = "The abstracts in the digest do not give that figure."
MODEL_NOT_NAMED = "The abstract does not name the model asked about."
NAME_NOT_MENTIONED = "No paper in the digest that fits the question mentions {names}."
# A near-miss: the paper the question is about, cited, and what its abstract does not give.
NEAR_MISS = "\u201c{title}\u201d [1] is about this, but its abstract does not give {gap}."
GAP_FIGURE = "that figure"
GAP_MODEL = "which model it used"
GAP_VERSION = "which model versions it used"
GAP_CHOICE = "which of {options} it uses"
GAP_HOW_MANY = "the number of {phrase}"
GAP_WHAT = "the {phrase}"
GAP_NAME = "anything on {names}"
GAP_THING = "which {thing}"
# A two-part question whose one part the abstract answers: the answer, then what it lacks.
PART_NOT_GIVEN = "The abstract of \u201c{title}\u201d [{number}] does not give {gap}."
THING_NOT_MENTIONED = "No abstract in the digest mentions a {thing}."
NOTHING_ON_FOCUS = "The digest has nothing on {focus}."
GAP_AUTHOR_NAMES = "author names or affiliations (the digest lists only how many authors)"
UNMATCHED_TOPIC = (
    "No paper in the digest matches \u201c{topic}\u201d; this answer uses the rest of the question."
)

# Generated answers: why the answer shown is the extractive one ({mode} is the backend asked).
FALLBACK_FAILED = "The {mode} model could not answer ({reason}); this is the extractive answer."
FALLBACK_TIMEOUT = "The {mode} model took longer than {seconds:g} s; this is the extractive answer."
FALLBACK_EMPTY = "The {mode} model returned no answer; this is the extractive answer."
FALLBACK_UNSUPPORTED = (
    "No sentence the {mode} model wrote is backed by the sources it cites;"
    " this is the extractive answer."
)
NOT_GENERATED = (
    "Answered from the digest's records: the {mode} model is only asked when passages"
    " can ground its answer."
)

# The index on disk: what went wrong and the one command that repairs it.
INDEX_REBUILD_HINT = "rebuild it with `python -m rag ingest --rebuild`"
INDEX_UNUSABLE = "The index in {path} cannot be used: {problem}; " + INDEX_REBUILD_HINT + "."
INDEX_BUSY = (
    "Another ingest is writing to the index in {path}; gave up after waiting {seconds:g} s."
)

# The browser app.
APP_DESCRIPTION = (
    "Ask about the papers in this research digest: answers quote the abstracts and "
    "cite them as [1], [2], …, each linked to its source."
)
APP_OVERVIEW = "{papers} papers, published {years}"
APP_OVERVIEW_TOPICS = "largest topics: {topics}"
APP_OVERVIEW_TABS = "Browse them all in the <b>Papers</b> tab, or by topic on the <b>Map</b>."
APP_NEAREST_LEAD = "Nearest papers (not cited):"
APP_CHAT_PLACEHOLDER = "Ask a question about the papers in the digest, or pick one of these."
APP_QUESTION_PLACEHOLDER = "Ask about the digest…"
APP_SEARCHED = "searched:"
APP_SEARCHED_HELP = (
    "What was searched: your question read together with the conversation. Not what you "
    "meant? Ask it again as a new topic."
)
APP_NEW_TOPIC = "New topic"
APP_NEW_TOPIC_MARK = "new topic"
APP_ASK_AS_NEW_TOPIC = "Ask this again as a new topic"
APP_STOPPED = "(stopped)"
APP_MODEL_STOPPED = "(stopped) The model's answer was not finished; the answer above stands."
APP_MODEL_WRITING = (
    "{model} is writing its own answer from these sources ({words} words so far). Each "
    "sentence is checked against the paper it cites before it is shown."
)
APP_MODEL_HEADING = "{model}: each sentence checked against the paper it cites"
APP_SENTENCE_UNSUPPORTED = "not backed by the paper it cites"
APP_SENTENCE_UNCITED = "cites no paper"
APP_MODE_EXTRACTIVE = "Quotes the abstracts (extractive)"
APP_MODE_DEMO = "Demonstration model: Gemma 3 270M (llamacpp)"
APP_MODE_DEMO_INFO = (
    "The demonstration model is small: fluent but often wrong. It answers below the "
    "extractive answer, each sentence checked against the paper it cites."
)
APP_MODE_LOCAL = "Local model (llamacpp)"
APP_MODE_OPENAI = "OpenAI-compatible server (openai)"
APP_MODE_OLLAMA = "Ollama server (ollama)"
APP_FILTERS_LABEL = "Active filters"
APP_FILTERS_HELP = "From the side panel and your question; × removes one and asks again."
APP_FROM_QUESTION = "{label} · from your question"
APP_RELEVANCE_HELP = (
    "How close the question is to this paper's best-matching passage (cosine {score:.2f}): "
    "strong from {strong:.2f}, and below {weak:.2f} the app would not answer from it."
)
APP_RELEVANCE = {"strong": "strong match", "partial": "partial match", "weak": "weak match"}
APP_YEAR_INFERRED = "year inferred"
APP_YEAR_INFERRED_HELP = (
    "The digest gives this paper's day and month only; the year is inferred from where it "
    "is listed."
)
APP_RATED = "Thanks, your {rating} is saved."
APP_COMMENT_PLACEHOLDER = "Add a comment if you like"
APP_RATE_FIRST = "Rate an answer with 👍 or 👎 first."
APP_COMMENT_EMPTY = "Type a comment first."
APP_COMMENT_SAVED = "Comment saved. Thank you."
APP_NOTHING_TO_EXPORT = "Ask a question first: there is nothing to export yet."
APP_COMPARE = "Compare"
APP_COMPARISON = "Comparison"
APP_COMPARISON_NOTE = (
    "Each cell is the paper's own abstract; a number opens its source card, below the table."
)
APP_COMPARE_CSV = "Download as CSV"
APP_COMPARE_MARKDOWN = "Download as Markdown"
APP_NOTHING_COMPARED = "Compare papers first: there is no table to export yet."
APP_PAPERS_SEARCH = "Search titles, authors and abstracts"
APP_PAPERS_HINT = "Select a paper to read its abstract here."
APP_PAPERS_SORT = "Sort by {column}"
APP_MAP_HELP = (
    "Each dot is a paper, placed by meaning; colours are topic clusters named by their most "
    "particular terms. Click a dot to read it."
)

# The index in a Chroma server (RAG_INDEX_SERVER_URL or --server).
INDEX_SERVER_UNREACHABLE = (
    "The Chroma server at {url} cannot be used ({problem}); start it with "
    "`chroma run --path DIR --host HOST --port PORT` or fix RAG_INDEX_SERVER_URL."
)
INDEX_SWITCHED_MEANWHILE = (
    "Another ingest switched the index in {path} to {live} while this one was writing; "
    "nothing was changed: run the ingest again."
)
