"""The command line, run as a user runs it: a subprocess with exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
