"""The command line, run as a user runs it: a subprocess with exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rag.cli import build_parser, failed_thresholds, llm_overrides, parse_thresholds
from rag.errors import OptionError
from rag.eval.evaluation import threshold_metrics
from rag.texts import NOTHING_TO_COMPARE

ROOT = Path(__file__).resolve().parent.parent
BASE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "RAG_INDEX_PROGRESS": "false",
    "PATH": "/usr/bin:/bin",
}


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**BASE_ENV, **env},
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The single `error: ...` line a user error prints (exit code 2), without its prefix."""
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: ")
    return line.removeprefix("error: ")


def test_ingest_then_ask_as_json(tmp_path: Path, tiny_digest: Path):
    index = str(tmp_path / "index")
    ingest = run_cli("--index", index, "ingest", str(tiny_digest))
    assert ingest.returncode == 0, ingest.stderr
    assert "3 papers: 3 added" in ingest.stdout
    again = run_cli("--index", index, "ingest", str(tiny_digest))
    assert "0 chunks embedded" in again.stdout
    question = "How quickly do soil microbes respond to drought?"
    asked = run_cli("--index", index, "ask", question, "--json")
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["citations"][0]["title"] == "Soil Microbes Respond to Drought Within Days"
    assert answer["abstained"] is False


def test_empty_question_exits_2_with_one_line(tmp_path: Path):
    result = run_cli("--index", str(tmp_path / "index"), "ask", "   ")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: Please type a question."]


def test_malformed_digest_exits_2_naming_the_file(tmp_path: Path):
    bad = tmp_path / "empty.txt"
    bad.write_text("")
    result = run_cli("--index", str(tmp_path / "index"), "ingest", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "Traceback" not in result.stderr


def test_mode_model_and_base_url_become_llm_settings():
    parser = build_parser()
    local = parser.parse_args(["ask", "q", "--mode", "llamacpp", "--model", "/m/x.gguf"])
    assert llm_overrides(local) == {"mode": "llamacpp", "model_path": "/m/x.gguf"}
    ollama = parser.parse_args(
        ["ask", "q", "--mode", "ollama", "--model", "qwen3", "--base-url", "http://h:11434"]
    )
    assert llm_overrides(ollama) == {
        "mode": "ollama",
        "ollama_model": "qwen3",
        "ollama_url": "http://h:11434",
    }
    remote = parser.parse_args(["ask", "q", "--mode", "openai", "--base-url", "http://h/v1"])
    assert llm_overrides(remote) == {"mode": "openai", "base_url": "http://h/v1"}
    assert llm_overrides(parser.parse_args(["ask", "q"])) == {}


def test_ask_with_an_unreachable_server_prints_the_note_and_the_answer(
    tmp_path: Path, tiny_digest: Path
):
    index = str(tmp_path / "index")
    assert run_cli("--index", index, "ingest", str(tiny_digest)).returncode == 0
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    question = "How quickly do soil microbes respond to drought?"
    asked = run_cli("--index", index, "ask", question, "--mode", "openai", "--base-url", closed)
    assert asked.returncode == 0, asked.stderr
    first, blank, answer, *_ = asked.stdout.splitlines()
    assert first.startswith("Note: The openai model could not answer")
    assert "[1] Soil Microbes Respond to Drought Within Days" in asked.stdout
    streamed = run_cli("--index", index, "ask", question, "--stream")
    assert streamed.returncode == 0, streamed.stderr
    assert streamed.stdout.splitlines()[0] == answer


def test_compare_prints_the_theme_s_papers_in_every_format(tmp_path: Path, tiny_digest: Path):
    index = str(tmp_path / "index")
    assert run_cli("--index", index, "ingest", str(tiny_digest)).returncode == 0
    theme = "Compare the papers on forecasting tides with graph neural networks"
    shown = run_cli("--index", index, "compare", theme)
    assert shown.returncode == 0, shown.stderr
    first, *cells = shown.stdout.splitlines()[:4]
    assert first == "[1] Tidal Forecasting with Graph Neural Networks (2024-05-27, 3 upvotes)"
    assert cells == [
        "    proposes or studies: We train a graph neural network that forecasts tides twelve "
        "hours ahead from neighbouring gauges.",
        "    evaluated on: (not stated in the abstract)",
        "    headline result: The model lowers forecast error by a third relative to harmonic "
        "analysis at forty stations.",
    ]
    markdown = run_cli("--index", index, "compare", theme, "--markdown").stdout.splitlines()
    assert (
        markdown[0]
        == "| paper | proposes or studies | evaluated on | headline result | date | upvotes |"
    )
    assert markdown[2].startswith("| Tidal Forecasting with Graph Neural Networks [1] | We train")
    table = json.loads(run_cli("--index", index, "compare", theme, "--json").stdout)
    tides = table["rows"][0]["paper_id"]
    out = tmp_path / "table.csv"
    listed = run_cli("--index", index, "compare", "Compare", "--papers", tides, "--csv", str(out))
    assert listed.stdout.strip() == f"wrote 1 papers to {out}"
    header, row = csv.reader(io.StringIO(out.read_text()))
    assert header[:3] == ["number", "title", "proposes or studies"]
    assert row[:2] == ["1", "Tidal Forecasting with Graph Neural Networks"]
    nothing = run_cli("--index", index, "compare", "What is the boiling point of tungsten?")
    assert nothing.stdout.strip() == NOTHING_TO_COMPARE


# ---------------------------------------------------------------- bad input, one line each


def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.jsonl"
    os.mkfifo(path)
    return path


def written(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def surrogate_digest(tmp_path: Path) -> Path:
    text = '{"title": "\\ud800", "abstract": "An abstract of a few words."}\n'
    return written(tmp_path, "surrogate.jsonl", text)


def tiny(tmp_path: Path) -> Path:
    from conftest import TINY_DIGEST

    return written(tmp_path, "tiny.txt", TINY_DIGEST)


def question_file(tmp_path: Path) -> str:
    text = '{"user_input": "How do tides work?", "type": "single"}\n'
    return str(written(tmp_path, "q.jsonl", text))


def empty_folder(tmp_path: Path) -> str:
    (tmp_path / "empty").mkdir()
    return str(tmp_path / "empty")


def eval_failing_under(tmp_path: Path, threshold: str) -> list[str]:
    return [
        "eval",
        question_file(tmp_path),
        "--out",
        str(tmp_path / "r"),
        "--fail-under",
        threshold,
    ]


# (arguments, environment, expected text), built in the test's temporary folder.
BAD_INPUT: dict[str, Callable[[Path], tuple[list[str], dict[str, str], str]]] = {
    "fifo digest": lambda t: (
        ["ingest", str(fifo(t))],
        {},
        f"{t}/pipe.jsonl: not a regular file (a pipe, device or socket)",
    ),
    "device digest": lambda t: (["ingest", "/dev/zero"], {}, "/dev/zero: not a regular file"),
    "digest over the size limit": lambda t: (
        ["ingest", str(tiny(t))],
        {"RAG_INDEX_MAX_DIGEST_MB": "0.0001"},
        "over the 0.0001 MB limit for one digest file (RAG_INDEX_MAX_DIGEST_MB)",
    ),
    "lone surrogate in a title": lambda t: (
        ["ingest", str(surrogate_digest(t))],
        {},
        f"{t}/surrogate.jsonl:1: 'title' holds a lone surrogate \\ud800",
    ),
    "index path is a file": lambda t: (
        ["--index", str(tiny(t)), "ask", "x"],
        {},
        f"The index path {t}/tiny.txt is a file, not a folder",
    ),
    "malformed server URL": lambda t: (
        ["--server", "http://[::1", "ask", "x"],
        {},
        "The Chroma server at http://[::1 cannot be used (not a valid URL",
    ),
    "setting that is not a number": lambda t: (
        ["ask", "x"],
        {"RAG_RETRIEVAL_K": "abc"},
        "RAG_RETRIEVAL_K must be a whole number, got 'abc'",
    ),
    "retrieval k setting of 0": lambda t: (
        ["ask", "x"],
        {"RAG_RETRIEVAL_K": "0"},
        "RAG_RETRIEVAL_K must be a whole number from 1 to 50, got '0'",
    ),
    **{
        f"ask -k {k}": lambda t, k=k: (
            ["ask", "x", "-k", k],
            {},
            f"k must be a whole number from 1 to 50, got {k}",
        )
        for k in ("0", "-5", "1000000000")
    },
    "eval report folder is a file": lambda t: (
        ["eval", question_file(t), "--out", str(tiny(t))],
        {},
        f"the report folder {t}/tiny.txt is a file: give a folder for the report "
        "(it is created if missing)",
    ),
    "threshold that is not a number": lambda t: (
        eval_failing_under(t, "mrr=abc"),
        {},
        "--fail-under mrr=abc: the value must be a number such as 0.5",
    ),
    "threshold on an unknown metric": lambda t: (
        eval_failing_under(t, "precision=0.5"),
        {},
        "--fail-under precision=0.5: unknown metric 'precision'; choose from recall@5, "
        "all_gold@5, mrr, ndcg@10,",
    ),
    "threshold without =": lambda t: (
        eval_failing_under(t, "mrr"),
        {},
        "--fail-under takes METRIC=VALUE (e.g. mrr=0.5), got 'mrr'",
    ),
    "threshold on a type no question has": lambda t: (
        eval_failing_under(t, "multi:mrr=0.5"),
        {},
        "--fail-under multi:mrr: no question has type 'multi'; the types are single",
    ),
    "compare a missing folder": lambda t: (
        ["eval", "--compare", str(t / "a"), empty_folder(t)],
        {},
        f"{t}/a: no such folder: give a folder that `python -m rag eval QUESTIONS --out FOLDER` "
        "wrote",
    ),
    "compare a folder with no run": lambda t: (
        ["eval", "--compare", empty_folder(t), str(t / "b")],
        {},
        f"{t}/empty: holds no summary.json, so no finished evaluation;",
    ),
    "compare an unknown paper id": lambda t: (
        ["--index", str(t / "index"), "compare", "x", "--papers", "nope"],
        {},
        "no paper with id 'nope' in the digest",
    ),
    "compare into a missing folder": lambda t: (
        ["compare", "x", "--csv", str(t / "missing" / "table.csv")],
        {},
        f"--csv {t}/missing/table.csv: give a file path in an existing folder",
    ),
    "generate into a folder": lambda t: (
        ["eval", "--generate", "5", "--out", str(t)],
        {},
        f"--out {t} is a folder: --generate writes the question set to a file; "
        f"give a file path such as {t}/generated.jsonl",
    ),
    **{
        f"generate {n}": lambda t, n=n: (
            ["eval", "--generate", n, "--out", str(t / "set.jsonl")],
            {},
            f"the number of questions to generate must be 1 or more, got {n}",
        )
        for n in ("0", "-5")
    },
}


@pytest.mark.parametrize("case", BAD_INPUT)
def test_bad_input_prints_one_line_and_exits_2(tmp_path: Path, case: str):
    args, env, expected = BAD_INPUT[case](tmp_path)
    index = ["--index", str(tmp_path / "index")] if "--index" not in args else []
    result = run_cli(*index, *args, **env)
    assert expected in one_line_error(result)


def test_generate_writes_its_set_to_a_file_in_a_new_folder(tmp_path: Path, tiny_digest: Path):
    out = tmp_path / "sets" / "starter.jsonl"
    generate = ["eval", "--generate", "2", "--out", str(out)]
    index = ["--index", str(tmp_path / "index")]
    result = run_cli(*index, *generate, RAG_INDEX_DIGESTS=str(tiny_digest))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["type"] for row in rows].count("single") == 2
    assert f"wrote {len(rows)} generated questions to {out}" in result.stdout


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (
            ["mrr=0.5", "single:recall@5=1"],
            [(None, "mrr", 0.5, False), ("single", "recall@5", 1.0, False)],
        ),
        (
            ["hasans_false_refusal_rate<=0.03", "single:strong_not_gold_share<=0.05"],
            [
                (None, "hasans_false_refusal_rate", 0.03, True),
                ("single", "strong_not_gold_share", 0.05, True),
            ],
        ),
    ],
)
def test_thresholds_parse_into_type_metric_bound_and_direction(items: list[str], expected: list):
    assert parse_thresholds(items, threshold_metrics(5)) == expected


def test_a_ceiling_fails_above_its_bound_and_a_floor_below_its_own():
    summary = {"overall": {"mrr": 0.9, "hasans_false_refusal_rate": 0.04}, "by_type": {}}
    thresholds = parse_thresholds(
        ["mrr=0.95", "hasans_false_refusal_rate<=0.03"], threshold_metrics(5)
    )
    assert failed_thresholds(summary, thresholds) == [
        "mrr = 0.9 < 0.95",
        "hasans_false_refusal_rate = 0.04 > 0.03",
    ]
    loose = parse_thresholds(["mrr=0.9", "hasans_false_refusal_rate<=0.04"], threshold_metrics(5))
    assert failed_thresholds(summary, loose) == []


@pytest.mark.parametrize("item", ["mrr=nan", "mrr=inf", "mrr=", "recall@10=0.5", "=0.5"])
def test_a_threshold_that_could_never_be_checked_is_refused(item: str):
    with pytest.raises(OptionError, match=f"^--fail-under {re.escape(item)}: "):
        parse_thresholds([item], threshold_metrics(5))


def start_app(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python app.py` as a user starts it, on its own index folder."""
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**BASE_ENV, "RAG_INDEX_PATH": str(tmp_path / "index"), **env},
    )


@pytest.mark.parametrize("bad", ["fifo", "missing", "setting"])
def test_the_app_started_with_bad_input_prints_one_line_and_exits_2(tmp_path: Path, bad: str):
    env = {
        "fifo": {"RAG_INDEX_DIGESTS": str(fifo(tmp_path))},
        "missing": {"RAG_INDEX_DIGESTS": str(tmp_path / "nowhere.txt")},
        "setting": {"RAG_APP_PORT": "eighty"},
    }[bad]
    expected = {
        "fifo": "pipe.jsonl: not a regular file",
        "missing": "nowhere.txt: no such file",
        "setting": "RAG_APP_PORT must be a whole number",
    }[bad]
    assert expected in one_line_error(start_app(tmp_path, **env))


# ---------------------------------------------------------------- a lost pointer, a rebuild


GLACIER = "Glacier Melt Forecasting with Satellite Radar"
REEF = "Coral Reef Bleaching Detected by Underwater Drones"


def two_digests(tmp_path: Path) -> tuple[Path, Path]:
    """a.jsonl and b.jsonl, one paper each, on subjects far apart."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    glacier = (
        "We forecast glacier melt from satellite radar backscatter over forty alpine glaciers "
        "and show that radar-derived wetness predicts daily melt two weeks ahead."
    )
    reef = (
        "Underwater drones photographed coral reefs every week for a year, and a classifier "
        "trained on their images detects coral bleaching a month before divers notice it."
    )
    a.write_text(json.dumps({"title": GLACIER, "abstract": glacier}) + "\n")
    b.write_text(json.dumps({"title": REEF, "abstract": reef}) + "\n")
    return a, b


def test_a_missing_pointer_is_refused_and_recover_brings_every_paper_back(tmp_path: Path):
    index = str(tmp_path / "index")
    a, b = two_digests(tmp_path)
    assert run_cli("--index", index, "ingest", str(a), str(b)).returncode == 0
    (tmp_path / "index" / "papers.live.json").unlink()
    question = "Can underwater drones detect coral reef bleaching?"
    refused = run_cli("--index", index, "ask", question, RAG_INDEX_DIGESTS=str(a))
    message = one_line_error(refused)
    assert "papers.live.json is missing" in message
    assert "python -m rag ingest --recover" in message
    recovered = run_cli("--index", index, "ingest", "--recover")
    assert recovered.returncode == 0, recovered.stderr
    assert "is live again" in recovered.stdout
    asked = run_cli("--index", index, "ask", question, "--json", RAG_INDEX_DIGESTS=str(a))
    assert asked.returncode == 0, asked.stderr
    assert json.loads(asked.stdout)["citations"][0]["title"] == REEF
    again = run_cli("--index", index, "ingest", "--recover")
    assert "nothing to recover" in again.stdout


def test_a_new_folder_is_built_from_the_configured_digests(tmp_path: Path, tiny_digest: Path):
    index = str(tmp_path / "fresh")
    question = "How quickly do soil microbes respond to drought?"
    asked = run_cli("--index", index, "ask", question, RAG_INDEX_DIGESTS=str(tiny_digest))
    assert asked.returncode == 0, asked.stderr
    assert "[1] Soil Microbes Respond to Drought Within Days" in asked.stdout


def test_rebuild_refuses_to_drop_papers_of_files_it_is_not_given(tmp_path: Path):
    index = str(tmp_path / "index")
    a, b = two_digests(tmp_path)
    assert run_cli("--index", index, "ingest", str(a), str(b)).returncode == 0
    refused = run_cli("--index", index, "ingest", "--rebuild", str(a))
    message = one_line_error(refused)
    assert f"would drop 1 paper(s) that the index in {index} holds" in message
    assert f"({b})" in message and "--discard-missing-sources" in message
    kept = run_cli("--index", index, "ingest", str(a), str(b))
    assert "2 unchanged" in kept.stdout  # nothing was dropped
    assert run_cli("--index", index, "ingest", "--rebuild", str(a), str(b)).returncode == 0
    dropped = run_cli("--index", index, "ingest", "--rebuild", str(a), "--discard-missing-sources")
    assert dropped.returncode == 0, dropped.stderr
    assert "1 papers: 1 added" in dropped.stdout
    after = run_cli("--index", index, "ingest", str(a), str(b))
    assert "1 added, 0 updated, 1 unchanged" in after.stdout
