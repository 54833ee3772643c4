"""Datasets (one module each), RDKit <-> graph conversion and custom-data helpers.

>>> from graphdiff.data import load, list_datasets
>>> qm9 = load("qm9")                       # MoleculeDataset: .smiles("train"), .to_state("test")
>>> planar = load("planar")                 # GraphDataset: .train / .val / .test networkx graphs
>>> load("synthetic_sbm", n_graphs=50, seed=1)

Files are read from ``root=`` / ``$GRAPHDIFF_DATA`` / ``~/.cache/graphdiff`` (see :mod:`graphdiff.data.files`),
verified by sha256, and downloaded when missing and a URL is known. RDKit is imported only by the
molecule features.
"""

from __future__ import annotations

from .custom import from_networkx, from_pyg, from_smiles, from_smiles_file, read_smiles_file
from .dataset import GraphDataset, MoleculeDataset
from .files import DataFile, data_root, fetch
from .molecules import (
    AtomVocabulary,
    DecodedMolecule,
    DecodeReport,
    EncodedMolecules,
    MolGraph,
    continuous_to_state,
    decode_molecules,
    graph_to_mol,
    mol_to_graph,
    quantize_bonds,
    smiles_to_graph,
    smiles_to_state,
)
from .registry import DatasetCard, dataset_names, get_card, list_datasets, load
from .synthetic import community_class_graphs, community_graphs, grid_graphs, planar_graphs, sbm_graphs
from .transforms import NODE_FEATURES, GraphEncoding, to_categorical

__all__ = [
    "load", "list_datasets", "get_card", "dataset_names", "DatasetCard", "DataFile", "data_root", "fetch",
    "GraphDataset", "MoleculeDataset", "from_smiles_file", "from_smiles", "read_smiles_file", "from_networkx", "from_pyg",
    "AtomVocabulary", "MolGraph", "EncodedMolecules", "DecodedMolecule", "DecodeReport", "mol_to_graph",
    "smiles_to_graph", "smiles_to_state", "graph_to_mol", "decode_molecules", "quantize_bonds",
    "continuous_to_state", "GraphEncoding", "NODE_FEATURES", "to_categorical", "grid_graphs", "planar_graphs", "sbm_graphs", "community_graphs",
    "community_class_graphs",
]
