"""Molecular properties computed with RDKit, the targets of conditional generation.

:data:`PROPERTIES` names the built-in ones:

* ``logp``: Wildman-Crippen logP (``rdkit.Chem.Crippen.MolLogP``; Wildman & Crippen 1999);
* ``qed``: quantitative estimate of drug-likeness (``rdkit.Chem.QED.qed``; Bickerton et al. 2012);
* ``mw``: average molecular weight in g/mol, hydrogens included (``rdkit.Chem.Descriptors.MolWt``);
* ``sa``: synthetic accessibility score, 1 (easy) to 10 (hard), from the ``SA_Score`` module that
  RDKit ships in ``rdkit.Contrib`` (Ertl & Schuffenhauer 2009).

:func:`compute_properties` evaluates them on SMILES or RDKit molecules (NaN for a SMILES RDKit
cannot parse); :func:`read_property_columns` reads a user's own numeric columns from a CSV.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._optional import require
from ..errors import unknown_name

__all__ = ["PROPERTIES", "PROPERTY_DESCRIPTIONS", "property_function", "compute_properties", "read_property_columns"]

PROPERTY_DESCRIPTIONS = {
    "logp": "Wildman-Crippen logP (RDKit Crippen.MolLogP)",
    "qed": "quantitative estimate of drug-likeness (RDKit QED.qed)",
    "mw": "molecular weight in g/mol (RDKit Descriptors.MolWt)",
    "sa": "synthetic accessibility score, 1 easy - 10 hard (RDKit Contrib SA_Score)",
}
#: names of the built-in RDKit properties
PROPERTIES = tuple(PROPERTY_DESCRIPTIONS)


def _logp() -> Callable[[Any], float]:
    return require("rdkit.Chem.Crippen").MolLogP


def _qed() -> Callable[[Any], float]:
    return require("rdkit.Chem.QED").qed


def _mw() -> Callable[[Any], float]:
    return require("rdkit.Chem.Descriptors").MolWt


def _sa() -> Callable[[Any], float]:
    require("rdkit")
    try:
        from rdkit.Contrib.SA_Score import sascorer  # shipped in RDKit's pip wheels (rdkit/Contrib)
    except ImportError as exc:  # pragma: no cover - depends on the RDKit build
        raise ImportError("the 'sa' property needs RDKit's Contrib SA_Score module, which this RDKit build "
                          "does not ship; use logp, qed or mw") from exc
    return sascorer.calculateScore


_FACTORIES: dict[str, Callable[[], Callable[[Any], float]]] = {"logp": _logp, "qed": _qed, "mw": _mw, "sa": _sa}


def property_function(name: str) -> Callable[[Any], float]:
    """The function ``mol -> float`` of a built-in property (:data:`PROPERTIES`)."""
    if name not in _FACTORIES:
        raise unknown_name("property", name, PROPERTIES)
    return _FACTORIES[name]()


def compute_properties(molecules: Sequence[Any], names: Sequence[str], *, progress: bool = False) -> np.ndarray:
    """Properties ``names`` of ``molecules`` (SMILES strings or RDKit ``Mol``; ``None`` allowed) as a
    float64 array ``(len(molecules), len(names))``; NaN where a SMILES does not parse, a molecule
    is ``None`` or RDKit fails on it."""
    names = list(names)
    fns = [property_function(n) for n in names]
    Chem = require("rdkit.Chem")
    from rdkit import rdBase

    out = np.full((len(molecules), len(names)), np.nan)
    it: Any = molecules
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(molecules, desc=f"properties ({', '.join(names)})", unit="mol")
    with rdBase.BlockLogs():
        for i, m in enumerate(it):
            if isinstance(m, str):
                m = Chem.MolFromSmiles(m) if m.strip() else None
            if m is None:
                continue
            for j, fn in enumerate(fns):
                try:
                    v = float(fn(m))
                except Exception:  # RDKit raises assorted errors on odd molecules: report NaN  # noqa: BLE001
                    v = math.nan
                out[i, j] = v
    return out


def read_property_columns(path: str | os.PathLike, columns: Sequence[str], *,
                          smiles_column: str = "smiles") -> tuple[list[str], np.ndarray]:
    """The SMILES and numeric ``columns`` of a CSV / TSV file (optionally gzipped) with a header row:
    ``(smiles, values (n, len(columns)))``. Empty cells become NaN (a missing condition); a cell
    that is not a number raises ``ValueError`` naming the row and column; an unknown column raises
    ``ValueError`` listing the file's columns."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"no such property file: {p}")
    opener = gzip.open if p.suffix == ".gz" else open
    delim = "\t" if ".tsv" in p.suffixes else ","
    with opener(p, "rt", newline="") as fh:  # type: ignore[operator]
        reader = csv.DictReader(fh, delimiter=delim)
        header = list(reader.fieldnames or [])
        lower = {h.lower(): h for h in header}
        sc = lower.get(smiles_column.lower())
        if sc is None:
            raise ValueError(f"{p}: no SMILES column {smiles_column!r}; columns are: {', '.join(header)}")
        cols = []
        for c in columns:
            if c not in header:
                raise ValueError(f"{p}: no property column {c!r}; columns are: {', '.join(header)}")
            cols.append(c)
        smiles, rows = [], []
        for i, row in enumerate(reader, start=2):
            smiles.append(row[sc])
            vals = []
            for c in cols:
                cell = (row.get(c) or "").strip()
                try:
                    vals.append(float(cell) if cell else math.nan)
                except ValueError:
                    raise ValueError(f"{p}, line {i}: column {c!r} holds {cell!r}, not a number") from None
            rows.append(vals)
    return smiles, np.asarray(rows, dtype=np.float64).reshape(len(rows), len(cols))
