"""The digest at a glance: a 2-D map of the paper embeddings with labelled topic clusters.

Design: papers are clustered in the full embedding space (k-means on the normalised
vectors, cosine geometry) and only then projected to 2-D with PCA, so a cluster is a real
neighbourhood of meaning rather than an artefact of the projection. Each cluster is named by
its top terms: words frequent in its papers' titles and abstracts but rare across the digest
(a TF-IDF over clusters). `render_svg` draws the map as inline SVG, its titles escaped as
all digest text is (`rag.ui.format.escape`: neither HTML nor Markdown), so the app needs no
plotting library and nothing from the internet.

Concessions: PCA keeps the two directions of largest variance only, so clusters can overlap
on the map although they are separate in 384 dimensions; the number of clusters follows the
digest's size (about one per nine papers, 2 to 8) instead of a fitted criterion; k-means is
seeded (k-means++ with a fixed seed), so the map is the same on every start.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rag.answer.support import content_words
from rag.records import Paper
from rag.ui.format import escape

PAPERS_PER_CLUSTER = 9
MAX_CLUSTERS = 8
TERMS_PER_LABEL = 3
KMEANS_ROUNDS = 50
SEED = 0
# Words every abstract uses; they would name every cluster.
GENERIC_TERMS = frozenset(
    "model method approach result show propose proposed based new performance task data "
    "learning training framework existing also however while both across large language "
    "llm llms experiment demonstrate significant significantly improve improves improved "
    "state art achieve achieves various novel present introduce first two one three".split()
)
# Colour-blind-safe palette (Okabe-Ito), one colour per cluster.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True)
class MapPoint:
    paper_id: str
    title: str
    x: float  # in [0, 1]
    y: float  # in [0, 1]
    cluster: int


@dataclass(frozen=True)
class Cluster:
    number: int
    terms: tuple[str, ...]
    size: int

    @property
    def label(self) -> str:
        return " · ".join(self.terms)


@dataclass(frozen=True)
class Atlas:
    points: tuple[MapPoint, ...]
    clusters: tuple[Cluster, ...]


def cluster_count(n_papers: int) -> int:
    return max(2, min(MAX_CLUSTERS, round(n_papers / PAPERS_PER_CLUSTER))) if n_papers > 2 else 1


def kmeans(vectors: np.ndarray, k: int, seed: int = SEED) -> np.ndarray:
    """Cluster number of each row: k-means++ seeding, then Lloyd rounds until stable."""
    rng = np.random.default_rng(seed)
    centres = [vectors[rng.integers(len(vectors))]]
    while len(centres) < k:
        distance = np.min([((vectors - c) ** 2).sum(axis=1) for c in centres], axis=0)
        total = distance.sum()
        pick = rng.choice(len(vectors), p=distance / total) if total > 0 else len(centres)
        centres.append(vectors[pick])
    centre = np.array(centres)
    labels = np.full(len(vectors), -1)
    for _ in range(KMEANS_ROUNDS):
        new = ((vectors[:, None, :] - centre[None, :, :]) ** 2).sum(axis=2).argmin(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
        for j in range(k):
            if (labels == j).any():
                centre[j] = vectors[labels == j].mean(axis=0)
    return labels


def project(vectors: np.ndarray) -> np.ndarray:
    """The rows on their first two principal components, scaled into the unit square."""
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    flat = centred @ components[:2].T
    if flat.shape[1] < 2:
        flat = np.column_stack([flat, np.zeros(len(flat))])
    low, high = flat.min(axis=0), flat.max(axis=0)
    span = np.where(high - low > 0, high - low, 1.0)
    return (flat - low) / span


def top_terms(papers: Sequence[Paper], labels: Sequence[int], count: int) -> list[list[str]]:
    """For each cluster, the terms most particular to it (term frequency x inverse cluster
    frequency); a title word counts twice, since titles name what a paper is about."""
    k = max(labels) + 1 if len(labels) else 0
    counts = [Counter[str]() for _ in range(k)]
    for paper, label in zip(papers, labels, strict=True):
        words = [w for w in content_words(paper.abstract) if w not in GENERIC_TERMS]
        title = [w for w in content_words(paper.title) if w not in GENERIC_TERMS]
        counts[label].update(words + title * 2)
    spread = Counter(term for c in counts for term in c)
    named = []
    for c in counts:
        scored = sorted(c, key=lambda t: (-c[t] * math.log((k + 1) / spread[t]), t))
        named.append(scored[:count])
    return named


def build_atlas(papers: Sequence[Paper], vectors: np.ndarray) -> Atlas:
    """Map and clusters for papers and their (normalised) embeddings, row for row."""
    if not papers:
        return Atlas((), ())
    k = min(cluster_count(len(papers)), len(papers))
    labels = kmeans(vectors, k) if k > 1 else np.zeros(len(papers), dtype=int)
    xy = project(vectors) if len(papers) > 1 else np.full((1, 2), 0.5)
    terms = top_terms(papers, [int(x) for x in labels], TERMS_PER_LABEL)
    points = tuple(
        MapPoint(p.paper_id, p.title, float(x), float(y), int(label))
        for p, (x, y), label in zip(papers, xy, labels, strict=True)
    )
    clusters = tuple(
        Cluster(j, tuple(terms[j]), int((labels == j).sum())) for j in range(len(terms))
    )
    return Atlas(points, clusters)


WIDTH, HEIGHT, MARGIN = 760, 480, 40


def _at(point: MapPoint) -> tuple[float, float]:
    return (
        MARGIN + point.x * (WIDTH - 2 * MARGIN),
        MARGIN + (1 - point.y) * (HEIGHT - 2 * MARGIN),
    )


def render_svg(atlas: Atlas) -> str:
    """The map as inline SVG: one circle per paper (its title as tooltip), cluster labels at
    their centres, and a legend; every title and term is escaped."""
    circles, labels = [], []
    for point in atlas.points:
        x, y = _at(point)
        colour = PALETTE[point.cluster % len(PALETTE)]
        title = escape(point.title)
        circles.append(
            f'<circle class="map-point" cx="{x:.1f}" cy="{y:.1f}" r="7" fill="{colour}" '
            f'data-paper="{escape(point.paper_id)}" tabindex="0"><title>{title}</title>'
            "</circle>"
        )
    for cluster in atlas.clusters:
        members = [p for p in atlas.points if p.cluster == cluster.number]
        x = sum(_at(p)[0] for p in members) / len(members)
        y = min(_at(p)[1] for p in members) - 12
        labels.append(
            f'<text class="map-label" x="{x:.1f}" y="{max(y, 14):.1f}" text-anchor="middle">'
            f"{escape(cluster.label)}</text>"
        )
    legend = "".join(
        f'<li><span class="swatch" style="background:{PALETTE[c.number % len(PALETTE)]}">'
        f"</span>{escape(c.label)} ({c.size} papers)</li>"
        for c in atlas.clusters
    )
    return (
        f'<svg class="paper-map" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="Map of the digest\'s papers">{"".join(circles)}{"".join(labels)}</svg>'
        f'<ul class="map-legend">{legend}</ul>'
    )
