# Over 450 lines on purpose: the MOSES metric set is one suite sharing fingerprints, chunked workers and reference caches.
"""The MOSES metric set (Polykovskiy et al., "Molecular Sets (MOSES)", Front. Pharmacol. 2020).

Written from the paper and the definitions in ``moses/metrics/metrics.py`` / ``utils.py`` of
molecularsets/moses (no code copied); every value below equals MOSES's on the same inputs up to
RDKit-version effects (see ``benchmarks/results/moses_metrics.md`` for a set scored both ways):

* ``valid``: parsable and sanitisable entries / all entries.
* ``unique@k``: distinct canonical SMILES among the first ``k`` valid ones / ``min(k, n_valid)``.
* ``novelty``: distinct valid canonical SMILES not in the training set / distinct valid ones.
  Deviation, stated in the card: the training SMILES are canonicalised with the installed RDKit
  (MOSES compares with the stored strings as they are).
* ``fcd``: Fréchet ChemNet Distance to the test set (:mod:`graphdiff.metrics.fcd`; valid canonical
  SMILES, duplicates kept), fitted batch by batch (:class:`~graphdiff.metrics.moments.RunningMoments`).
* ``snn``: mean over generated molecules of the largest Tanimoto similarity to a test molecule
  (Morgan radius 2, 1024 bits).
* ``frag`` / ``scaf``: cosine similarity of BRICS-fragment counts / Bemis-Murcko scaffold counts
  (scaffolds with at least 2 rings, as ``compute_scaffolds(min_rings=2)``), ``nan`` when one side
  has none.
* ``intdiv1`` / ``intdiv2``: ``1 - mean_i (mean_j T_ij^p)^(1/p)`` over all ordered pairs of
  generated molecules, ``i = j`` included, ``p = 1, 2``.
* ``filters``: fraction of generated molecules with no ring of 8 or more atoms, no charged atom,
  only C, N, S, O, F, Cl, Br, H, and no match of the MCF and PAINS SMARTS on the molecule with
  explicit hydrogens. MCF: the 22 SMARTS of MOSES's ``mcf.csv`` (shipped as
  ``graphdiff/metrics/data/moses_mcf.csv`` with its MIT notice; no other public source exists).
  PAINS: RDKit's ``Data/Pains/wehi_pains.csv`` from the installed RDKit (the file MOSES copied,
  Saubern, Guha and Baell 2011); RDKit has since corrected 17 of its 480 SMARTS, so a few molecules
  can flip between versions.
* ``logp`` / ``sa`` / ``qed`` / ``weight``: 1-D Wasserstein distance between the generated and the
  test values of Crippen logP, the SA score (RDKit Contrib ``sascorer``), QED and molecular weight.
* ``<metric>_testsf``: FCD / SNN / Frag / Scaf against the scaffold test set.

Everything per molecule (parsing, fingerprints, fragments, scaffolds, properties, ChemNet) runs in
chunks, so memory is bounded by the compact statistics kept: bit-packed fingerprints (128 bytes a
molecule), four floats a molecule, fragment / scaffold counters and the 512 x 512 ChemNet
covariance. Reference statistics (:class:`MosesReference`) and the training-set index are cached
as ``.npz`` files keyed by a SHA-256 of the reference SMILES, so a second evaluation skips them.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..errors import unknown_name
from .cards import MetricCard

__all__ = [
    "MOSES_METRICS",
    "MOSES_PROPERTIES",
    "MosesReference",
    "moses_reference",
    "moses_metrics",
    "passes_moses_filters",
    "tanimoto_aggregate",
    "cosine_similarity_counts",
]

MOSES_PROPERTIES = ("logp", "sa", "qed", "weight")
_REF_METRICS = ("fcd", "snn", "frag", "scaf")
MOSES_METRICS = (
    "valid", "unique@1000", "unique@10000", "novelty",
    *_REF_METRICS, *(f"{m}_testsf" for m in _REF_METRICS),
    "intdiv1", "intdiv2", "filters", *MOSES_PROPERTIES,
)  # fmt: skip
MOSES_N_SAMPLES = 30000
FP_BITS = 1024
FP_RADIUS = 2
_ALLOWED_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})
_REF_VERSION = "moses-ref-v1"
_CHUNK = 1000


# ----------------------------------------------------------------------------- RDKit helpers


def _rdkit() -> Any:
    from .._optional import require

    return require("rdkit.Chem")


@lru_cache(maxsize=1)
def _sascorer() -> Any:
    from .._optional import require

    RDConfig = require("rdkit.RDConfig")
    path = os.path.join(RDConfig.RDContribDir, "SA_Score")
    if path not in sys.path:
        sys.path.append(path)
    import sascorer  # type: ignore[import-not-found]  # RDKit Contrib, shipped in the rdkit wheel

    return sascorer


@lru_cache(maxsize=1)
def _morgan() -> Any:
    from rdkit.Chem import rdFingerprintGenerator

    return rdFingerprintGenerator.GetMorganGenerator(radius=FP_RADIUS, fpSize=FP_BITS)


def _mcf_path() -> Path:
    return Path(__file__).with_name("data") / "moses_mcf.csv"


def _pains_path() -> Path:
    from .._optional import require

    return Path(require("rdkit.RDConfig").RDDataDir) / "Pains" / "wehi_pains.csv"


@lru_cache(maxsize=1)
def _filter_patterns() -> tuple[Any, ...]:
    """MCF + PAINS SMARTS as RDKit query molecules (``MolFromSmarts``, no merged hydrogens)."""
    import csv

    Chem = _rdkit()
    smarts: list[str] = []
    with open(_mcf_path(), newline="") as fh:
        rows = [r for r in csv.reader(line for line in fh if not line.startswith("#"))]
    smarts += [r[1].strip() for r in rows[1:] if r]
    with open(_pains_path(), newline="") as fh:
        smarts += [r[0].strip() for r in csv.reader(fh) if r]
    pats = tuple(Chem.MolFromSmarts(s) for s in smarts)
    bad = [s for s, p in zip(smarts, pats) if p is None]
    if bad:  # pragma: no cover - only with a broken data file
        raise ValueError(f"{len(bad)} filter SMARTS do not parse, e.g. {bad[0]!r}")
    return pats


def passes_moses_filters(mol: Any) -> bool:
    """MOSES's ``Filters`` test for one RDKit ``Mol`` (see the module docstring); ``None`` fails."""
    Chem = _rdkit()
    if mol is None:
        return False
    rings = mol.GetRingInfo()
    if rings.NumRings() and any(len(r) >= 8 for r in rings.AtomRings()):
        return False
    atoms = list(mol.GetAtoms())
    if any(a.GetFormalCharge() != 0 for a in atoms) or any(a.GetSymbol() not in _ALLOWED_ATOMS for a in atoms):
        return False
    h_mol = Chem.AddHs(mol)
    if any(h_mol.HasSubstructMatch(p) for p in _filter_patterns()):
        return False
    smi = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smi) and Chem.MolFromSmiles(smi) is not None


def _scaffold(mol: Any, min_rings: int = 2) -> str | None:
    from rdkit.Chem.Scaffolds import MurckoScaffold

    try:
        scaf = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smi = _rdkit().MolToSmiles(scaf)
    if not smi or scaf.GetRingInfo().NumRings() < min_rings:
        return None
    return smi


def _properties(mol: Any) -> tuple[float, float, float, float]:
    from rdkit.Chem import QED, Crippen, Descriptors

    return Crippen.MolLogP(mol), _sascorer().calculateScore(mol), QED.qed(mol), Descriptors.MolWt(mol)


# ----------------------------------------------------------------------------- per-chunk work


@dataclass
class _Chunk:
    """What one chunk of SMILES contributes: ``canonical`` (``None`` for invalid entries, in input
    order) and, for the valid ones in order, packed fingerprints ``(n_valid, 128)``, properties
    ``(n_valid, 4)``, filter verdicts, fragment and scaffold counts."""

    canonical: list[str | None]
    fps: np.ndarray
    props: np.ndarray
    passes: np.ndarray
    frags: Counter
    scafs: Counter


def _featurize(smiles: Sequence[str | None], reparse: bool, filters: bool) -> _Chunk:
    """Parse ``smiles`` and compute every per-molecule MOSES quantity.

    ``reparse=True`` (generated sets) computes features on ``MolFromSmiles(canonical)``, as MOSES
    does after ``remove_invalid(canonize=True)``; reference sets use the parsed input."""
    Chem = _rdkit()
    from rdkit import RDLogger

    RDLogger.DisableLog("rdApp.*")
    try:
        gen = _morgan()
        canonical: list[str | None] = []
        fps: list[np.ndarray] = []
        props: list[tuple[float, ...]] = []
        passes: list[bool] = []
        frags: Counter = Counter()
        scafs: Counter = Counter()
        for s in smiles:
            mol = Chem.MolFromSmiles(s) if s else None
            if mol is None or mol.GetNumAtoms() == 0:
                canonical.append(None)
                continue
            can = Chem.MolToSmiles(mol)
            if reparse:
                mol = Chem.MolFromSmiles(can)
                if mol is None:  # pragma: no cover - RDKit round-trip failure
                    canonical.append(None)
                    continue
            canonical.append(can)
            fps.append(np.packbits(gen.GetFingerprintAsNumPy(mol)))
            props.append(_properties(mol))
            frags.update(Chem.MolToSmiles(Chem.FragmentOnBRICSBonds(mol)).split("."))
            sc = _scaffold(mol)
            if sc is not None:
                scafs[sc] += 1
            if filters:
                passes.append(passes_moses_filters(mol))
    finally:
        RDLogger.EnableLog("rdApp.*")
    return _Chunk(
        canonical,
        np.stack(fps) if fps else np.zeros((0, FP_BITS // 8), np.uint8),
        np.asarray(props, np.float64).reshape(-1, len(MOSES_PROPERTIES)),
        np.asarray(passes, bool),
        frags,
        scafs,
    )


def _featurize_gen(smiles: Sequence[str | None]) -> _Chunk:
    return _featurize(smiles, True, True)


def _featurize_ref(smiles: Sequence[str | None]) -> _Chunk:
    return _featurize(smiles, False, False)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _map_chunks(fn: Callable[[Sequence[Any]], Any], items: Sequence[Any], *, n_jobs: int, progress: bool, desc: str) -> Iterator[Any]:
    """``fn`` over chunks of ``items`` in order, in ``n_jobs`` worker processes when > 1."""
    from tqdm.auto import tqdm

    parts = list(_chunks(items, _CHUNK))
    bar = tqdm(total=len(items), desc=desc, unit="mol", disable=not progress, leave=False)
    try:
        if n_jobs > 1 and len(parts) > 1:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(n_jobs) as pool:
                for part, out in zip(parts, pool.imap(fn, parts)):
                    bar.update(len(part))
                    yield out
        else:
            for part in parts:
                out = fn(part)
                bar.update(len(part))
                yield out
    finally:
        bar.close()


class _Accumulator:
    """Joins chunk results and streams the valid canonical SMILES through ChemNet."""

    def __init__(self, fcd: bool, model: Any, device: str | None) -> None:
        from .moments import RunningMoments

        self.canonical: list[str | None] = []
        self.fps: list[np.ndarray] = []
        self.props: list[np.ndarray] = []
        self.passes: list[np.ndarray] = []
        self.frags: Counter = Counter()
        self.scafs: Counter = Counter()
        self.moments = RunningMoments(512) if fcd else None
        self.truncated = 0
        self.model = model
        self.device = device

    def add(self, c: _Chunk, keep_canonical: bool) -> None:
        valid = [s for s in c.canonical if s]
        if keep_canonical:
            self.canonical.extend(c.canonical)
        else:
            self.canonical.extend([None] * (len(c.canonical) - len(valid)))  # count only the invalid
        self.fps.append(c.fps)
        self.props.append(c.props)
        self.passes.append(c.passes)
        self.frags.update(c.frags)
        self.scafs.update(c.scafs)
        if self.moments is not None and valid:
            from .fcd import chemnet_activations

            acts, t = chemnet_activations(valid, model=self.model, device=self.device)
            self.moments.update(acts)
            self.truncated += t

    def fps_array(self) -> np.ndarray:
        return np.concatenate(self.fps) if self.fps else np.zeros((0, FP_BITS // 8), np.uint8)

    def props_array(self) -> np.ndarray:
        return np.concatenate(self.props) if self.props else np.zeros((0, len(MOSES_PROPERTIES)))


def _chemnet(fcd: bool) -> Any:
    if not fcd:
        return None
    from .fcd import _model

    return _model(None)


# ----------------------------------------------------------------------------- reference statistics


@dataclass(frozen=True)
class MosesReference:
    """MOSES statistics of a reference (test or scaffold-test) set; enough for FCD, SNN, Frag, Scaf
    and the property distances without the SMILES.

    Attributes:
        n_given: reference SMILES handed in; n_invalid: those that did not parse (dropped, counted).
        key: SHA-256 prefix of the reference SMILES (and the versions below), the cache key.
        fcd_mu, fcd_sigma, fcd_truncated: ChemNet mean ``(512,)``, covariance ``(512, 512)`` and
            the number of SMILES cut at 350 positions.
        fps: Morgan fingerprints (radius 2, 1024 bits), bit-packed ``(n_valid, 128)`` uint8.
        props: ``(n_valid, 4)`` logP, SA, QED, molecular weight.
        frags, scafs: BRICS fragment and scaffold counts."""

    n_given: int
    n_invalid: int
    key: str
    fcd_mu: np.ndarray
    fcd_sigma: np.ndarray
    fcd_truncated: int
    fps: np.ndarray
    props: np.ndarray
    frags: dict[str, int] = field(repr=False)
    scafs: dict[str, int] = field(repr=False)

    @property
    def n_used(self) -> int:
        return self.n_given - self.n_invalid

    def _arrays(self) -> dict[str, np.ndarray]:
        from ._cache import pack_strings

        return {
            "n_given": np.int64(self.n_given), "n_invalid": np.int64(self.n_invalid), "ref_key": np.array(self.key),
            "fcd_mu": self.fcd_mu, "fcd_sigma": self.fcd_sigma, "fcd_truncated": np.int64(self.fcd_truncated),
            "fps": self.fps, "props": self.props,
            "frag_keys": pack_strings(list(self.frags)), "frag_counts": np.fromiter(self.frags.values(), np.int64, len(self.frags)),
            "scaf_keys": pack_strings(list(self.scafs)), "scaf_counts": np.fromiter(self.scafs.values(), np.int64, len(self.scafs)),
        }  # fmt: skip

    def save(self, path: str | os.PathLike) -> None:
        """Write to an ``.npz`` file (no pickles)."""
        np.savez(path, **self._arrays())

    @classmethod
    def _from_arrays(cls, z: dict[str, np.ndarray]) -> "MosesReference":
        from ._cache import unpack_strings

        def counter(prefix: str) -> dict[str, int]:
            counts = z[f"{prefix}_counts"]
            keys = unpack_strings(z[f"{prefix}_keys"]) if counts.size else []
            return dict(zip(keys, (int(c) for c in counts)))

        return cls(
            n_given=int(z["n_given"]), n_invalid=int(z["n_invalid"]), key=str(z["ref_key"]),
            fcd_mu=z["fcd_mu"], fcd_sigma=z["fcd_sigma"], fcd_truncated=int(z["fcd_truncated"]),
            fps=z["fps"], props=z["props"], frags=counter("frag"), scafs=counter("scaf"),
        )  # fmt: skip

    @classmethod
    def load(cls, path: str | os.PathLike) -> "MosesReference":
        with np.load(path, allow_pickle=False) as z:
            return cls._from_arrays({k: z[k] for k in z.files})


def _versions() -> tuple[str, ...]:
    import rdkit

    from .fcd import CHEMNET_ID

    return (_REF_VERSION, rdkit.__version__, CHEMNET_ID, f"morgan{FP_RADIUS}-{FP_BITS}")


def moses_reference(
    smiles: Sequence[str],
    *,
    cache: bool = True,
    n_jobs: int = 1,
    device: str | None = None,
    progress: bool = False,
) -> MosesReference:
    """MOSES statistics of a reference set, read from / written to the cache when ``cache=True``.

    Invalid SMILES are dropped and counted. Work runs in chunks of 1,000 molecules (in ``n_jobs``
    processes when > 1); memory stays at the compact statistics, not the molecules."""
    from ._cache import cache_load, cache_save, hash_strings

    smiles = list(smiles)
    key = hash_strings(smiles, *_versions())
    if cache:
        hit = cache_load("moses_ref", key)
        if hit is not None:
            return MosesReference._from_arrays(hit)
    acc = _Accumulator(True, _chemnet(True), device)
    for chunk in _map_chunks(_featurize_ref, smiles, n_jobs=n_jobs, progress=progress, desc="MOSES reference"):
        acc.add(chunk, keep_canonical=False)
    n_invalid = sum(1 for s in acc.canonical if s is None)
    if acc.moments is None or acc.moments.n < 2:
        raise ValueError(f"the reference set needs at least 2 valid molecules, got {len(smiles) - n_invalid}")
    ref = MosesReference(
        n_given=len(smiles), n_invalid=n_invalid, key=key,
        fcd_mu=acc.moments.mean.copy(), fcd_sigma=acc.moments.covariance(), fcd_truncated=acc.truncated,
        fps=acc.fps_array(), props=acc.props_array(), frags=dict(acc.frags), scafs=dict(acc.scafs),
    )  # fmt: skip
    if cache:
        cache_save("moses_ref", key, **ref._arrays())
    return ref


def _as_reference(ref: Sequence[str] | MosesReference, **kw: Any) -> MosesReference:
    return ref if isinstance(ref, MosesReference) else moses_reference(ref, **kw)


def _smiles_hash(s: str) -> int:
    return int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")


def _train_index(train: Sequence[str], *, cache: bool, n_jobs: int, progress: bool) -> tuple[np.ndarray, int, int]:
    """Sorted distinct 64-bit BLAKE2b hashes of the canonical training SMILES (12.7 MB for MOSES's
    1.58M instead of a Python set of strings), with ``n_given`` and ``n_invalid``. A collision
    between two of 1.6M distinct SMILES has probability about 1e-7."""
    import rdkit

    from ._cache import cache_load, cache_save, hash_strings

    train = list(train)
    key = hash_strings(train, "moses-train-index-v1", rdkit.__version__)
    if cache:
        hit = cache_load("moses_train", key)
        if hit is not None:
            return hit["hashes"], int(hit["n_given"]), int(hit["n_invalid"])
    hashes: list[np.ndarray] = []
    n_invalid = 0
    for can in _map_chunks(_canonical_chunk, train, n_jobs=n_jobs, progress=progress, desc="canonical train"):
        n_invalid += sum(1 for s in can if s is None)
        hashes.append(np.fromiter((_smiles_hash(s) for s in can if s), np.uint64))
    arr = np.unique(np.concatenate(hashes)) if hashes else np.zeros(0, np.uint64)
    if cache:
        cache_save("moses_train", key, hashes=arr, n_given=np.int64(len(train)), n_invalid=np.int64(n_invalid))
    return arr, len(train), n_invalid


def _canonical_chunk(smiles: Sequence[str]) -> list[str | None]:
    from ._smiles import canonicalize_smiles

    return canonicalize_smiles(smiles)


# ----------------------------------------------------------------------------- set-level maths


def tanimoto_aggregate(
    gen_fps: np.ndarray,
    ref_fps: np.ndarray,
    *,
    agg: str = "max",
    p: int = 1,
    block: int = 4096,
    exclude_self: bool = False,
) -> np.ndarray:
    """Per generated molecule, the ``max`` or the power mean ``(mean_j T_ij^p)^(1/p)`` of its
    Tanimoto similarities ``T_ij`` to the reference fingerprints (MOSES ``average_agg_tanimoto``
    before its final mean). Fingerprints are bit-packed ``(n, bits / 8)`` uint8; both sets are
    processed in blocks of ``block`` rows, so memory is ``O(block^2)``. ``0 / 0`` (two empty
    fingerprints) counts as similarity 1, as in MOSES. ``exclude_self=True`` (one set against
    itself) sets ``T_ii = 0`` first, as GuacaMol's internal similarity does. Returns ``(n_gen,)``
    float64."""
    if agg not in ("max", "mean"):
        raise unknown_name("aggregation", agg, ["max", "mean"])
    if exclude_self and gen_fps.shape != ref_fps.shape:
        raise ValueError("exclude_self needs the same set on both sides")
    n_gen, n_ref = gen_fps.shape[0], ref_fps.shape[0]
    out = np.zeros(n_gen, np.float64)
    if n_gen == 0 or n_ref == 0:
        return np.full(n_gen, np.nan)
    from .fcd import _one_blas_thread

    gen_f = np.unpackbits(gen_fps, axis=1).astype(np.float32)
    gen_sum = gen_f.sum(axis=1)
    with _one_blas_thread(), np.errstate(invalid="ignore", divide="ignore"):
        for j in range(0, n_ref, block):
            r = np.unpackbits(ref_fps[j : j + block], axis=1).astype(np.float32)
            r_sum = r.sum(axis=1)
            for i in range(0, n_gen, block):
                g = gen_f[i : i + block]
                tp = g @ r.T
                jac = tp / (gen_sum[i : i + block, None] + r_sum[None, :] - tp)
                jac[np.isnan(jac)] = 1.0
                if exclude_self:
                    d = np.arange(max(i, j), min(i + len(g), j + len(r)))
                    jac[d - i, d - j] = 0.0
                if agg == "max":
                    np.maximum(out[i : i + block], jac.max(axis=1), out=out[i : i + block])
                else:
                    out[i : i + block] += (jac if p == 1 else jac.astype(np.float64) ** p).sum(axis=1)
    if agg == "mean":
        out /= n_ref
        if p != 1:
            out **= 1.0 / p
    return out


def cosine_similarity_counts(ref: dict[str, int], gen: dict[str, int]) -> float:
    """Cosine similarity of two count dictionaries over the union of their keys (missing = 0);
    ``nan`` when either is empty (MOSES ``cos_similarity``)."""
    if not ref or not gen:
        return float("nan")
    dot = float(sum(c * gen.get(k, 0) for k, c in ref.items()))
    nr = math.sqrt(float(sum(c * c for c in ref.values())))
    ng = math.sqrt(float(sum(c * c for c in gen.values())))
    return dot / (nr * ng)


# ----------------------------------------------------------------------------- the metric set


def moses_metrics(
    generated: Sequence[Any],
    test: Sequence[str] | MosesReference,
    *,
    test_scaffolds: Sequence[str] | MosesReference | None = None,
    train: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    ks: Sequence[int] = (1000, 10000),
    n_total: int | None = None,
    n_jobs: int = 1,
    cache: bool = True,
    device: str | None = None,
    progress: bool = False,
) -> Any:
    """The MOSES metric set of ``generated`` against ``test`` (and ``test_scaffolds``, ``train``).

    Args:
        generated: SMILES strings, RDKit Mols or ``None`` (failed decodings count as invalid).
        test: reference SMILES or a precomputed :class:`MosesReference`.
        test_scaffolds: the scaffold test set (adds the ``*_testsf`` values); optional.
        train: training SMILES for ``novelty``; optional (no novelty without it).
        metrics: a subset of :data:`MOSES_METRICS` (default: all those the given sets allow);
            ``unique@k`` accepts any ``k``.
        ks: the ``k`` of ``unique@k`` when ``metrics`` is not given.
        n_total: samples drawn when ``generated`` holds only some of them (the rest are invalid).
        n_jobs: worker processes for the per-molecule work.
        cache: read / write cached reference statistics and the training index.
        device: torch device for ChemNet.
        progress: show tqdm bars.

    Returns:
        :class:`~graphdiff.metrics.molecules.MoleculeMetricsResult` (values, cards, counts)."""
    from ._smiles import canonicalize_smiles
    from .cards import MoleculeMetricsResult

    default = metrics is None
    if default:
        metrics = ["valid", *(f"unique@{k}" for k in ks), *(m for m in MOSES_METRICS if m != "valid" and not m.startswith("unique@"))]
        if test_scaffolds is None:
            metrics = [m for m in metrics if not m.endswith("_testsf")]
        if train is None:
            metrics = [m for m in metrics if m != "novelty"]
    metrics = list(metrics)
    for m in metrics:
        if m.startswith("unique@") and m[7:].isdigit() and int(m[7:]) > 0:
            continue
        if m not in MOSES_METRICS:
            raise unknown_name("MOSES metric", m, MOSES_METRICS)
    if "novelty" in metrics and train is None:
        raise ValueError("novelty needs the training SMILES (train=...)")
    if any(m.endswith("_testsf") for m in metrics) and test_scaffolds is None:
        raise ValueError("the *_testsf metrics need the scaffold test set (test_scaffolds=...)")

    generated = list(generated)
    n_given = len(generated)
    n_total = n_given if n_total is None else int(n_total)
    if n_total < n_given:
        raise ValueError(f"n_total ({n_total}) is smaller than the number of generated entries ({n_given})")
    # strings straight to the chunked featuriser; Mols go through canonicalisation first
    gen_strings = [s if (s is None or isinstance(s, str)) else None for s in generated]
    if any(s is not None and not isinstance(s, str) for s in generated):
        gen_strings = canonicalize_smiles(generated)
    want_fcd = any(m in metrics for m in ("fcd", "fcd_testsf"))
    kw = dict(cache=cache, n_jobs=n_jobs, device=device, progress=progress)
    acc = _Accumulator(want_fcd, _chemnet(want_fcd), device)
    for chunk in _map_chunks(_featurize_gen, gen_strings, n_jobs=n_jobs, progress=progress, desc="MOSES generated"):
        acc.add(chunk, keep_canonical=True)
    valid = [s for s in acc.canonical if s]
    n_valid = len(valid)
    n_invalid = n_total - n_valid
    gen_fps = acc.fps_array()
    gen_props = acc.props_array()

    counts: dict[str, int] = {"n_total": n_total, "n_given": n_given, "n_valid": n_valid, "n_invalid": n_invalid, "n_unique": len(set(valid))}
    values: dict[str, float] = {}
    cards: list[MetricCard] = []
    base = dict(protocol="moses", n_generated=n_total, n_used_generated=n_valid, n_invalid=n_invalid)

    def add(name: str, value: float, estimator: str, notes: str, **extra: Any) -> None:
        card = MetricCard(name=name, value=float(value), estimator=estimator, notes=notes, **{**base, **extra})
        values[name] = card.value
        cards.append(card)

    small = f"; MOSES scores {MOSES_N_SAMPLES:,} samples, this set has {n_total:,}" if n_total < MOSES_N_SAMPLES else ""
    if "valid" in metrics:
        add("valid", n_valid / n_total if n_total else float("nan"), "valid / all samples",
            f"{n_valid}/{n_total} parse and sanitise with RDKit")  # fmt: skip
    for m in metrics:
        if m.startswith("unique@"):
            k = int(m[7:])
            head = valid[:k]
            note = f"{len(set(head))}/{len(head)} distinct among the first {len(head)} valid"
            if len(head) < k:
                note += f"; only {len(head)} valid molecules, fewer than k = {k} (MOSES warns and divides by {len(head)})"
            add(m, len(set(head)) / len(head) if head else float("nan"), "distinct / first k valid", note)
    if "novelty" in metrics:
        index, n_train, n_train_invalid = _train_index(train, cache=cache, n_jobs=n_jobs, progress=progress)
        uniq = sorted(set(valid))
        h = np.fromiter((_smiles_hash(s) for s in uniq), np.uint64, len(uniq))
        novel = int((~np.isin(h, index)).sum()) if uniq else 0
        counts.update(n_novel=novel, n_train=n_train)
        add("novelty", novel / len(uniq) if uniq else float("nan"), "distinct valid not in train / distinct valid",
            f"{novel}/{len(uniq)} novel; train canonicalised with RDKit (MOSES compares with the stored strings), "
            f"{index.size} distinct of {n_train}" + (f", {n_train_invalid} invalid dropped" if n_train_invalid else ""),
            n_reference=n_train, n_used_reference=int(index.size))  # fmt: skip

    for suffix, ref_in in (("", test), ("_testsf", test_scaffolds)):
        wanted = [m for m in (f"{r}{suffix}" for r in _REF_METRICS) if m in metrics]
        wanted_props = [p for p in MOSES_PROPERTIES if p in metrics] if not suffix else []
        if not wanted and not wanted_props:
            continue
        ref = _as_reference(ref_in, **kw)
        split = "scaffold test" if suffix else "test"
        counts[f"n_{'testsf' if suffix else 'test'}"] = ref.n_given
        rbase = dict(n_reference=ref.n_given, n_used_reference=ref.n_used)
        rnote = f"vs {split}: {ref.n_used}/{ref.n_given} valid" + (f" ({ref.n_invalid} invalid dropped)" if ref.n_invalid else "")
        if f"fcd{suffix}" in wanted:
            if acc.moments is None or acc.moments.n < 2:
                add(f"fcd{suffix}", float("nan"), "Frechet distance of ChemNet activations", f"needs >= 2 valid generated; {rnote}", **rbase)
            else:
                from .fcd import CHEMNET_ID, frechet_distance

                v = frechet_distance(acc.moments.mean, acc.moments.covariance(), ref.fcd_mu, ref.fcd_sigma)
                add(f"fcd{suffix}", v, "Frechet distance of ChemNet activations",
                    f"{n_valid} valid canonical (duplicates kept) {rnote}; {CHEMNET_ID}, streamed mean/covariance{small}",
                    extra={"n_truncated": acc.truncated, "n_truncated_reference": ref.fcd_truncated}, **rbase)  # fmt: skip
        if f"snn{suffix}" in wanted:
            v = float(tanimoto_aggregate(gen_fps, ref.fps, agg="max").mean()) if n_valid else float("nan")
            add(f"snn{suffix}", v, "mean max Tanimoto to reference", f"Morgan r=2, 1024 bits; {rnote}", **rbase)
        if f"frag{suffix}" in wanted:
            add(f"frag{suffix}", cosine_similarity_counts(ref.frags, acc.frags), "cosine of BRICS fragment counts",
                f"{len(acc.frags)} generated / {len(ref.frags)} reference distinct fragments; {rnote}", **rbase)  # fmt: skip
        if f"scaf{suffix}" in wanted:
            add(f"scaf{suffix}", cosine_similarity_counts(ref.scafs, acc.scafs), "cosine of Murcko scaffold counts",
                f"scaffolds with >= 2 rings: {len(acc.scafs)} generated / {len(ref.scafs)} reference distinct; {rnote}", **rbase)  # fmt: skip
        if wanted_props:
            from scipy.stats import wasserstein_distance

            for i, p in enumerate(MOSES_PROPERTIES):
                if p in wanted_props:
                    v = wasserstein_distance(ref.props[:, i], gen_props[:, i]) if n_valid else float("nan")
                    add(p, v, "1-D Wasserstein distance to test", f"{_PROP_NOTE[p]}; {rnote}", **rbase)
    if "intdiv1" in metrics or "intdiv2" in metrics:
        for p in (1, 2):
            if f"intdiv{p}" in metrics:
                v = 1.0 - float(tanimoto_aggregate(gen_fps, gen_fps, agg="mean", p=p).mean()) if n_valid else float("nan")
                add(f"intdiv{p}", v, f"1 - mean_i (mean_j T_ij^{p})^(1/{p})", f"all ordered pairs of the {n_valid} valid (i = j included); Morgan r=2, 1024 bits")
    if "filters" in metrics:
        passes = np.concatenate(acc.passes) if acc.passes else np.zeros(0, bool)
        add("filters", float(passes.mean()) if passes.size else float("nan"), "passing / valid",
            f"{int(passes.sum())}/{passes.size} pass: ring size < 8, uncharged, atoms C N S O F Cl Br H, "
            "no MCF (22, MOSES mcf.csv) or PAINS (480, RDKit wehi_pains.csv) match")  # fmt: skip
    order = {m: i for i, m in enumerate(metrics)}
    cards.sort(key=lambda c: order.get(c.name, len(order)))
    values = {c.name: c.value for c in cards}
    return MoleculeMetricsResult(values, cards, counts, valid)


_PROP_NOTE = {
    "logp": "Crippen MolLogP",
    "sa": "SA score (RDKit Contrib sascorer)",
    "qed": "QED (RDKit)",
    "weight": "MolWt",
}

