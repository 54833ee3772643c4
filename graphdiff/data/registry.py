"""Dataset cards and the registry behind :func:`load` and :func:`list_datasets`.

Each dataset is one module in ``graphdiff/data/`` that defines ``CARD`` (a :class:`DatasetCard`) and
``load(root=None, *, download=True, **options)``. Registering a new dataset means adding that module
and one ``DATASETS.register(name, module)`` line below. The markdown cards in ``datasets/`` are rendered from these
cards by :func:`render_card_markdown` (a test checks that they agree).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from typing import Any

from ..registry import Registry
from .files import DataFile

__all__ = ["DATASETS", "DatasetCard", "get_card", "list_datasets", "load", "dataset_names", "render_card_markdown", "write_card_markdown"]


@dataclass(frozen=True)
class DatasetCard:
    """What a dataset is and where it comes from.

    Attributes:
        name: registry name, e.g. ``"qm9"``.
        kind: ``"molecules"`` or ``"graphs"``.
        description: one paragraph.
        files: the files read from the data root (empty for generated datasets).
        splits: number of items per split, e.g. ``{"train": 120803, "test": 13082}``.
        split_rule: how the splits are defined, in words.
        citation: the papers to cite.
        licence: licence of the data as far as known.
        notes: further facts (deviations from the reference files, caveats).
    """

    name: str
    kind: str
    description: str
    files: tuple[DataFile, ...]
    splits: dict[str, int]
    split_rule: str
    citation: str
    licence: str
    notes: str = ""
    options: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.splits.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "description": self.description,
            "files": [f.to_dict() for f in self.files], "splits": dict(self.splits), "total": self.total,
            "split_rule": self.split_rule, "citation": self.citation, "licence": self.licence,
            "notes": self.notes, "options": dict(self.options),
        }


#: dataset name -> the module implementing it (imported on first use)
DATASETS: Registry[str] = Registry("dataset")
DATASETS.register("qm9", "graphdiff.data.qm9")
DATASETS.register("zinc250k", "graphdiff.data.zinc250k")
DATASETS.register("moses", "graphdiff.data.moses")
DATASETS.register("community_small", "graphdiff.data.community_small")
DATASETS.register("ego_small", "graphdiff.data.ego_small")
DATASETS.register("enzymes", "graphdiff.data.enzymes")
DATASETS.register("grid", "graphdiff.data.grid")
DATASETS.register("planar", "graphdiff.data.planar")
DATASETS.register("sbm", "graphdiff.data.sbm")
DATASETS.register("tree", "graphdiff.data.tree")
DATASETS.register("synthetic_grid", "graphdiff.data.synthetic")
DATASETS.register("synthetic_planar", "graphdiff.data.synthetic")
DATASETS.register("synthetic_sbm", "graphdiff.data.synthetic")
DATASETS.register("synthetic_community", "graphdiff.data.synthetic")
DATASETS.register("synthetic_community_classes", "graphdiff.data.synthetic")


def dataset_names() -> list[str]:
    """All registered dataset names."""
    return list(DATASETS)


def _module(name: str):
    key = DATASETS.canonical(name.lower() if isinstance(name, str) else name)
    return key, importlib.import_module(DATASETS[key])


def get_card(name: str) -> DatasetCard:
    """The :class:`DatasetCard` of a registered dataset (``ValueError`` listing valid names if unknown)."""
    key, mod = _module(name)
    cards = getattr(mod, "CARDS", None)
    return cards[key] if cards is not None else mod.CARD


def list_datasets() -> list[dict[str, Any]]:
    """One dict per dataset: name, kind, counts per split, total, split rule, files (for ``graphdiff datasets``)."""
    return [get_card(n).to_dict() for n in DATASETS]


def load(name: str, root: str | os.PathLike | None = None, split: str | None = None, *, download: bool = True, **options: Any):
    """Load a registered dataset.

    Args:
        name: a name from :func:`dataset_names` (case-insensitive).
        root: data root (default ``$GRAPHDIFF_DATA``, else ``~/.cache/graphdiff``).
        split: when given, return only that split (a list of networkx graphs for graph datasets, a
            list of SMILES for molecule datasets); otherwise the dataset object
            (:class:`~graphdiff.data.dataset.GraphDataset` or :class:`~graphdiff.data.dataset.MoleculeDataset`).
        download: allow downloading missing files from the card's URL.
        **options: dataset-specific keyword options (e.g. ``n_graphs``, ``seed`` for synthetic sets,
            ``node_attributes`` for ENZYMES).
    """
    key, mod = _module(name)
    if key.startswith("synthetic_"):
        ds = mod.load(key, **options)
    else:
        ds = mod.load(root, download=download, **options)
    return ds if split is None else ds.split(split)


def render_card_markdown(card: DatasetCard) -> str:
    """The markdown text of ``datasets/<name>.md`` for ``card``."""
    lines = [f"# {card.name}", "", card.description, "", f"- kind: {card.kind}",
             f"- total: {card.total:,}", "- splits: " + ", ".join(f"{k} {v:,}" for k, v in card.splits.items()),
             f"- split rule: {card.split_rule}", f"- licence: {card.licence}", f"- citation: {card.citation}"]
    if card.options:
        lines.append("- options: " + "; ".join(f"`{k}`: {v}" for k, v in card.options.items()))
    lines += ["", "## Files", ""]
    if not card.files:
        lines.append("None: the graphs are generated by `graphdiff.data.synthetic` from a seed.")
    else:
        lines += ["| path (under the data root) | sha256 | bytes | URL | origin |", "|---|---|---|---|---|"]
        for f in card.files:
            url = f.url or "none known"
            if f.url and f.url_serves == "content":
                url += f" (serves the uncompressed content, sha256 `{f.content_sha256}`; gzipped locally)"
            size = f"{f.size:,}" if f.size is not None else "?"
            lines.append(f"| `{f.path}` | `{f.sha256}` | {size} | {url} | {f.origin} |")
    if card.notes:
        lines += ["", "## Notes", "", card.notes]
    lines += ["", "_Generated from `graphdiff.data.get_card(" + repr(card.name) + ")` by "
              "`python -m graphdiff.data write-cards`; a test checks that this file and the code agree._", ""]
    return "\n".join(lines)


def write_card_markdown(folder: str | os.PathLike = "datasets") -> list[str]:
    """Write ``<folder>/<name>.md`` for every registered dataset; returns the paths written."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for n in DATASETS:
        path = os.path.join(folder, f"{n}.md")
        with open(path, "w") as fh:
            fh.write(render_card_markdown(get_card(n)))
        paths.append(path)
    return paths
