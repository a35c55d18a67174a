"""The digest map: clusters found in embedding space, named by their particular terms."""

from __future__ import annotations

import numpy as np

from rag import Pipeline
from rag.ingest.chunking import embed_text
from rag.records import Paper
from rag.ui.atlas import build_atlas, cluster_count, kmeans, project, render_svg
from rag.ui.format import escape


def test_kmeans_separates_two_obvious_groups_the_same_way_every_time() -> None:
    rng = np.random.default_rng(1)
    near_a = rng.normal(0, 0.01, (6, 4)) + [1, 0, 0, 0]
    near_b = rng.normal(0, 0.01, (5, 4)) + [0, 1, 0, 0]
    labels = kmeans(np.vstack([near_a, near_b]), 2)

    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1
    assert labels[0] != labels[6]
    assert np.array_equal(labels, kmeans(np.vstack([near_a, near_b]), 2))


def test_projection_fills_the_unit_square() -> None:
    flat = project(np.random.default_rng(2).normal(size=(10, 8)))

    assert flat.shape == (10, 2)
    assert np.allclose(flat.min(axis=0), 0) and np.allclose(flat.max(axis=0), 1)


def test_cluster_count_grows_with_the_digest() -> None:
    assert [cluster_count(n) for n in (1, 3, 18, 44, 500)] == [1, 2, 2, 5, 8]


def test_clusters_of_the_tiny_digest_are_named_by_their_own_words(
    tiny_pipeline: Pipeline,
) -> None:
    papers = list(tiny_pipeline.papers.values())
    vectors = tiny_pipeline.encoder.encode([embed_text(p.title, p.abstract) for p in papers])
    atlas = build_atlas(papers, vectors)

    assert len(atlas.points) == 3 and len(atlas.clusters) == 2
    assert sum(c.size for c in atlas.clusters) == 3
    by_title = {p.title: p.cluster for p in atlas.points}
    for cluster in atlas.clusters:
        members = [p for p in papers if by_title[p.title] == cluster.number]
        words = " ".join(f"{p.title} {p.abstract}".lower() for p in members)
        assert cluster.terms and all(term in words for term in cluster.terms)


def test_map_svg_escapes_titles_and_marks_each_paper_clickable() -> None:
    papers = [
        Paper("p1", "A <img src=x onerror=alert(1)> map", "Maps of meaning."),
        Paper("p2", "Tides", "Tide gauges forecast tides."),
        Paper("p3", "Soil", "Soil microbes in drought."),
    ]
    vectors = np.eye(3, dtype=np.float32)
    svg = render_svg(build_atlas(papers, vectors))

    assert "<img" not in svg and escape("A <img src=x onerror=alert(1)> map") in svg
    assert svg.count('class="map-point"') == 3
    assert 'data-paper="p2"' in svg
