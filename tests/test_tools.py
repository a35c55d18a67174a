"""The digest tools (rag.tools) called directly over a real pipeline on the tiny digest: what
each returns, and the message each bad argument is refused with."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from gradio.utils import get_function_description
from gradio_client.utils import python_type_to_json_schema

from rag import Pipeline, QuestionError
from rag.ingest.embedding import Encoder
from rag.texts import EMPTY_QUESTION, NOTHING_TO_COMPARE, QUESTION_TOO_LONG
from rag.tools import MAX_LIST, SORTS, TOOL_NAMES, DigestTools

TIDES = "Tidal Forecasting with Graph Neural Networks"
SORTING = "Sparse Lattice Sorting for Quantum Annealers"
SOIL = "Soil Microbes Respond to Drought Within Days"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Pipeline:
    from conftest import TINY_DIGEST

    folder = tmp_path_factory.mktemp("tools")
    digest = folder / "tiny.txt"
    digest.write_text(TINY_DIGEST, encoding="utf-8")
    settings = {"index": {"path": folder / "index", "digests": (digest,), "progress": False}}
    built = Pipeline(settings, encoder=encoder)
    built.ensure_index()
    return built


@pytest.fixture(scope="module")
def tools(pipeline: Pipeline) -> DigestTools:
    return DigestTools(pipeline)


def id_of(pipeline: Pipeline, title: str) -> str:
    return next(p.paper_id for p in pipeline.papers.values() if p.title == title)


# --- what Gradio reads to describe them ----------------------------------------------------------


def test_the_five_tools_are_named_as_documented(tools: DigestTools) -> None:
    assert [tool.__name__ for tool in tools.tools()] == list(TOOL_NAMES)
    assert TOOL_NAMES == ("ask", "search_papers", "get_paper", "list_papers", "compare_papers")


@pytest.mark.parametrize("name", TOOL_NAMES)
def test_every_parameter_has_a_description_and_a_schema(tools: DigestTools, name: str) -> None:
    tool = getattr(tools, name)
    description, parameters, returns = get_function_description(tool)

    assert len(description) > 40 and returns
    assert parameters and all(parameters.values()), parameters
    hints = tool.__annotations__
    assert all(python_type_to_json_schema(hints[p]) for p in parameters), hints


# --- ask -----------------------------------------------------------------------------------------


def test_ask_returns_the_answer_with_its_citations(tools: DigestTools) -> None:
    result = tools.ask("How are tides forecast?")

    assert result["abstained"] is False
    assert result["citations"][0]["title"] == TIDES
    assert result["citations"][0]["published"] == "2024-05-27"
    assert "[1]" in result["text"]
    assert json.loads(json.dumps(result)) == result


def test_ask_follows_a_conversation_given_as_history(tools: DigestTools) -> None:
    first = tools.ask("How are tides forecast?")
    history = [
        {"role": "user", "content": "How are tides forecast?"},
        {"role": "assistant", "content": first["text"]},
    ]

    follow_up = tools.ask("How much did they lower the error?", history=history)
    alone = tools.ask("How much did they lower the error?")

    assert follow_up["citations"][0]["title"] == TIDES and "a third" in follow_up["text"]
    assert alone["abstained"] is True


def test_ask_applies_the_filters_given(tools: DigestTools) -> None:
    result = tools.ask("How are tides forecast?", filters={"year": 2022})

    assert "year: 2022" in result["filters"]
    assert TIDES not in [c["title"] for c in result["citations"]]
    assert all(s["published"].startswith("2022") for s in result["sources"])


def test_ask_refuses_an_empty_or_oversized_question_with_the_project_message(
    tools: DigestTools, pipeline: Pipeline
) -> None:
    limit = pipeline.settings.answer.max_question_chars
    with pytest.raises(QuestionError) as empty:
        tools.ask("   ")
    with pytest.raises(QuestionError) as oversized:
        tools.ask("tides " * limit)

    assert str(empty.value) == EMPTY_QUESTION
    length = len(("tides " * limit).strip())
    assert str(oversized.value) == QUESTION_TOO_LONG.format(length=length, limit=limit)


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ("hello", "history must be a list of messages"),
        ([{"role": "robot", "content": "hi"}], r"history\[0\] .*role"),
    ],
)
def test_ask_refuses_a_history_of_the_wrong_shape(
    tools: DigestTools, history: object, expected: str
) -> None:
    with pytest.raises(QuestionError, match=expected):
        tools.ask("How are tides forecast?", history=history)  # type: ignore[arg-type]


def test_ask_refuses_an_unknown_answer_mode(tools: DigestTools) -> None:
    with pytest.raises(QuestionError, match="unknown answer mode 'poetry'"):
        tools.ask("How are tides forecast?", mode="poetry")


# --- search_papers -------------------------------------------------------------------------------


def test_search_ranks_real_papers_with_their_scores_and_passages(
    tools: DigestTools, pipeline: Pipeline
) -> None:
    result = tools.search_papers("forecasting tides along a coastline", k=2)

    papers = result["papers"]
    assert 1 <= len(papers) <= 2 and result["abstained"] is False
    assert papers[0]["title"] == TIDES and papers[0]["rank"] == 1
    assert papers[0]["paper_id"] in pipeline.papers
    assert papers[0]["dense"] > 0.3 and papers[0]["score"] > 0
    assert any("tide" in passage.lower() for passage in papers[0]["passages"])
    assert [p["score"] for p in papers] == sorted((p["score"] for p in papers), reverse=True)


def test_search_filters_by_metadata(tools: DigestTools) -> None:
    result = tools.search_papers("forecasting tides", k=3, filters={"min_upvotes": 4})

    assert result["papers"] and {p["title"] for p in result["papers"]} == {SOIL}
    assert "≥ 4 upvotes" in result["filters"]


@pytest.mark.parametrize("k", [0, 51, -1, True, "3", 2.5])
def test_search_refuses_k_out_of_range(tools: DigestTools, k: object) -> None:
    with pytest.raises(QuestionError) as error:
        tools.search_papers("tides", k=k)  # type: ignore[arg-type]
    assert str(error.value) == f"k must be a whole number from 1 to 50, got {k!r}"


# --- get_paper -----------------------------------------------------------------------------------


def test_get_paper_returns_the_whole_record_and_abstract(
    tools: DigestTools, pipeline: Pipeline
) -> None:
    paper = pipeline.papers[id_of(pipeline, TIDES)]

    record = tools.get_paper(paper.paper_id)

    assert record["title"] == TIDES and record["abstract"] == paper.abstract
    assert record["abstract"].startswith("Coastal tide gauges form a natural graph")
    assert record["published"] == "2024-05-27" and record["upvotes"] == 3
    assert record["authors_count"] == 5 and record["byline"] == "5 authors"
    assert "source_file" not in record  # a local path is nobody else's business


@pytest.mark.parametrize("paper_id", ["nope", "", "0" * 16])
def test_get_paper_names_an_unknown_id(tools: DigestTools, paper_id: str) -> None:
    with pytest.raises(QuestionError) as error:
        tools.get_paper(paper_id)
    assert str(error.value).startswith(f"no paper with id {paper_id!r} in the digest")


def test_get_paper_refuses_an_id_that_is_not_text(tools: DigestTools) -> None:
    with pytest.raises(QuestionError, match="paper_id must be text, got 7"):
        tools.get_paper(7)  # type: ignore[arg-type]


# --- list_papers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sort", "titles"),
    [
        ("most_upvoted", [SOIL, TIDES, SORTING]),
        ("least_upvoted", [SORTING, TIDES, SOIL]),
        ("oldest", [SORTING, TIDES, SOIL]),
        ("newest", [SOIL, TIDES, SORTING]),
        ("title", [SOIL, SORTING, TIDES]),
    ],
)
def test_list_papers_sorts_every_paper(tools: DigestTools, sort: str, titles: list[str]) -> None:
    result = tools.list_papers(sort=sort)  # type: ignore[arg-type]

    assert result["total"] == 3 and result["sort"] == sort
    assert [p["title"] for p in result["papers"]] == titles


def test_list_papers_dates_follow_the_newest_first_order(tools: DigestTools) -> None:
    dates = [p["published"] for p in tools.list_papers()["papers"]]
    assert dates == sorted(dates, reverse=True)
    assert all(dt.date.fromisoformat(d) for d in dates)


@pytest.mark.parametrize(
    ("filters", "titles"),
    [
        ({"year": 2024}, [TIDES]),
        ({"min_upvotes": 1}, [SOIL, TIDES]),
        ({"max_upvotes": 3, "since": "2022-01-01"}, [TIDES, SORTING]),
        ({"until": "2023-12-31"}, [SORTING]),
        ({"organization": "example lab"}, [SOIL]),
        ({"year": None, "organization": ""}, [SOIL, TIDES, SORTING]),
    ],
)
def test_list_papers_filters_by_metadata(
    tools: DigestTools, filters: dict, titles: list[str]
) -> None:
    result = tools.list_papers(filters=filters)  # type: ignore[arg-type]

    assert [p["title"] for p in result["papers"]] == titles
    assert result["total"] == len(titles)


def test_list_papers_cuts_to_the_limit_and_counts_the_rest(tools: DigestTools) -> None:
    result = tools.list_papers(sort="most_upvoted", limit=1)

    assert result["total"] == 3
    assert [p["title"] for p in result["papers"]] == [SOIL]
    assert set(result["papers"][0]) == {"paper_id", "title", "published", "byline", "upvotes"}


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"yr": 2025}, "unknown filter yr; the filters are year, since, until"),
        ({"year": "last"}, "year must be a whole number of at least 0, got 'last'"),
        ({"year": 1800}, "year must be between 1990 and 2099, got 1800"),
        ({"since": "2025-13-01"}, "since must be a date such as 2025-03-01, got '2025-13-01'"),
        ({"min_upvotes": 5, "max_upvotes": 1}, "min_upvotes (5) must not exceed max_upvotes (1)"),
        ({"min_upvotes": -2}, "min_upvotes must be a whole number of at least 0, got -2"),
        ({"organization": 3}, "organization must be text, got 3"),
        ("2025", "filters must be an object such as {\"year\": 2025}, got '2025'"),
    ],
)
def test_bad_filters_are_refused_by_every_tool_that_takes_them(
    tools: DigestTools, filters: object, message: str
) -> None:
    calls = [
        lambda: tools.list_papers(filters=filters),  # type: ignore[arg-type]
        lambda: tools.search_papers("tides", filters=filters),  # type: ignore[arg-type]
        lambda: tools.ask("How are tides forecast?", filters=filters),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(QuestionError) as error:
            call()
        assert str(error.value).startswith(message), str(error.value)


@pytest.mark.parametrize("sort", ["random", "", "Newest"])
def test_list_papers_refuses_an_unknown_sort(tools: DigestTools, sort: str) -> None:
    with pytest.raises(QuestionError) as error:
        tools.list_papers(sort=sort)  # type: ignore[arg-type]
    assert str(error.value) == f"sort must be one of {', '.join(SORTS)}, got {sort!r}"


@pytest.mark.parametrize("limit", [0, MAX_LIST + 1, True, "5"])
def test_list_papers_refuses_a_limit_out_of_range(tools: DigestTools, limit: object) -> None:
    with pytest.raises(QuestionError) as error:
        tools.list_papers(limit=limit)  # type: ignore[arg-type]
    assert str(error.value) == f"limit must be a whole number from 1 to {MAX_LIST}, got {limit!r}"


# --- compare_papers ------------------------------------------------------------------------------


def test_compare_papers_given_by_id_in_their_order(tools: DigestTools, pipeline: Pipeline) -> None:
    chosen = [id_of(pipeline, SOIL), id_of(pipeline, TIDES)]

    result = tools.compare_papers("Compare these", chosen)

    assert [row["paper_id"] for row in result["rows"]] == chosen
    assert [row["title"] for row in result["rows"]] == [SOIL, TIDES]
    assert result["columns"][:3] == ["proposes or studies", "evaluated on", "headline result"]
    assert result["markdown"].splitlines()[0].startswith("| paper |")
    assert "Soil Microbes Respond to Drought Within Days [1]" in result["markdown"]
    assert "note" not in result


def test_compare_papers_says_so_when_the_digest_has_nothing_on_the_theme(
    tools: DigestTools,
) -> None:
    result = tools.compare_papers("What is the boiling point of tungsten?")

    assert result["rows"] == [] and result["note"] == NOTHING_TO_COMPARE


@pytest.mark.parametrize(
    ("paper_ids", "message"),
    [
        (["nope"], "no paper with id 'nope' in the digest"),
        (["a"] * 7, "at most 6 papers can be compared side by side, got 7"),
        ("abc", "paper_ids must be a list of paper ids, got 'abc'"),
        ([1, 2], "paper_id must be text, got 1"),
    ],
)
def test_compare_papers_refuses_bad_ids(
    tools: DigestTools, paper_ids: object, message: str
) -> None:
    with pytest.raises(QuestionError) as error:
        tools.compare_papers("Compare these", paper_ids)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_compare_papers_refuses_an_empty_question(tools: DigestTools, pipeline: Pipeline) -> None:
    with pytest.raises(QuestionError) as error:
        tools.compare_papers(" ", [id_of(pipeline, TIDES)])
    assert str(error.value) == EMPTY_QUESTION


def test_the_pipeline_can_be_given_lazily(pipeline: Pipeline) -> None:
    built: list[Pipeline] = []

    def pipeline_of() -> Pipeline:
        built.append(pipeline)
        return pipeline

    lazy = DigestTools(pipeline_of)
    assert built == []
    assert lazy.list_papers(limit=1)["total"] == 3 and built == [pipeline]


def test_every_catalogue_sort_is_a_list_papers_sort():
    from rag.search.filters import SORTS as CATALOGUE_SORTS

    assert SORTS == (*CATALOGUE_SORTS, "title")
