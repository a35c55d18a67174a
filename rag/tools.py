"""The digest as five tools for AI assistants: ask, search, read, list and compare papers.

Design:
- `DigestTools` binds five plain, typed methods to one `Pipeline`: `ask`, `search_papers`,
  `get_paper`, `list_papers` and `compare_papers`. Each takes JSON values and returns a
  JSON-ready dict, so the same functions serve Python callers, the app's API and its MCP
  server. app.py registers them with `gr.api`, which turns the type hints into each tool's
  parameter schema (`PaperFilters` becomes an object with one property per filter, the sort a
  `Literal` enum) and the docstring into its description: the text before `Args:`, one line
  per parameter under it, and the `Returns:` lines appended.
- Pure wrappers: answering, retrieval, filtering and comparing are the pipeline's
  (`Pipeline.ask`, `Pipeline.compare`, `rag.search.filters`); this module checks arguments and
  shapes results. Search is the answer's own retrieval, so its scores are the ones an answer
  would cite by.
- Bad input raises `QuestionError` before any work, with a message an assistant can act on:
  the pipeline's own for questions, `k`, history and answer modes, and this module's (below)
  for paper ids, filters, sorts and limits. The app turns it into a tool error.
- The pipeline comes from a callable, so the app can build it on first use.
- No `from __future__ import annotations` here: Gradio reads the return hints as written, and
  a string would leave the API docs with an untyped result.
"""

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypedDict, get_args

from rag.answer.compare import Comparison
from rag.errors import QuestionError
from rag.pipeline import MAX_COMPARED, Pipeline, check_k
from rag.records import Paper
from rag.search.filters import QueryFilters, explicit_filters, filter_papers
from rag.texts import NOTHING_TO_COMPARE

# What a caller is told when an argument cannot be used; each names what is allowed.
UNKNOWN_PAPER = (
    "no paper with id {paper_id!r} in the digest; search_papers and list_papers give paper ids"
)
PAPER_ID_NOT_TEXT = "paper_id must be text, got {value!r}"
FILTERS_NOT_OBJECT = 'filters must be an object such as {{"year": 2025}}, got {value!r}'
UNKNOWN_FILTER = "unknown filter {names}; the filters are {allowed}"
UNKNOWN_SORT = "sort must be one of {allowed}, got {value!r}"
LIMIT_OUT_OF_RANGE = "limit must be a whole number from 1 to {most}, got {value!r}"
PAPER_IDS_NOT_LIST = "paper_ids must be a list of paper ids, got {value!r}"
TOO_MANY_COMPARED = "at most {most} papers can be compared side by side, got {count}"

# The catalogue's sort orders (`rag.search.filters.SORTS`, a test keeps them equal) and title.
Sort = Literal[
    "newest", "oldest", "most_upvoted", "least_upvoted", "most_authors", "fewest_authors", "title"
]
SORTS: tuple[str, ...] = get_args(Sort)
# The tools, in the order they are listed to a client; each is the method of that name.
TOOL_NAMES = ("ask", "search_papers", "get_paper", "list_papers", "compare_papers")
# Papers one list_papers call returns: the whole bundled digest, and a page of a large one.
MAX_LIST = 100


class PaperFilters(TypedDict, total=False):
    """Metadata limits on the papers considered, each optional, as `Pipeline.ask` takes them."""

    year: int
    since: str
    until: str
    min_upvotes: int
    max_upvotes: int
    organization: str


FILTER_NAMES: tuple[str, ...] = tuple(PaperFilters.__annotations__)


def paper_summary(paper: Paper) -> dict[str, Any]:
    """One paper as a list row: its id, title, date, byline and upvotes."""
    return {
        "paper_id": paper.paper_id,
        "title": paper.title,
        "published": paper.published.isoformat() if paper.published else None,
        "byline": paper.byline,
        "upvotes": paper.upvotes,
    }


def paper_record(paper: Paper) -> dict[str, Any]:
    """The whole record of one paper, abstract included (not the local file it came from)."""
    return {
        **paper_summary(paper),
        "year_inferred": paper.year_inferred,
        "authors_count": paper.authors_count,
        "organization": paper.organization,
        "code_urls": list(paper.code_urls),
        "abstract": paper.abstract,
    }


def check_filters(filters: object) -> dict[str, Any]:
    """The filters that are set, as keyword arguments of `Pipeline.ask`; a `QuestionError`
    naming the problem when one is unknown or its value does not fit."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise QuestionError(FILTERS_NOT_OBJECT.format(value=filters))
    unknown = sorted(map(str, set(filters) - set(FILTER_NAMES)))
    if unknown:
        allowed = ", ".join(FILTER_NAMES)
        raise QuestionError(UNKNOWN_FILTER.format(names=", ".join(unknown), allowed=allowed))
    chosen = {name: value for name, value in filters.items() if value not in (None, "")}
    explicit_filters(**chosen)  # a value that does not fit raises its QuestionError
    return chosen


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise QuestionError(LIMIT_OUT_OF_RANGE.format(most=MAX_LIST, value=limit))
    return limit


def check_paper_ids(paper_ids: object) -> list[str]:
    """Ids to compare, in order; an empty list means "the papers of the question's theme"."""
    if paper_ids is None:
        return []
    if isinstance(paper_ids, str) or not isinstance(paper_ids, Sequence):
        raise QuestionError(PAPER_IDS_NOT_LIST.format(value=paper_ids))
    for paper_id in paper_ids:
        if not isinstance(paper_id, str):
            raise QuestionError(PAPER_ID_NOT_TEXT.format(value=paper_id))
    if len(paper_ids) > MAX_COMPARED:
        raise QuestionError(TOO_MANY_COMPARED.format(most=MAX_COMPARED, count=len(paper_ids)))
    return list(paper_ids)


def sorted_papers(papers: list[Paper], filters: QueryFilters, sort: str) -> list[Paper]:
    """Papers meeting `filters`, in `sort` order; dates and upvotes as the catalogue sorts
    them (ties by title, undated papers last)."""
    if sort == "title":
        return sorted(filter_papers(papers, filters), key=lambda p: p.title.casefold())
    return filter_papers(papers, dataclasses.replace(filters, sort=sort))


def comparison_result(comparison: Comparison) -> dict[str, Any]:
    result: dict[str, Any] = {**comparison.to_dict(), "markdown": comparison.to_markdown()}
    if not comparison.rows:
        result["note"] = NOTHING_TO_COMPARE
    return result


class DigestTools:
    """The five tools over one pipeline; `tools()` lists them in the order to register."""

    def __init__(self, pipeline: Pipeline | Callable[[], Pipeline]) -> None:
        if isinstance(pipeline, Pipeline):
            self._pipeline_of: Callable[[], Pipeline] = lambda: pipeline
        else:
            self._pipeline_of = pipeline

    def tools(self) -> tuple[Callable[..., dict[str, Any]], ...]:
        return tuple(getattr(self, name) for name in TOOL_NAMES)

    def ask(
        self,
        question: str,
        history: list[dict[str, str]] | None = None,
        filters: PaperFilters | None = None,
        mode: str = "",
    ) -> dict[str, Any]:
        """Answer a question from the research-paper digest, citing the papers as [1], [2].
        Each sentence of the answer comes from a paper's abstract; when the digest does not cover
        the question the answer says so (abstained) and lists only the nearest papers.

        Args:
            question: the question (2,000 characters at most by default), e.g. "What is X?"
            history: earlier turns for a follow-up: [{"role": "user"|"assistant", "content": ...}]
            filters: metadata limits: year, since/until (YYYY-MM-DD), min/max_upvotes, organization
            mode: who writes the answer: extractive, llamacpp, openai or ollama (empty: default)

        Returns:
            text: the answer with its [n] markers
            citations: number / paper_id / title / published / snippet per cited paper
            sources: the papers retrieved, ranked, with their scores
            abstained: true when the digest does not cover the question
            filters: the filters applied; query: what was searched
        """
        chosen = check_filters(filters)
        return self._pipeline_of().ask(question, history, mode=mode or None, **chosen).to_dict()

    def search_papers(
        self, query: str, k: int = 5, filters: PaperFilters | None = None
    ) -> dict[str, Any]:
        """Find the papers in the digest that best match a topic or question, ranked, with
        scores: the retrieval behind the answers (embeddings and BM25 fused), not an answer.

        Args:
            query: a topic or question, e.g. "entropy collapse in reinforcement learning"
            k: how many papers to return, from 1 to 50
            filters: metadata limits: year, since/until (YYYY-MM-DD), min/max_upvotes, organization

        Returns:
            papers: best first, each with rank / paper_id / title / published / byline / upvotes
            score (fused rank score) / dense (best passage cosine) / keyword (BM25) per paper
            passages: the parts of each abstract that matched
            abstained: true when the digest would not answer the query (papers only nearest)
        """
        check_k(k)
        chosen = check_filters(filters)
        answer = self._pipeline_of().ask(query, mode="extractive", k=k, **chosen)
        listed = answer.to_dict()["sources"]
        papers = [
            {**row, "passages": list(source.chunk_texts)}
            for row, source in zip(listed, answer.sources, strict=True)
        ]
        return {
            "query": answer.query or answer.question,
            "filters": list(answer.filters),
            "abstained": answer.abstained,
            "papers": papers[:k],
        }

    def get_paper(self, paper_id: str) -> dict[str, Any]:
        """Read one paper of the digest: its full record and abstract.

        Args:
            paper_id: the paper's id, as search_papers, list_papers and citations give it

        Returns:
            paper_id / title / abstract / published (year_inferred: its year was assumed)
            authors_count / organization / byline / upvotes / code_urls
        """
        if not isinstance(paper_id, str):
            raise QuestionError(PAPER_ID_NOT_TEXT.format(value=paper_id))
        paper = self._pipeline_of().papers.get(paper_id.strip())
        if paper is None:
            raise QuestionError(UNKNOWN_PAPER.format(paper_id=paper_id))
        return paper_record(paper)

    def list_papers(
        self, filters: PaperFilters | None = None, sort: Sort = "newest", limit: int = 20
    ) -> dict[str, Any]:
        """List the papers of the digest by their metadata, without a question: e.g. every paper
        from 2025, or the most upvoted ones.

        Args:
            filters: metadata limits: year, since/until (YYYY-MM-DD), min/max_upvotes, organization
            sort: newest, oldest, most_upvoted, least_upvoted, most_authors, fewest_authors
                or title
            limit: how many papers to return, from 1 to 100

        Returns:
            total: how many papers match; filters and sort: as applied
            papers: paper_id / title / published / byline / upvotes (get_paper gives abstracts)
        """
        if sort not in SORTS:
            raise QuestionError(UNKNOWN_SORT.format(allowed=", ".join(SORTS), value=sort))
        check_limit(limit)
        chosen = explicit_filters(**check_filters(filters))
        found = sorted_papers(list(self._pipeline_of().papers.values()), chosen, sort)
        return {
            "total": len(found),
            "filters": chosen.describe(),
            "sort": sort,
            "papers": [paper_summary(paper) for paper in found[:limit]],
        }

    def compare_papers(self, question: str, paper_ids: list[str] | None = None) -> dict[str, Any]:
        """Compare papers side by side: what each proposes or studies, what it is evaluated on,
        its headline result, date and upvotes, each cell quoted from its abstract. Give the
        papers by id, or leave paper_ids empty to compare the papers on the question's theme.

        Args:
            question: what to compare, e.g. "Compare the papers on entropy collapse"
            paper_ids: up to 6 paper ids to compare, in order (empty: the theme's papers)

        Returns:
            columns and rows: number / paper_id / title and per column a text and its sentence
            markdown: the same table as Markdown
        """
        ids = check_paper_ids(paper_ids)
        return comparison_result(self._pipeline_of().compare(question, ids or None))


__all__ = ["MAX_LIST", "SORTS", "TOOL_NAMES", "DigestTools", "PaperFilters"]
