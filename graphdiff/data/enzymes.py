"""ENZYMES (TU Dortmund; the GDSS pickle): 587 protein graphs, 10-125 nodes."""

from __future__ import annotations

import os

from ._graphs import GDSS_CITATION, GDSS_SPLIT_RULE, gdss_file, load_gdss
from .dataset import GraphDataset
from .registry import DatasetCard

CARD = DatasetCard(
    name="enzymes",
    kind="graphs",
    description="587 protein tertiary-structure graphs from the TU Dortmund ENZYMES collection, 10-125 nodes "
                "(mean 33.0), 562 connected, as pickled by GDSS (GraphRNN-style selection).",
    files=(gdss_file("ENZYMES", "d1fb37bd6322be1e7ee5e324672003b2b24b9b2e496d047a42e8f5a404cde110", 2940066),),
    splits={"train": 470, "test": 117},
    split_rule=GDSS_SPLIT_RULE,
    citation=f"{GDSS_CITATION} Borgwardt et al., Protein function prediction via graph kernels, Bioinformatics 2005; "
             "Schomburg et al., BRENDA, Nucleic Acids Research 2004.",
    licence="TU Dortmund graph-kernel benchmark collection (academic use); no licence file in the GDSS repository",
    notes="The pickle holds frozen subgraph views with numpy.int64 node ids (1-based TU ids) and a `label` node "
          "attribute (1..3). They are copied into plain graphs with nodes 0..n-1; node attributes are dropped "
          "unless `node_attributes=True`. `g.graph['label']` in the pickle is the parent graph's dict (always 4), "
          "not the enzyme class.",
    options={"node_attributes": "keep the TU node label as node attribute `label` (default False)"},
)


def load(root: str | os.PathLike | None = None, *, download: bool = True, node_attributes: bool = False) -> GraphDataset:
    """The GDSS ENZYMES graphs with the GDSS split (train 470, test 117)."""
    return load_gdss(CARD, root, download, node_attributes=node_attributes)
