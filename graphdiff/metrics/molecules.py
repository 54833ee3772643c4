"""Molecule metrics with the MOSES / GDSS definitions (see ``docs/protocols.md``).

All set-level metrics work on RDKit canonical SMILES (``Chem.MolToSmiles(Chem.MolFromSmiles(s))``,
MOSES ``canonic_smiles``):

* validity = valid / all samples (an entry is invalid when it is ``None``, an empty string, an
  unparsable SMILES or a Mol that fails sanitisation; every invalid entry is counted);
* "validity without correction" (GDSS) = molecules valid before valency correction / all samples;
  GDSS divides by the number of molecules left after decoding instead (GDSS issue #3) — both are
  reported, each with its denominator;
* uniqueness = unique valid / valid (MOSES ``fraction_unique`` with ``k`` = all valid);
* novelty = unique valid not in the (canonicalised) training set / unique valid (MOSES ``novelty``);
* FCD (MOSES "FCD/Test") between the valid generated SMILES, duplicates kept, and the test set
  (:mod:`graphdiff.metrics.fcd`);
* NSPDK MMD^2 (GDSS) between graphs of the valid generated molecules and of the test molecules
  (:mod:`graphdiff.metrics.nspdk`).

Reference-set statistics (canonical SMILES lists, ChemNet mean/covariance, NSPDK mean vector) are
cached as ``.npz`` files (never pickles) under ``$GRAPHDIFF_CACHE``, else ``$XDG_CACHE_HOME/graphdiff`` (default ``~/.cache/graphdiff``),
keyed by a SHA-256 of their input, so evaluating against the same test set twice does not
recompute them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import unknown_name
from ._cache import cache_dir, cache_load, cache_save, hash_strings
from ._smiles import canonical_smiles, canonicalize_smiles
from .cards import MetricCard, MoleculeMetricsResult, cards_to_markdown  # noqa: F401  (MoleculeMetricsResult: kept importable here)

__all__ = [
    "MOLECULE_METRICS",
    "MOLECULE_SUITES",
    "MoleculeMetricsResult",
    "MoleculeReference",
    "cache_dir",
    "canonicalize_smiles",
    "canonical_smiles",
    "molecule_reference",
    "molecule_metrics",
]

MOLECULE_METRICS = ("validity", "uniqueness", "novelty", "fcd", "nspdk")
#: metric suites of :func:`molecule_metrics`: ``gdss`` (the default, :data:`MOLECULE_METRICS`),
#: ``moses`` (:mod:`graphdiff.metrics.moses`), ``guacamol`` (:mod:`graphdiff.metrics.guacamol`)
MOLECULE_SUITES = ("gdss", "moses", "guacamol")
NSPDK_COMPLEXITY = 4
NSPDK_NBITS = 16
_NSPDK_ID = f"nspdk-v1-c{NSPDK_COMPLEXITY}-b{NSPDK_NBITS}-blake2b-py{sys.version_info[0]}.{sys.version_info[1]}"


# ----------------------------------------------------------------------------- reference set


@dataclass(frozen=True)
class MoleculeReference:
    """Statistics of a reference (test) set, enough for FCD and NSPDK without the SMILES.

    Attributes:
        n_given: reference SMILES handed in; n_invalid: those that did not parse (dropped).
        fcd_mu, fcd_sigma: ChemNet activation mean ``(512,)`` and covariance ``(512, 512)``.
        fcd_truncated: reference SMILES cut to 350 ChemNet positions.
        nspdk_mean: mean NSPDK feature vector ``(2**16 + 1,)`` (stable label hash).
        key: hash of the canonical reference SMILES list."""

    n_given: int
    n_invalid: int
    key: str
    fcd_mu: np.ndarray | None = None
    fcd_sigma: np.ndarray | None = None
    fcd_truncated: int = 0
    nspdk_mean: np.ndarray | None = None

    @property
    def n_used(self) -> int:
        return self.n_given - self.n_invalid

    def save(self, path: str | Path) -> None:
        """Write to an ``.npz`` file (no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "n_given": np.int64(self.n_given), "n_invalid": np.int64(self.n_invalid),
            "key": np.array(self.key), "fcd_truncated": np.int64(self.fcd_truncated),
        }  # fmt: skip
        for name in ("fcd_mu", "fcd_sigma", "nspdk_mean"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> "MoleculeReference":
        with np.load(path, allow_pickle=False) as z:
            get = lambda k: z[k] if k in z.files else None  # noqa: E731
            return cls(
                n_given=int(z["n_given"]), n_invalid=int(z["n_invalid"]), key=str(z["key"]),
                fcd_mu=get("fcd_mu"), fcd_sigma=get("fcd_sigma"),
                fcd_truncated=int(z["fcd_truncated"]), nspdk_mean=get("nspdk_mean"),
            )  # fmt: skip


def molecule_reference(
    test_smiles: Sequence[str],
    *,
    fcd: bool = True,
    nspdk: bool = True,
    cache: bool = True,
    n_jobs: int = 1,
    device: str | None = None,
) -> MoleculeReference:
    """FCD and NSPDK statistics of ``test_smiles`` (canonicalised; invalid ones dropped and
    counted), read from / written to the cache when ``cache=True``."""
    can = canonicalize_smiles(test_smiles, cache=cache)
    valid = [s for s in can if s]
    key = hash_strings(valid, "reference")
    mu = sigma = mean = None
    truncated = 0
    if fcd:
        from .fcd import fcd_stats

        st = fcd_stats(valid, canonicalize=False, cache=cache, device=device)
        mu, sigma, truncated = st.stats.mu, st.stats.sigma, st.n_truncated
    if nspdk:
        mean = _nspdk_reference_mean(valid, cache=cache, n_jobs=n_jobs)
    return MoleculeReference(len(can), len(can) - len(valid), key, mu, sigma, truncated, mean)


def _nspdk_reference_mean(valid_canonical: Sequence[str], *, cache: bool, n_jobs: int) -> np.ndarray:
    from .nspdk import nspdk_mean_embedding

    key = hash_strings(valid_canonical, _NSPDK_ID)
    if cache:
        hit = cache_load("nspdk", key)
        if hit is not None:
            return hit["mean"]
    mean, _ = nspdk_mean_embedding(valid_canonical, complexity=NSPDK_COMPLEXITY, nbits=NSPDK_NBITS, n_jobs=n_jobs)
    if cache:
        cache_save("nspdk", key, mean=mean)
    return mean


# ----------------------------------------------------------------------------- metrics


def _frac(num: int, den: int) -> float:
    return num / den if den > 0 else float("nan")


def molecule_metrics(
    generated: Sequence[Any],
    train_smiles: Sequence[str] | None = None,
    test_smiles: Sequence[str] | None = None,
    *,
    metrics: Sequence[str] | None = None,
    n_total: int | None = None,
    num_valid_without_correction: int | None = None,
    reference_stats: MoleculeReference | None = None,
    n_jobs: int = 1,
    cache: bool = True,
    device: str | None = None,
    suite: str = "gdss",
    test_scaffolds_smiles: Sequence[str] | None = None,
    progress: bool = False,
) -> MoleculeMetricsResult:
    """Validity, uniqueness, novelty, FCD and NSPDK MMD of generated molecules (``suite="gdss"``),
    or the MOSES or GuacaMol metric sets.

    Args:
        generated: SMILES strings, RDKit Mols or ``None`` (a failed decoding); every entry that is
            not a valid molecule counts as invalid.
        train_smiles: training SMILES (needed for ``novelty``); canonicalised before comparison.
        test_smiles: test SMILES (needed for ``fcd`` / ``nspdk`` unless ``reference_stats``).
        metrics: any of ``validity``, ``uniqueness``, ``novelty``, ``fcd``, ``nspdk`` (default all);
            for the other suites, their own names (default: all the given sets allow).
        n_total: number of samples drawn when ``generated`` holds only some of them (the missing
            ones count as invalid); default ``len(generated)``.
        num_valid_without_correction: from the decoder, the number of samples valid before
            valency correction; adds ``validity_wo_correction`` (/ ``n_total``) and
            ``validity_wo_correction_gdss`` (/ valid molecules after decoding, GDSS's denominator).
        reference_stats: precomputed :func:`molecule_reference` statistics (replaces the test set).
        n_jobs: worker processes for NSPDK features of large sets.
        cache: read/write cached reference statistics (see :func:`cache_dir`).
        device: torch device for ChemNet (default CPU).
        suite: ``gdss`` (default), ``moses`` (:func:`graphdiff.metrics.moses.moses_metrics`:
            ``valid``, ``unique@1000``, ``unique@10000``, ``novelty``, ``fcd``, ``snn``, ``frag``,
            ``scaf``, their ``*_testsf`` twins, ``intdiv1``, ``intdiv2``, ``filters``, ``logp``,
            ``sa``, ``qed``, ``weight``; ``test_smiles`` is the test set) or ``guacamol``
            (:func:`graphdiff.metrics.guacamol.guacamol_metrics`: ``kl_score`` and ``fcd_score``
            against ``train_smiles``, GuacaMol's reference distribution).
        test_scaffolds_smiles: MOSES's scaffold test set (``suite="moses"``; adds ``*_testsf``).
        progress: tqdm bars for the per-molecule work of the MOSES / GuacaMol suites.

    Returns:
        :class:`MoleculeMetricsResult` with values, metric cards and counts."""
    for name, value in (("generated", generated), ("train_smiles", train_smiles), ("test_smiles", test_smiles),
                        ("test_scaffolds_smiles", test_scaffolds_smiles)):
        if isinstance(value, (str, bytes)):  # a bare string would be read one character at a time
            raise TypeError(f"{name} must be a list of SMILES, got a single string {value[:40]!r}; wrap it: [{value[:40]!r}]")
    if suite not in MOLECULE_SUITES:
        raise unknown_name("metric suite", suite, MOLECULE_SUITES)
    if suite != "gdss":
        if num_valid_without_correction is not None or reference_stats is not None:
            raise ValueError(f"num_valid_without_correction and reference_stats belong to suite='gdss', not {suite!r}")
        if suite == "moses":
            from .moses import moses_metrics

            if test_smiles is None:
                raise ValueError("suite='moses' needs test_smiles (FCD, SNN, Frag, Scaf and the properties use it)")
            return moses_metrics(generated, test_smiles, test_scaffolds=test_scaffolds_smiles, train=train_smiles,
                                 metrics=metrics, n_total=n_total, n_jobs=n_jobs, cache=cache, device=device, progress=progress)
        from .guacamol import guacamol_metrics

        if train_smiles is None:
            raise ValueError("suite='guacamol' needs train_smiles (GuacaMol's reference distribution is the training set)")
        return guacamol_metrics(generated, train_smiles, metrics=metrics, cache=cache, device=device, progress=progress)
    if test_scaffolds_smiles is not None:
        raise ValueError("test_scaffolds_smiles belongs to suite='moses'")
    metrics = MOLECULE_METRICS if metrics is None else tuple(metrics)
    for m in metrics:
        if m not in MOLECULE_METRICS:
            raise unknown_name("molecule metric", m, MOLECULE_METRICS)
    generated = list(generated)
    n_given = len(generated)
    n_total = n_given if n_total is None else int(n_total)
    if n_total < n_given:
        raise ValueError(f"n_total ({n_total}) is smaller than the number of generated entries ({n_given})")
    if "novelty" in metrics and train_smiles is None:
        raise ValueError("novelty needs train_smiles")
    if any(m in metrics for m in ("fcd", "nspdk")) and test_smiles is None and reference_stats is None:
        raise ValueError("fcd and nspdk need test_smiles or reference_stats")

    can = canonicalize_smiles(generated)
    valid = [s for s in can if s]
    n_valid = len(valid)
    n_invalid = n_total - n_valid
    unique = set(valid)
    counts: dict[str, int] = {"n_total": n_total, "n_given": n_given, "n_valid": n_valid, "n_invalid": n_invalid, "n_unique": len(unique)}
    values: dict[str, float] = {}
    cards: list[MetricCard] = []

    def add(card: MetricCard) -> None:
        values[card.name] = card.value
        cards.append(card)

    if "validity" in metrics:
        add(MetricCard(
            name="validity", value=_frac(n_valid, n_total), protocol="moses", estimator="valid / all samples",
            n_generated=n_total, n_used_generated=n_valid, n_invalid=n_invalid,
            notes=f"{n_valid}/{n_total} valid (RDKit sanitisation); None, empty, unparsable and unsanitisable entries count as invalid"
            + (f"; {n_total - n_given} samples not handed in counted invalid" if n_total > n_given else ""),
        ))  # fmt: skip
    if num_valid_without_correction is not None:
        k = int(num_valid_without_correction)
        if not 0 <= k <= n_total:
            raise ValueError(f"num_valid_without_correction must be in [0, n_total={n_total}], got {k}")
        add(MetricCard(
            name="validity_wo_correction", value=_frac(k, n_total), protocol="gdss",
            estimator="valid before valency correction / all samples", n_generated=n_total, n_used_generated=k,
            notes=f"{k}/{n_total}; denominator = all samples drawn",
        ))  # fmt: skip
        add(MetricCard(
            name="validity_wo_correction_gdss", value=_frac(k, n_valid), protocol="gdss",
            estimator="valid before valency correction / valid molecules after decoding", n_generated=n_total,
            n_used_generated=n_valid, notes=f"{k}/{n_valid}; GDSS's denominator (molecules left after decoding, GDSS issue #3)",
        ))  # fmt: skip
    if "uniqueness" in metrics:
        add(MetricCard(
            name="uniqueness", value=_frac(len(unique), n_valid), protocol="moses", estimator="unique valid / valid",
            n_generated=n_total, n_used_generated=n_valid, n_invalid=n_invalid,
            notes=f"{len(unique)}/{n_valid} unique canonical SMILES (MOSES unique@k with k = all valid)",
        ))  # fmt: skip
    if "novelty" in metrics:
        train_can = canonicalize_smiles(train_smiles, cache=cache)
        train_set = {s for s in train_can if s}
        novel = unique - train_set
        counts.update(n_novel=len(novel), n_train=len(train_can))
        add(MetricCard(
            name="novelty", value=_frac(len(novel), len(unique)), protocol="moses",
            estimator="unique valid not in train / unique valid", n_generated=n_total, n_reference=len(train_can),
            n_used_generated=len(unique), n_used_reference=len(train_set), n_invalid=n_invalid,
            notes=f"{len(novel)}/{len(unique)} novel; train canonicalised ({len(train_set)} distinct valid of {len(train_can)})",
        ))  # fmt: skip

    want_fcd, want_nspdk = "fcd" in metrics, "nspdk" in metrics
    if (want_fcd or want_nspdk) and n_valid == 0:  # nothing to compare: skip the test-set work
        for name, protocol in (("fcd", "moses"), ("nspdk", "gdss")):
            if name in metrics:
                add(MetricCard(name=name, value=float("nan"), protocol=protocol, n_generated=n_total, n_used_generated=0,
                               n_invalid=n_invalid, notes="undefined: no valid generated molecule"))  # fmt: skip
    elif want_fcd or want_nspdk:
        ref = reference_stats
        if ref is None or (want_fcd and ref.fcd_mu is None) or (want_nspdk and ref.nspdk_mean is None):
            if test_smiles is None:
                raise ValueError("reference_stats lacks the statistics asked for and no test_smiles were given")
            ref = molecule_reference(test_smiles, fcd=want_fcd, nspdk=want_nspdk, cache=cache, n_jobs=n_jobs, device=device)
        counts.update(n_test=ref.n_given, n_test_invalid=ref.n_invalid)
        ref_note = f"test: {ref.n_used}/{ref.n_given} valid canonical SMILES used" + (f" ({ref.n_invalid} invalid dropped)" if ref.n_invalid else "")
        if want_fcd:
            add(_fcd_card(valid, ref, n_total=n_total, n_invalid=n_invalid, device=device, ref_note=ref_note))
        if want_nspdk:
            add(_nspdk_card(valid, ref, n_total=n_total, n_invalid=n_invalid, n_jobs=n_jobs, ref_note=ref_note))
    return MoleculeMetricsResult(values, cards, counts, valid)


def _fcd_card(valid: list[str], ref: MoleculeReference, *, n_total: int, n_invalid: int, device: str | None, ref_note: str) -> MetricCard:
    from .fcd import CHEMNET_ID, GaussianStats, chemnet_moments, frechet_distance

    common = dict(
        name="fcd", protocol="moses", estimator="Frechet distance of ChemNet activations",
        n_generated=n_total, n_reference=ref.n_given, n_used_generated=len(valid), n_used_reference=ref.n_used, n_invalid=n_invalid,
    )  # fmt: skip
    if len(valid) < 2 or ref.n_used < 2:
        return MetricCard(value=float("nan"), notes=f"needs >= 2 valid molecules on each side; {ref_note}", **common)
    moments, truncated = chemnet_moments(valid, device=device)
    g = GaussianStats.from_moments(moments)
    value = frechet_distance(g.mu, g.sigma, ref.fcd_mu, ref.fcd_sigma)
    notes = f"{len(valid)} valid generated (duplicates kept) vs {ref_note}; {CHEMNET_ID}, 350 positions"
    if truncated or ref.fcd_truncated:
        notes += f"; truncated SMILES: {truncated} generated, {ref.fcd_truncated} test"
    return MetricCard(value=value, notes=notes, extra={"n_truncated": truncated, "n_truncated_reference": ref.fcd_truncated}, **common)


def _nspdk_card(valid: list[str], ref: MoleculeReference, *, n_total: int, n_invalid: int, n_jobs: int, ref_note: str) -> MetricCard:
    from .nspdk import nspdk_mean_embedding, nspdk_mmd

    common = dict(
        name="nspdk", protocol="gdss", estimator="biased MMD^2", kernel=f"nspdk linear (complexity {NSPDK_COMPLEXITY}, nbits {NSPDK_NBITS})",
        n_generated=n_total, n_reference=ref.n_given, n_used_generated=len(valid), n_used_reference=ref.n_used, n_invalid=n_invalid,
    )  # fmt: skip
    if not valid or ref.n_used == 0:
        return MetricCard(value=float("nan"), notes=f"needs >= 1 valid molecule on each side; {ref_note}", **common)
    mean, _ = nspdk_mean_embedding(valid, complexity=NSPDK_COMPLEXITY, nbits=NSPDK_NBITS, n_jobs=n_jobs)
    value = nspdk_mmd(mean, ref.nspdk_mean)
    notes = (
        f"{len(valid)} valid generated vs {ref_note}; graphs from Chem.MolFromSmiles (atom symbol, int(bond order)); "
        "deterministic BLAKE2b label hash (EDeN's salted hash() varies ~1-2% per process)"
    )
    return MetricCard(value=value, notes=notes, **common)
