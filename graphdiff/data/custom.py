"""Custom data in one line: a SMILES file, a list of networkx graphs, or a PyG dataset.

>>> ds = from_smiles_file("my_molecules.csv")            # smiles column auto-detected
>>> ds = from_networkx(graphs, test_fraction=0.2)
>>> ds = from_pyg(torch_geometric.datasets.TUDataset(root, "MUTAG"))
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import warnings
import zlib
from pathlib import Path
from typing import Any, Iterable, Sequence

import networkx as nx
import numpy as np

from ..errors import InvalidGraphError
from ..states import is_pyg_data, pyg_to_networkx
from ._graphs import clean_graph
from .dataset import GraphDataset, MoleculeDataset
from .synthetic import split_graphs

__all__ = ["from_smiles_file", "from_smiles", "from_networkx", "from_pyg", "read_smiles_file", "read_graphs_file",
           "pyg_to_networkx", "is_pyg_data"]

_SMILES_NAMES = ("smiles", "smiles1", "smi", "canonical_smiles", "isomeric_smiles")


def _open_text(p: Path) -> io.TextIOBase:
    # utf-8-sig: a byte-order mark (Excel, Windows editors) is dropped, not read into the first SMILES
    return gzip.open(p, "rt", encoding="utf-8-sig", newline="") if p.suffix == ".gz" else open(p, encoding="utf-8-sig", newline="")


def _detect_column(header: Sequence[str], path: Path) -> int:
    lowered = [h.strip().lower() for h in header]
    for name in _SMILES_NAMES:
        if name in lowered:
            return lowered.index(name)
    hits = [i for i, h in enumerate(lowered) if "smiles" in h]
    if len(hits) == 1:
        return hits[0]
    raise ValueError(f"cannot tell which column of {path} holds SMILES (columns: {list(header)}); pass smiles_column=")


def _read_smiles(path: Path, smiles_column: str | int | None, counts: dict[str, Any]) -> list[str]:
    stem = path.name[:-3] if path.suffix == ".gz" else path.name
    ext = stem.rsplit(".", 1)[-1].lower() if "." in stem else ""
    counts.update(lines=0, blank=0, header=0, format=ext or "smi")
    with _open_text(path) as fh:
        if ext in ("csv", "tsv"):
            return _read_csv(fh, path, "\t" if ext == "tsv" else ",", smiles_column, counts)
        if ext in ("smi", "txt", "smiles", ""):
            lines = list(fh)
            first = next((ln for ln in lines if ln.strip()), "")
            tok0 = first.strip().split()[0] if first.strip() else ""
            if "," in tok0:  # comma-separated content in a .smi file (a SMILES never holds a comma): read it as CSV
                counts["format"] = f"comma-separated values in a .{ext or 'smi'} file"
                cells = [c.strip().lower() for c in first.strip().split(",")]
                col = smiles_column
                if col is None:
                    col = next((cells.index(n) for n in _SMILES_NAMES if n in cells), None)
                    if col is None:
                        col = 0
                        counts["header"] = -1  # no header: every row is data
                return _read_csv(io.StringIO("".join(lines)), path, ",", col, counts, header=counts["header"] != -1)
            out = []
            for i, line in enumerate(lines):
                counts["lines"] += 1
                tok = line.strip().split()
                if not tok:
                    counts["blank"] += 1
                    continue
                if not out and counts["header"] == 0 and tok[0].lower() in _SMILES_NAMES:
                    counts["header"] = 1
                    continue  # header line
                out.append(tok[0])
            return out
    raise ValueError(f"unsupported SMILES file type {path.name!r}; use .csv, .tsv, .smi or .txt (optionally .gz)")


def _read_csv(fh: Any, path: Path, delimiter: str, smiles_column: str | int | None, counts: dict[str, Any], *,
              header: bool = True) -> list[str]:
    reader = csv.reader(fh, delimiter=delimiter)
    counts["header"] = 0
    if header:
        head = next(reader, None)
        if head is None:
            return []
        counts["lines"] += 1
        counts["header"] = 1
    if isinstance(smiles_column, int):
        col = smiles_column
    elif smiles_column is not None:
        if smiles_column not in head:
            raise ValueError(f"column {smiles_column!r} not in {path} (columns: {head})")
        col = head.index(smiles_column)
    else:
        col = _detect_column(head, path)
    out = []
    for row in reader:
        counts["lines"] += 1
        if not row or not any(c.strip() for c in row):
            counts["blank"] += 1
            continue
        out.append(row[col].strip() if col < len(row) else "")
    return out


def skipped_lines(counts: dict[str, Any]) -> str:
    """``"2 blank lines, 1 header line"`` from the ``counts`` of :func:`read_smiles_file` (``""``
    when nothing was skipped)."""
    parts = []
    if counts.get("blank"):
        parts.append(f"{counts['blank']} blank line{'s' if counts['blank'] != 1 else ''}")
    if counts.get("header", 0) > 0:
        parts.append("1 header line")
    return ", ".join(parts)


def read_graphs_file(path: str | os.PathLike) -> list[nx.Graph]:
    """Graphs from a JSON list of networkx node-link dicts (what ``graphdiff sample -o x.json``
    writes). Raises ``FileNotFoundError`` / ``ValueError`` naming the file and the first bad item:
    not JSON, not a list, an item that is not a node-link dict, a directed graph or a multigraph
    (the metrics and models take simple undirected graphs)."""
    import json

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"graphs file not found: {p}" + (" (it is a folder)" if p.is_dir() else ""))
    try:
        items = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{p} is not UTF-8 text ({exc.reason} at byte {exc.start}); expected a JSON list of networkx "
                         "node-link dicts") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{p} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected a list "
                         "of networkx node-link dicts") from exc
    if not isinstance(items, list):
        raise ValueError(f"{p} must hold a JSON list of networkx node-link dicts, got a {type(items).__name__}")
    graphs = []
    for i, d in enumerate(items):
        try:
            if not isinstance(d, dict):
                raise TypeError(f"a {type(d).__name__}")
            g = nx.node_link_graph(d, edges="links")
        except Exception as exc:  # noqa: BLE001 - networkx's KeyError / TypeError say little
            raise ValueError(f"{p}: item {i} is not a networkx node-link dict ({type(exc).__name__}: {exc})") from exc
        if g.is_directed() or g.is_multigraph():
            raise ValueError(f"{p}: item {i} is a {'directed' if g.is_directed() else 'multi'}graph; graphdiff takes simple "
                             "undirected graphs (convert with nx.Graph(g) if that is what you mean)")
        graphs.append(g)
    return graphs


def read_smiles_file(path: str | os.PathLike, *, smiles_column: str | int | None = None,
                     counts: dict[str, Any] | None = None) -> list[str]:
    """The SMILES strings of a ``.csv`` / ``.tsv`` (column auto-detected or named) or ``.smi`` / ``.txt``
    file (first token per line, header line ``smiles`` skipped), optionally gzipped; rows as stored,
    not validated (see :func:`from_smiles_file` for a validated dataset).

    Read by content as well as suffix: a UTF-8 byte-order mark is dropped, and a ``.smi`` whose
    first token holds a comma (``smiles,name`` content; SMILES never contain commas) is read as CSV.
    Every line is counted: pass a dict as ``counts`` to get ``lines``, ``blank`` (skipped), ``header``
    (skipped) and ``format``; blank lines also raise a warning saying how many were skipped."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such SMILES file: {p}")
    if p.is_dir():
        raise ValueError(f"{p} is a folder, not a SMILES file")
    counts = {} if counts is None else counts
    try:
        rows = _read_smiles(p, smiles_column, counts)
        if counts.get("blank"):
            warnings.warn(f"{p}: skipped {skipped_lines(counts)} of {counts['lines']}", stacklevel=2)
        return rows
    except UnicodeDecodeError as e:
        raise ValueError(f"cannot read SMILES file {p}: not UTF-8 text ({e.reason} at byte {e.start})") from e
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise ValueError(f"cannot read SMILES file {p}: corrupt or truncated gzip data ({type(e).__name__}: {e})") from e


def from_smiles(
    smiles: Sequence[str],
    *,
    name: str = "custom",
    vocabulary: Any = None,
    max_atoms: int | None = None,
    test_fraction: float = 0.0,
    seed: int | None = None,
    validate: bool = True,
) -> MoleculeDataset:
    """A :class:`MoleculeDataset` from SMILES strings.

    Invalid SMILES are skipped, counted in ``dataset.skipped["invalid_smiles"]`` and warned about
    (``validate=False`` keeps every row unparsed). ``vocabulary`` defaults to the (element, charge)
    types found; ``max_atoms`` to the largest molecule. Split: ``test_fraction`` of the rows go to
    ``"test"`` (the first rows, or a random subset when ``seed`` is given); the rest is ``"train"``."""
    from .._optional import require
    from .molecules import AtomVocabulary
    from .molecules._rdkit import mol_from_smiles as _mol_from_smiles

    rows = list(smiles)
    n_bad = 0
    largest = 0
    if validate:
        Chem = require("rdkit.Chem")
        kept = []
        for s in rows:
            m = _mol_from_smiles(Chem, s)
            if m is None:
                n_bad += 1
            else:
                kept.append(s)
                largest = max(largest, m.GetNumHeavyAtoms())
        if n_bad:
            warnings.warn(f"{name}: skipped {n_bad} of {len(rows)} rows with invalid SMILES", stacklevel=3)
        rows = kept
    vocab = vocabulary if vocabulary is not None else AtomVocabulary.from_smiles(rows, name=name)
    order = np.arange(len(rows)) if seed is None else np.random.default_rng(seed).permutation(len(rows))
    n_test = int(test_fraction * len(rows))
    splits = {"train": [rows[i] for i in order[n_test:]]}
    if n_test:
        splits["test"] = [rows[i] for i in order[:n_test]]
    ds = MoleculeDataset(name, splits, vocab, max_atoms=max_atoms if max_atoms is not None else (largest or None))
    ds.skipped = {"invalid_smiles": n_bad}
    return ds


def from_smiles_file(
    path: str | os.PathLike,
    *,
    smiles_column: str | int | None = None,
    name: str | None = None,
    vocabulary: Any = None,
    max_atoms: int | None = None,
    test_fraction: float = 0.0,
    seed: int | None = None,
    validate: bool = True,
) -> MoleculeDataset:
    """A :class:`MoleculeDataset` from a ``.csv`` / ``.tsv`` (SMILES column auto-detected: ``smiles``,
    ``SMILES1``, ``smi``, ... case-insensitive, or named by ``smiles_column``) or a ``.smi`` / ``.txt``
    file (first token per line), optionally gzipped. See :func:`from_smiles` for the other options."""
    p = Path(path)
    rows = read_smiles_file(p, smiles_column=smiles_column)
    return from_smiles(rows, name=name or p.name.split(".")[0], vocabulary=vocabulary, max_atoms=max_atoms,
                       test_fraction=test_fraction, seed=seed, validate=validate)


def from_networkx(
    graphs: Iterable[nx.Graph] | dict[str, Iterable[nx.Graph]],
    *,
    name: str = "custom",
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    node_attributes: bool = False,
) -> GraphDataset:
    """A :class:`GraphDataset` from networkx graphs (nodes renumbered ``0..n-1`` in stored order,
    edge and graph attributes dropped, node attributes kept only with ``node_attributes``).

    A dict ``{"train": [...], "test": [...]}`` gives the splits directly; a list is split as GDSS
    (test = first ``int(test_fraction * n)``, val = next ``int(val_fraction * rest)``, train = rest)."""
    if isinstance(graphs, dict):
        splits = {k: [clean_graph(g, node_attributes) for g in v] for k, v in graphs.items()}
    else:
        gl = []
        for i, g in enumerate(graphs):
            if not isinstance(g, nx.Graph) or g.is_directed():
                raise InvalidGraphError(f"graph {i} is a {type(g).__name__}; from_networkx needs undirected networkx graphs")
            if nx.number_of_selfloops(g):
                raise InvalidGraphError(f"graph {i} has self-loops; graphdiff graphs have zero diagonal")
            gl.append(clean_graph(g, node_attributes))
        splits = split_graphs(gl, test_fraction=test_fraction, val_fraction=val_fraction)
    return GraphDataset(name, splits)


def from_pyg(
    dataset: Iterable[Any],
    *,
    name: str = "custom",
    test_fraction: float = 0.2,
    val_fraction: float = 0.0,
    node_attributes: bool = False,
) -> GraphDataset:
    """A :class:`GraphDataset` from a PyG dataset or list of ``Data``: edges are made undirected,
    self-loops dropped; with ``node_attributes`` the rows of ``data.x`` become node attribute ``"x"``
    (an int for a single integer column, else a list). Split as :func:`from_networkx`."""
    graphs = [pyg_to_networkx(d, node_attributes=node_attributes) for d in dataset]
    return from_networkx(graphs, name=name, test_fraction=test_fraction, val_fraction=val_fraction, node_attributes=node_attributes)
