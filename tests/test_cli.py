"""The command line, run as a user runs it: a subprocess with exit codes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from rag.cli import build_parser, llm_overrides

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rag", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "PATH": "/usr/bin:/bin"},
    )


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
