"""Molecular properties computed with RDKit, the targets of conditional generation.

:data:`PROPERTIES` names the built-in ones:

* ``logp``: Wildman-Crippen logP (``rdkit.Chem.Crippen.MolLogP``; Wildman & Crippen 1999);
* ``qed``: quantitative estimate of drug-likeness (``rdkit.Chem.QED.qed``; Bickerton et al. 2012);
* ``mw``: average molecular weight in g/mol, hydrogens included (``rdkit.Chem.Descriptors.MolWt``);
* ``sa``: synthetic accessibility score, 1 (easy) to 10 (hard), from the ``SA_Score`` module that
  RDKit ships in ``rdkit.Contrib`` (Ertl & Schuffenhauer 2009);
* ``alerts``, ``hbd``, ``rotb``: three of the eight integer descriptors that QED is built from, counted
  exactly as ``rdkit.Chem.QED.properties`` counts them (on the molecule without explicit hydrogens):
  the number of QED's structural alerts (``QED.StructuralAlerts``) the molecule matches, the
  hydrogen-bond donors (``rdMolDescriptors.CalcNumHBD``) and the strict rotatable bonds
  (``CalcNumRotatableBonds(..., Strict)``). A condition ``alerts=0`` asks for molecules without
  any of QED's alerts.

:func:`compute_properties` evaluates them on SMILES or RDKit molecules (NaN for a SMILES RDKit
cannot parse); :func:`cached_properties` does the same for a list of SMILES through an on-disk
cache (training a conditional model reads the properties of the same training set every run);
:func:`read_property_columns` reads a user's own numeric columns from a CSV.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._io import atomic_file, cache_dir, hash_strings
from .._optional import require
from ..errors import unknown_name
from .files import sha256_file

__all__ = ["PROPERTIES", "PROPERTY_DESCRIPTIONS", "property_function", "compute_properties", "cached_properties",
           "property_cache_key", "read_property_columns", "CACHE_ENV"]

PROPERTY_DESCRIPTIONS = {
    "logp": "Wildman-Crippen logP (RDKit Crippen.MolLogP)",
    "qed": "quantitative estimate of drug-likeness (RDKit QED.qed)",
    "mw": "molecular weight in g/mol (RDKit Descriptors.MolWt)",
    "sa": "synthetic accessibility score, 1 easy - 10 hard (RDKit Contrib SA_Score)",
    "alerts": "number of QED's structural alerts matched (as RDKit QED.properties ALERTS)",
    "hbd": "hydrogen-bond donors (as RDKit QED.properties HBD)",
    "rotb": "strict rotatable bonds (as RDKit QED.properties ROTB)",
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


def _alerts() -> Callable[[Any], float]:
    Chem, QED = require("rdkit.Chem"), require("rdkit.Chem.QED")
    alerts = QED.StructuralAlerts

    def count(mol: Any) -> float:  # QED.properties: ALERTS on Chem.RemoveHs(mol)
        mol = Chem.RemoveHs(mol)
        return float(sum(1 for alert in alerts if mol.HasSubstructMatch(alert)))

    return count


def _hbd() -> Callable[[Any], float]:
    Chem, rdmd = require("rdkit.Chem"), require("rdkit.Chem.rdMolDescriptors")
    return lambda mol: float(rdmd.CalcNumHBD(Chem.RemoveHs(mol)))


def _rotb() -> Callable[[Any], float]:
    Chem, rdmd = require("rdkit.Chem"), require("rdkit.Chem.rdMolDescriptors")
    strict = rdmd.NumRotatableBondsOptions.Strict
    return lambda mol: float(rdmd.CalcNumRotatableBonds(Chem.RemoveHs(mol), strict))


_FACTORIES: dict[str, Callable[[], Callable[[Any], float]]] = {"logp": _logp, "qed": _qed, "mw": _mw, "sa": _sa,
                                                               "alerts": _alerts, "hbd": _hbd, "rotb": _rotb}


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


#: set to ``0`` (or ``false`` / ``no`` / ``off``) to turn the property cache off
CACHE_ENV = "GRAPHDIFF_PROPERTY_CACHE"
_CACHE_FORMAT = "graphdiff-properties"
_CACHE_VERSION = 1


def _rdkit_version() -> str:
    return str(require("rdkit").__version__)


def property_cache_key(smiles: Sequence[str], names: Sequence[str], rdkit_version: str | None = None) -> str:
    """The cache key of :func:`cached_properties`: a SHA-256 prefix of the cache format version, the
    RDKit version, the property names (in order) and the SMILES (in order), hashed as the metrics'
    caches hash their inputs."""
    return hash_strings(smiles, _CACHE_FORMAT, str(_CACHE_VERSION), rdkit_version or _rdkit_version(),
                        ",".join(names), str(len(smiles)))


def _cache_folder() -> Path:
    return cache_dir() / "properties"


def _cache_enabled(cache: bool | None) -> bool:
    if cache is not None:
        return bool(cache)
    return os.environ.get(CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _read_cache(folder: Path, key: str, names: list[str], n: int, rdkit_version: str) -> np.ndarray | None:
    """The cached array, or ``None`` when there is none; a file that is unreadable or does not match
    (names, size, RDKit version, checksum) is reported with a warning and ignored."""
    meta_path, npy_path = folder / f"{key}.json", folder / f"{key}.npy"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        want = {"format": _CACHE_FORMAT, "version": _CACHE_VERSION, "key": key, "names": names, "n": n,
                "rdkit": rdkit_version}
        bad = [k for k, v in want.items() if meta.get(k) != v]
        if bad:
            raise ValueError(f"its record does not match ({', '.join(bad)})")
        if sha256_file(npy_path) != meta.get("sha256"):
            raise ValueError("the array's sha256 differs from its record")
        arr = np.load(npy_path, allow_pickle=False)
        if arr.dtype != np.float64 or arr.shape != (n, len(names)):
            raise ValueError(f"array of {arr.dtype} {arr.shape}, expected float64 {(n, len(names))}")
        return arr
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        warnings.warn(f"property cache {meta_path.with_suffix('')}.*: {exc}; recomputing the properties", stacklevel=3)
        return None


def _write_cache(folder: Path, key: str, names: list[str], values: np.ndarray, rdkit_version: str,
                 seconds: float) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        npy_path = folder / f"{key}.npy"
        with atomic_file(npy_path) as fh:
            np.save(fh, values, allow_pickle=False)
        meta = {"format": _CACHE_FORMAT, "version": _CACHE_VERSION, "key": key, "names": names, "n": int(values.shape[0]),
                "rdkit": rdkit_version, "sha256": sha256_file(npy_path), "seconds": round(seconds, 1)}
        # the record goes last: it is the commit point, and it names the array's checksum
        with atomic_file(folder / f"{key}.json", "w") as fh:
            fh.write(json.dumps(meta, indent=1))
    except OSError as exc:
        warnings.warn(f"could not write the property cache under {folder}: {exc}", stacklevel=3)


def cached_properties(smiles: Sequence[str], names: Sequence[str], *, progress: bool = False,
                      cache: bool | None = None) -> np.ndarray:
    """:func:`compute_properties` of a list of SMILES, read from / written to an on-disk cache.

    The cache lives in ``<cache dir>/properties`` (``$GRAPHDIFF_CACHE``, else ``$XDG_CACHE_HOME/graphdiff``,
    as the metrics' caches): ``<key>.npy`` (the float64 array, read with ``allow_pickle=False``) and
    ``<key>.json`` (names, size, RDKit version, the array's sha256), both written atomically (a
    temporary file, then ``os.replace``; the JSON last). The key (:func:`property_cache_key`)
    hashes the SMILES in order, the names and the RDKit version, so any change recomputes. A
    corrupted or mismatching entry is recomputed (and rewritten) with a warning, never used.

    ``cache=False``, or the environment variable ``GRAPHDIFF_PROPERTY_CACHE=0``, computes without
    reading or writing the cache; ``cache=True`` uses it whatever the environment says."""
    names = list(names)
    smiles = list(smiles)
    if not _cache_enabled(cache) or not smiles or not all(isinstance(s, str) for s in smiles):
        return compute_properties(smiles, names, progress=progress)
    for n in names:
        property_function(n)  # unknown names fail before any hashing or file access
    version = _rdkit_version()
    key = property_cache_key(smiles, names, version)
    folder = _cache_folder()
    hit = _read_cache(folder, key, names, len(smiles), version)
    if hit is not None:
        return hit
    t0 = time.perf_counter()
    values = compute_properties(smiles, names, progress=progress)
    _write_cache(folder, key, names, values, version, time.perf_counter() - t0)
    return values


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
