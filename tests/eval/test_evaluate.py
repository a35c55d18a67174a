"""Batch evaluation end to end: rows, summaries, reports, resume, RAGAS, comparison, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from rag import Pipeline
from rag.errors import InputFileError, OptionError
from rag.eval.evaluation import RESULTS_FILE, SUMMARY_FILE, evaluate
from rag.eval.questions import EvalQuestion, load_questions
from rag.eval.report import compare_runs, write_report

ROOT = Path(__file__).resolve().parents[2]
EDGE = "The Edge-of-Reach Problem in Offline Model-Based Reinforcement Learning"
QUESTIONS = [
    EvalQuestion(
        id="edge",
        user_input="What goes wrong when model rollouts are truncated in offline RL?",
        reference_titles=(EDGE,),
        required_terms=("edge-of-reach", "rollouts"),
        type="single",
    ),
    EvalQuestion(
        id="vae",
        user_input="What is posterior collapse in variational autoencoders?",
        reference_titles=(
            "Beyond Vanilla Variational Autoencoders: Detecting Posterior Collapse in "
            "Conditional and Hierarchical Variational Autoencoders",
        ),
        type="single",
    ),
    EvalQuestion(id="bread", user_input="How do I bake sourdough bread?", type="unanswerable"),
]


@pytest.fixture(scope="module")
def run(seed_pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("eval") / "ours"
    report = evaluate(QUESTIONS, seed_pipeline, out=out, progress=False)
    write_report(report.summary, report.rows, out)
    return report, out


def test_every_question_gets_a_row_with_ragas_fields_and_metrics(run):
    report, out = run
    rows = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
    assert [r["id"] for r in rows] == ["edge", "vae", "bread"]
    edge = rows[0]
    for field in ("user_input", "response", "retrieved_contexts", "reference", "citations"):
        assert field in edge
    assert edge["retrieved_titles"][0] == EDGE
    assert (edge["recall@5"], edge["mrr"], edge["all_gold@5"]) == (1.0, 1.0, 1.0)
    assert edge["outcome"] == "correct"
    assert 0.0 <= edge["citation_recall"] <= 1.0
    assert rows[2]["abstained"] and rows[2]["outcome"] == "missing"
    assert "mrr" not in rows[2]


def test_summary_counts_types_and_abstention(run):
    report, out = run
    summary = json.loads((out / SUMMARY_FILE).read_text())
    assert summary["overall"]["questions"] == 3
    assert set(summary["by_type"]) == {"single", "unanswerable"}
    assert summary["overall"]["noans_accuracy"] == 1.0
    assert summary["overall"]["hasans_false_refusal_rate"] == 0.0
    assert summary["by_type"]["single"]["mrr"] == 1.0


def test_report_and_plots_are_written(run):
    _, out = run
    report = (out / "report.md").read_text()
    assert "## By question type" in report and "## Worst questions" in report
    for name in ("metric_by_type.png", "latency.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


def test_resume_answers_only_what_is_missing(seed_pipeline: Pipeline, tmp_path: Path):
    evaluate(QUESTIONS[:1], seed_pipeline, out=tmp_path, progress=False)
    answered: list[str] = []
    report = evaluate(
        QUESTIONS,
        seed_pipeline,
        out=tmp_path,
        resume=True,
        progress=False,
        on_row=lambda row: answered.append(row["id"]),
    )
    assert answered == ["vae", "bread"]
    assert [r["id"] for r in report.rows] == ["edge", "vae", "bread"]
    assert len((tmp_path / RESULTS_FILE).read_text().splitlines()) == 3


def test_results_load_into_ragas_and_score_offline(run):
    _, out = run
    # ragas 0.4.3 imports a module that langchain-community 0.4 removed (ragas issue #2745);
    # an empty stand-in lets it import. Nothing here calls a model.
    shim = types.ModuleType("langchain_community.chat_models.vertexai")
    shim.ChatVertexAI = type("ChatVertexAI", (), {})
    sys.modules.setdefault("langchain_community.chat_models.vertexai", shim)
    import langchain_community.llms

    langchain_community.llms.VertexAI = type("VertexAI", (), {})
    from ragas import EvaluationDataset
    from ragas.metrics import IDBasedContextRecall

    rows = [json.loads(line) for line in (out / RESULTS_FILE).read_text().splitlines()]
    dataset = EvaluationDataset.from_list(rows)
    assert len(dataset) == 3
    score = IDBasedContextRecall().single_turn_score(dataset.samples[0])
    assert score == 1.0


def test_compare_reports_deltas_and_a_paired_test(seed_pipeline: Pipeline, run, tmp_path: Path):
    _, ours = run
    evaluate(QUESTIONS, seed_pipeline, config="bm25", out=tmp_path / "bm25", progress=False)
    table = compare_runs(ours, tmp_path / "bm25")
    assert "p (paired t)" in table
    assert "| mrr | 2 |" in table


def test_a_report_folder_that_is_a_file_is_refused_before_any_question(tmp_path: Path):
    taken = tmp_path / "report.md"
    taken.write_text("an earlier report\n")
    # No pipeline is given: the folder is checked before one is built or a question asked.
    with pytest.raises(OptionError) as error:
        evaluate(QUESTIONS, out=taken, progress=False)
    assert str(error.value) == (
        f"the report folder {taken} is a file: give a folder for the report "
        "(it is created if missing)"
    )
    with pytest.raises(OptionError, match=f"is inside {taken}, which is a file"):
        evaluate(QUESTIONS, out=taken / "ours", progress=False)
    assert taken.read_text() == "an earlier report\n"


def test_comparing_a_folder_that_holds_no_run_names_the_folder(run, tmp_path: Path):
    _, ours = run
    missing, empty = tmp_path / "missing", tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputFileError, match=f"^{missing}: no such folder"):
        compare_runs(ours, missing)
    with pytest.raises(InputFileError, match=f"^{empty}: holds no summary.json"):
        compare_runs(empty, ours)
    with pytest.raises(InputFileError, match=f"holds runs in {ours.name}: compare those"):
        compare_runs(ours.parent, ours)


def test_cli_fail_under_guards_quality(tmp_path: Path, tiny_digest: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        '{"id": "t", "user_input": "How far ahead can tides be forecast?", '
        '"reference_titles": ["Tidal Forecasting with Graph Neural Networks"], "type": "single"}\n'
        "{broken\n"
    )
    env = cli_env(tiny_digest)
    base = [sys.executable, "-m", "rag", "--index", str(tmp_path / "index"), "eval", str(questions)]
    passed = subprocess.run(
        [*base, "--out", str(tmp_path / "a"), "--fail-under", "mrr=0.9", "single:recall@5=1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert passed.returncode == 0, passed.stderr
    assert "q.jsonl:2: not valid JSON" in passed.stderr
    failed = subprocess.run(
        [*base, "--out", str(tmp_path / "b"), "--fail-under", "mrr=1.01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert failed.returncode == 1
    assert "below threshold: mrr = 1.0 < 1.01" in failed.stderr


# Enough distinct questions (each a new query to encode) that the run is still going when
# interrupted: about 10 s of work against an interrupt after the third row.
QUEUED = 800


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_resume_completes(tmp_path: Path, tiny_digest: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "".join(
            f'{{"id": "q{i}", "user_input": "How far ahead can tides be forecast, take {i}?"}}\n'
            for i in range(QUEUED)
        )
    )
    env = cli_env(tiny_digest)
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "rag",
        "--index",
        str(tmp_path / "index"),
        "eval",
        str(questions),
        "--out",
        str(out),
    ]
    # A shell that starts jobs in the background (as CI may) hands them SIGINT ignored, and
    # Python then never raises KeyboardInterrupt: give the child the default, as a terminal does.
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    results = out / RESULTS_FILE
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and len(read_lines(results)) < 3:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    kept = read_lines(results)
    assert process.returncode == 130, stderr
    assert "rerun with --resume" in stderr
    assert 3 <= len(kept) < QUEUED
    resumed = subprocess.run(
        [*command, "--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    ids = [json.loads(line)["id"] for line in read_lines(results)]
    assert sorted(ids) == sorted(f"q{i}" for i in range(QUEUED))


def cli_env(digest: Path) -> dict[str, str]:
    """A clean environment for `python -m rag` over one digest, offline."""
    return {
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
        "PATH": "/usr/bin:/bin",
        "RAG_INDEX_DIGESTS": str(digest),
        "RAG_INDEX_PROGRESS": "false",
    }


def read_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_rows_record_the_answer_mode_and_a_fallback_note(seed_pipeline: Pipeline, tmp_path: Path):
    unreachable = seed_pipeline.settings.replace(
        llm={"mode": "openai", "base_url": "http://127.0.0.1:9/v1", "timeout": 5.0}
    )
    pipeline = Pipeline(unreachable, encoder=seed_pipeline.encoder)
    report = evaluate(QUESTIONS[:1], pipeline, out=tmp_path, progress=False)
    row = report.rows[0]
    assert row["answer_mode"] == "extractive"
    assert row["note"].startswith("The openai model could not answer")
    assert report.summary["overall"]["generated_share"] == 0.0
    assert row["retrieved_titles"][0] == EDGE


def test_resume_after_a_torn_last_line_keeps_every_row_whole(
    seed_pipeline: Pipeline, tmp_path: Path
):
    out = tmp_path / "torn"
    evaluate(QUESTIONS[:1], seed_pipeline, out=out, progress=False)
    results = out / RESULTS_FILE
    # A run killed mid-write leaves half a row without its newline.
    results.write_text(results.read_text() + '{"id": "vae", "user_in')
    evaluate(QUESTIONS, seed_pipeline, out=out, resume=True, progress=False)
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["edge", "vae", "bread"]


def test_cli_eval_with_two_workers_scores_every_question(tmp_path: Path, tiny_digest: Path):
    questions = tmp_path / "q.jsonl"
    questions.write_text(
        "".join(
            f'{{"id": "t{i}", "user_input": "How far ahead can tides be forecast ({i})?", '
            '"reference_titles": ["Tidal Forecasting with Graph Neural Networks"]}\n'
            for i in range(12)
        )
    )
    out = tmp_path / "w2"
    command = [sys.executable, "-m", "rag", "--index", str(tmp_path / "index"), "eval"]
    done = subprocess.run(
        [*command, str(questions), "--out", str(out), "--workers", "2"],
        cwd=ROOT,
        env=cli_env(tiny_digest),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in read_lines(out / RESULTS_FILE)]
    assert sorted(r["id"] for r in rows) == sorted(f"t{i}" for i in range(12))
    assert all(r["recall@5"] == 1.0 for r in rows)


PARROT = (
    "Parrot: Persuasion and Agreement Robustness Rating of Output Truth -- "
    "A Sycophancy Robustness Benchmark for LLMs"
)


def test_a_conversation_is_asked_turn_by_turn_with_the_pipeline_s_own_answers(
    seed_pipeline: Pipeline, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    path = tmp_path / "conversations.jsonl"
    turns = [
        {"user_input": "Is there a benchmark for sycophancy?", "reference_titles": [PARROT]},
        {"user_input": "Which models held up best?", "reference_titles": [PARROT]},
        {"user_input": "How do I bake sourdough bread?", "type": "unanswerable"},
    ]
    path.write_text(json.dumps({"id": "c1", "turns": turns}) + "\n", encoding="utf-8")
    questions, problems = load_questions(path)
    assert not problems
    assert [(q.id, q.conversation, q.turn) for q in questions] == [
        ("c1.1", "c1", 1),
        ("c1.2", "c1", 2),
        ("c1.3", "c1", 3),
    ]
    asked: list[tuple[str, list]] = []
    answers: list = []
    ask = seed_pipeline.ask

    def recording(question: str, history=None):
        asked.append((question, list(history or [])))
        answers.append(ask(question, history=history))
        return answers[-1]

    monkeypatch.setattr(seed_pipeline, "ask", recording)
    report = evaluate(questions, seed_pipeline, progress=False)
    turns_asked = [(q, h) for q, h in asked if q != "What is this digest about?"]
    assert turns_asked[0][1] == []
    # The second turn's history is the first turn and the pipeline's own answer, references
    # included, as the app keeps it.
    assert turns_asked[1][1] == [
        {"role": "user", "content": "Is there a benchmark for sycophancy?"},
        answers[1].as_message(),
    ]
    assert len(turns_asked[2][1]) == 4
    rows = {r["id"]: r for r in report.rows}
    assert rows["c1.2"]["turn"] == 2 and rows["c1.2"]["conversation"] == "c1"
    assert rows["c1.3"]["right"] == 1.0  # refused inside the conversation
    assert report.summary["overall"]["later_turn_right"] == 1.0


def test_a_conversation_cut_off_halfway_is_asked_again_from_its_first_turn(
    tiny_pipeline: Pipeline, tmp_path: Path
):
    questions = [
        EvalQuestion(id=f"c.{n}", user_input=q, conversation="c", turn=n)
        for n, q in enumerate(["How do tides get forecast?", "How many stations?"], 1)
    ]
    out = tmp_path / "run"
    evaluate(questions, tiny_pipeline, out=out, progress=False)
    results = out / RESULTS_FILE
    first = results.read_text().splitlines()[0]
    results.write_text(first + "\n")  # the run stopped after the first turn
    report = evaluate(questions, tiny_pipeline, out=out, resume=True, progress=False)
    assert [r["id"] for r in report.rows] == ["c.1", "c.2"]
    assert len(results.read_text().splitlines()) == 2


def test_a_conversation_line_with_a_bad_turn_is_reported_with_the_turn(tmp_path: Path):
    path = tmp_path / "bad.jsonl"
    bad = {"id": "c", "turns": [{"user_input": "Fine?"}, {"user_input": ""}]}
    path.write_text(json.dumps(bad) + "\n" + json.dumps({"id": "d", "turns": []}) + "\n")
    questions, problems = load_questions(path)
    assert questions == []
    assert [p.line for p in problems] == [1, 2]
    assert "turn 2: 'user_input' is required" in problems[0].reason
    assert "'turns' must be a non-empty list" in problems[1].reason
