"""The two dataset containers every loader returns: plain Python objects, no framework.

* :class:`GraphDataset`: ``.train`` / ``.val`` / ``.test`` lists of ``networkx.Graph`` (nodes
  ``0..n-1``), ``.to_state(split)`` -> :class:`~graphdiff.states.GraphState`,
  ``.node_count_distribution(split)``.
* :class:`MoleculeDataset`: SMILES per split (``.smiles(split)``), encoded on demand with
  ``.to_state(split, max_atoms=...)`` (nothing is converted at load time).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import networkx as nx
import numpy as np

from ..errors import unknown_name
from ..states import GraphState, NodeCountDistribution

__all__ = ["GraphDataset", "MoleculeDataset"]


class GraphDataset:
    """Named splits of networkx graphs.

    Args:
        name: dataset name.
        splits: split name -> list of ``networkx.Graph`` (e.g. ``{"train": [...], "test": [...]}``).
        card: the :class:`~graphdiff.data.registry.DatasetCard`, when registered.
    """

    def __init__(self, name: str, splits: dict[str, list[nx.Graph]], card: Any = None):
        self.name = name
        self._splits = {k: list(v) for k, v in splits.items()}
        self.card = card

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self._splits)

    def split(self, name: str) -> list[nx.Graph]:
        """The graphs of split ``name`` (``ValueError`` listing the splits if unknown)."""
        if name not in self._splits:
            raise unknown_name(f"split of {self.name}", name, list(self._splits))
        return self._splits[name]

    @property
    def train(self) -> list[nx.Graph]:
        return self._splits.get("train", [])

    @property
    def val(self) -> list[nx.Graph]:
        return self._splits.get("val", [])

    @property
    def test(self) -> list[nx.Graph]:
        return self._splits.get("test", [])

    def counts(self) -> dict[str, int]:
        """Number of graphs per split."""
        return {k: len(v) for k, v in self._splits.items()}

    def __len__(self) -> int:
        return sum(self.counts().values())

    def __getitem__(self, key: str | int | slice) -> Any:
        """``ds["train"]``: a split (list of graphs); ``ds[i]`` / ``ds[a:b]``: graphs of all splits in
        order (the ``len(ds)`` items)."""
        return _index_splits(self._splits, key, "graph")

    @property
    def max_nodes(self) -> int:
        """Largest graph over all splits."""
        return max((g.number_of_nodes() for v in self._splits.values() for g in v), default=0)

    def to_state(self, split: str = "train", max_nodes: int | None = None) -> GraphState:
        """Split as a :class:`GraphState`: ``X`` ``(B, N, 0)`` (or node attribute ``"x"`` when every
        node has one), ``A`` ``(B, N, N)`` 0/1 float, ``node_mask`` ``(B, N)``; ``N = max_nodes`` or the
        largest graph of the split."""
        return GraphState.from_networkx(self.split(split), max_nodes=max_nodes)

    def node_count_distribution(self, split: str = "train") -> NodeCountDistribution:
        """Empirical distribution of node counts of ``split`` (GDSS draws sizes from the training graphs)."""
        return NodeCountDistribution.fit(self.split(split))

    def __repr__(self) -> str:
        c = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"GraphDataset({self.name!r}, {c}, max_nodes={self.max_nodes})"


class MoleculeDataset:
    """Named splits of SMILES with an atom vocabulary.

    Args:
        name: dataset name.
        smiles: split name -> list of SMILES.
        vocabulary: :class:`~graphdiff.data.molecules.AtomVocabulary` used by :meth:`to_state`.
        max_atoms: the dataset's maximum heavy-atom count (QM9 9, ZINC250k 38), the default padding.
        card: the :class:`~graphdiff.data.registry.DatasetCard`, when registered.
    """

    def __init__(self, name: str, smiles: dict[str, Sequence[str]], vocabulary: Any, max_atoms: int | None = None, card: Any = None):
        self.name = name
        self._smiles = {k: list(v) for k, v in smiles.items()}
        self.vocabulary = vocabulary
        self.max_atoms = max_atoms
        self.card = card
        self._sizes: dict[str, list[int]] = {}

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self._smiles)

    def smiles(self, split: str = "train") -> list[str]:
        """The SMILES of ``split`` as stored (not canonicalized)."""
        if split not in self._smiles:
            raise unknown_name(f"split of {self.name}", split, list(self._smiles))
        return self._smiles[split]

    split = smiles

    @property
    def train(self) -> list[str]:
        return self._smiles.get("train", [])

    @property
    def val(self) -> list[str]:
        return self._smiles.get("val", [])

    @property
    def test(self) -> list[str]:
        return self._smiles.get("test", [])

    def counts(self) -> dict[str, int]:
        return {k: len(v) for k, v in self._smiles.items()}

    def __len__(self) -> int:
        return sum(self.counts().values())

    def __getitem__(self, key: str | int | slice) -> Any:
        """``ds["train"]``: a split (list of SMILES); ``ds[i]`` / ``ds[a:b]``: SMILES of all splits in
        order (the ``len(ds)`` items)."""
        return _index_splits(self._smiles, key, "molecule")

    def encode(
        self,
        split: str = "train",
        *,
        max_atoms: int | None = None,
        indices: Sequence[int] | None = None,
        on_invalid: str = "skip",
        on_unknown: str = "raise",
        on_too_large: str = "raise",
    ):
        """Encode (part of) a split: :class:`~graphdiff.data.molecules.EncodedMolecules` with the
        state and the skip counts. ``max_atoms`` defaults to the dataset's. Memory: ``A`` is
        ``B * N * N`` int64 (all of ZINC250k train would need 2.6 GB: pass ``indices`` for batches)."""
        from .molecules import smiles_to_state

        smi = self.smiles(split)
        if indices is not None:
            smi = [smi[i] for i in indices]
        return smiles_to_state(smi, self.vocabulary, max_atoms=max_atoms if max_atoms is not None else self.max_atoms,
                               on_invalid=on_invalid, on_unknown=on_unknown, on_too_large=on_too_large)

    def to_state(self, split: str = "train", *, max_atoms: int | None = None, indices: Sequence[int] | None = None, **options: str) -> GraphState:
        """Encoded split as a :class:`GraphState`: ``X`` ``(B, N)`` atom ids, ``A`` ``(B, N, N)`` bond
        classes (see :meth:`encode` for the options and the skip counts)."""
        return self.encode(split, max_atoms=max_atoms, indices=indices, **options).state

    def batches(self, split: str = "train", batch_size: int = 1024, *, max_atoms: int | None = None, **options: str) -> Iterator[GraphState]:
        """Encode ``split`` lazily, ``batch_size`` molecules at a time (rows in stored order), each a
        :class:`GraphState` padded to ``max_atoms`` (default: the dataset's); see :meth:`encode`."""
        n = len(self.smiles(split))
        for start in range(0, n, batch_size):
            yield self.to_state(split, max_atoms=max_atoms, indices=range(start, min(start + batch_size, n)), **options)

    def num_atoms(self, split: str = "train") -> list[int]:
        """Heavy-atom count of every parsable molecule of ``split`` (computed once, cached)."""
        if split not in self._sizes:
            from .._optional import require
            from .molecules._rdkit import mol_from_smiles as _mol_from_smiles

            Chem = require("rdkit.Chem")
            sizes = []
            for s in self.smiles(split):
                m = _mol_from_smiles(Chem, s)
                if m is not None:
                    sizes.append(m.GetNumHeavyAtoms())
            self._sizes[split] = sizes
        return self._sizes[split]

    def node_count_distribution(self, split: str = "train") -> NodeCountDistribution:
        """Distribution of heavy-atom counts of ``split`` (parses every SMILES once)."""
        return NodeCountDistribution.fit(self.num_atoms(split))

    def __repr__(self) -> str:
        c = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"MoleculeDataset({self.name!r}, {c}, vocabulary={list(self.vocabulary.tokens)}, max_atoms={self.max_atoms})"


def _index_splits(splits: dict[str, list], key: Any, what: str) -> Any:
    """``key`` a split name -> that split; an int or slice -> into the splits concatenated in order."""
    if isinstance(key, str):
        if key not in splits:
            raise KeyError(f"no split {key!r}; valid splits: {', '.join(splits)}")
        return splits[key]
    items = [x for v in splits.values() for x in v]
    if isinstance(key, slice):
        return items[key]
    if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
        raise TypeError(f"index a dataset with a split name, an int or a slice, not {type(key).__name__}")
    if not -len(items) <= int(key) < len(items):
        raise IndexError(f"{what} {key} out of range for a dataset of {len(items)}")
    return items[int(key)]
