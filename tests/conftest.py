"""Shared fixtures: the real encoder (loaded once), a tiny digest, and a seed index."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from rag import Pipeline  # noqa: E402
from rag.config import bundled_digests  # noqa: E402
from rag.ingest.embedding import Encoder  # noqa: E402

DATA = Path(__file__).parent / "data"
SEED = Path(__file__).resolve().parent.parent / "seeds" / "daily_papers.txt"
TODAY = dt.date(2026, 11, 29)


def abstract(topic: str) -> str:
    """A paragraph long enough to read as an abstract."""
    return (
        f"We study {topic} in deep networks trained for classification and show that the "
        "features of each class collapse to their mean, which explains generalisation and "
        "robustness in a simple and testable way."
    )


TINY_DIGEST = """Daily Papers

Dec 10

Sparse Lattice Sorting for Quantum Annealers

We introduce a sorting algorithm for quantum annealers that encodes keys on a sparse lattice. The lattice encoding halves the number of qubits needed compared with dense encodings. On simulated hardware the method sorts 64 keys with 98 percent success.

  • 3 authors
·
Oct 29, 2022

Tidal Forecasting with Graph Neural Networks

Coastal tide gauges form a natural graph along a shoreline. We train a graph neural network that forecasts tides twelve hours ahead from neighbouring gauges. The model lowers forecast error by a third relative to harmonic analysis at forty stations.

  • 5 authors
·
May 27, 2024 3

Soil Microbes Respond to Drought Within Days

Field plots were droughted for six weeks while soil microbial communities were sequenced every two days. Microbial respiration fell within four days of drought onset. Communities recovered fully within a month after rewetting.

examplelab Example Lab
·
Nov 21 4
"""


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder()


@pytest.fixture
def tiny_digest(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.txt"
    path.write_text(TINY_DIGEST, encoding="utf-8")
    return path


@pytest.fixture
def tiny_pipeline(tmp_path: Path, tiny_digest: Path, encoder: Encoder) -> Pipeline:
    settings = {"index": {"path": tmp_path / "index", "digests": (tiny_digest,), "progress": False}}
    return Pipeline(settings, encoder=encoder)


@pytest.fixture(scope="session")
def seed_pipeline(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> Pipeline:
    """A pipeline over the bundled digest, indexed once for the whole session."""
    index = tmp_path_factory.mktemp("seed-index")
    settings = {"index": {"path": index, "digests": bundled_digests(), "progress": False}}
    pipeline = Pipeline(settings, encoder=encoder)
    pipeline.ensure_index()
    return pipeline
