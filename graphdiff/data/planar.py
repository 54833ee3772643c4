"""Planar (SPECTRE ``planar_64_200``, as stored by ESGG): 200 Delaunay-triangulation graphs of 64 nodes."""

from __future__ import annotations

import os

from ._graphs import ESGG_CITATION, ESGG_SPLIT_RULE, SPECTRE_CITATION, esgg_file, load_esgg
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="planar",
    kind="graphs",
    description="200 planar graphs with 64 nodes (Delaunay triangulations of random points in the unit square), "
                "mean 177.8 edges, all planar and connected.",
    files=(esgg_file("planar", "dc93ab083684935266b54d2f8362b0903363dd394d9100e8fd114f1b1216148d", 666472),),
    splits={"train": 128, "val": 32, "test": 40},
    split_rule=ESGG_SPLIT_RULE,
    citation=f"{SPECTRE_CITATION} {ESGG_CITATION}",
    licence="MIT (ESGG repository; graphs from SPECTRE, MIT)",
    notes="Edge attribute `weight=True` of the pickle is dropped.",
)


def load(root: str | os.PathLike | None = None, *, download: bool = True) -> GraphDataset:
    """SPECTRE planar graphs with the stored SPECTRE split (128 / 32 / 40)."""
    return load_esgg(CARD, root, download)
