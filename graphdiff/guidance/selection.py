"""Best-of-k selection for property-targeted molecule sampling.

With ``candidates=k`` (``pipe.sample``, ``graphdiff.generate_molecules``, CLI ``--candidates``)
the sampler draws ``k`` candidates for every requested molecule (the same targets, independent
noise and sizes) and returns, for each, the candidate whose RDKit-computed properties lie nearest
its targets: the distance is ``sum_j ((achieved_j - target_j) / std_j)^2`` over the targeted
properties (``std_j``: the training standard deviation of the model's condition, or of the
predictor's), missing targets left out. Candidates are ranked first by validity: valid without
correction, then valid only after valence correction, then invalid; so a candidate that needed
correction (or is invalid) is never chosen over one that did not.

This is a selection step after the model, not the model: it costs ``k`` times the network calls
(``nfe`` and ``nfe_per_graph`` of the result count all candidates) and uses RDKit as an oracle of
the very properties it is scored on.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

__all__ = ["check_candidates", "repeat_for_candidates", "select_nearest"]

#: validity tiers of a candidate (lower is preferred)
VALID_WITHOUT_CORRECTION, VALID_CORRECTED, INVALID = 0, 1, 2


def check_candidates(candidates: Any) -> int:
    """``candidates`` as an int >= 1, else ``ValueError``."""
    if isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer)):
        raise ValueError(f"candidates must be an int >= 1 (candidates drawn per molecule), got {candidates!r}")
    if int(candidates) < 1:
        raise ValueError(f"candidates must be >= 1 (candidates drawn per molecule), got {candidates}")
    return int(candidates)


def repeat_for_candidates(condition: Mapping[str, Any] | None, n: int, k: int) -> dict[str, Any] | None:
    """The ``condition`` of ``n`` molecules for their ``n * k`` candidates: per-sample values (arrays
    of ``n``) repeated ``k`` times each (candidate ``j`` of molecule ``i`` at ``i * k + j``), scalars
    kept. Other lengths are left for the condition's own checks to report."""
    if condition is None:
        return None
    out: dict[str, Any] = {}
    for key, v in condition.items():
        if np.ndim(v) == 0:
            out[key] = v
            continue
        arr = np.asarray(v)
        out[key] = np.repeat(arr, k, axis=0) if arr.shape[0] == n else v
    return out


def select_nearest(targets: Mapping[str, np.ndarray], achieved: Mapping[str, np.ndarray], scales: Mapping[str, float],
                   tiers: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of the chosen candidate of each molecule ``(n,)`` (into the ``n * k`` candidates, molecule
    ``i``'s at ``i * k .. i * k + k - 1``) and its distance ``(n,)`` (``inf`` when no candidate has
    all targeted properties). ``targets`` / ``achieved``: ``{name: (n * k,)}`` raw values (NaN target
    = not asked; NaN achieved = not computable, i.e. invalid); ``scales``: the std of each name;
    ``tiers``: validity tier per candidate (module constants). Ties go to the earliest candidate."""
    names = [m for m in targets if m in achieved]
    if not names:
        raise ValueError("best-of-k selection needs a target among the properties computed for the samples")
    tiers = np.asarray(tiers, dtype=np.int64)
    total = tiers.shape[0]
    if total % k:
        raise ValueError(f"{total} candidates are not a whole number of groups of {k}")
    dist = np.zeros(total)
    for m in names:
        t = np.asarray(targets[m], dtype=np.float64).reshape(-1)
        a = np.asarray(achieved[m], dtype=np.float64).reshape(-1)
        s = float(scales.get(m, 1.0))
        if not s > 0:
            raise ValueError(f"the scale of {m!r} must be positive, got {s}")
        asked = ~np.isnan(t)
        term = np.where(asked, ((a - np.nan_to_num(t)) / s) ** 2, 0.0)
        dist = dist + np.where(asked & np.isnan(a), np.inf, term)
    dist = np.where(np.isnan(dist), np.inf, dist)
    # a candidate whose properties cannot all be computed ranks with the invalid ones
    tiers = np.where(np.isinf(dist), np.maximum(tiers, INVALID), tiers)
    g_t, g_d = tiers.reshape(-1, k), dist.reshape(-1, k)
    # lexicographic (tier, distance, position): the tier dominates any distance
    choice = np.array([np.lexsort((np.arange(k), d, t))[0] for t, d in zip(g_t, g_d)], dtype=np.int64)
    idx = np.arange(g_t.shape[0]) * k + choice
    return idx, dist[idx]


def candidate_tiers(out: Any) -> np.ndarray:
    """Validity tier of each sample of a :class:`~graphdiff.pipelines.results.MoleculeSamples`."""
    results = getattr(getattr(out, "report", None), "results", None)
    tiers = []
    for i, mol in enumerate(out.molecules):
        if mol is None:
            tiers.append(INVALID)
        elif results is not None and bool(getattr(results[i], "valid_without_correction", True)):
            tiers.append(VALID_WITHOUT_CORRECTION)
        else:
            tiers.append(VALID_CORRECTED if results is not None else VALID_WITHOUT_CORRECTION)
    return np.asarray(tiers, dtype=np.int64)


def sample_best_of_k(pipe: Any, n: int, k: int, *, condition: Mapping[str, Any] | None, predictor: Any = None,
                     num_nodes: Any = None, **kwargs: Any) -> Any:
    """``n`` molecules of ``pipe``, each the nearest of ``k`` candidates to its targets (module
    docstring); ``kwargs`` go to :func:`~graphdiff.guidance.sampling.sample_guided` as they are."""
    import time

    import torch

    from ..data.properties import PROPERTIES
    from .sampling import sample_guided
    from .training import condition_spec

    name = pipe.card.get("name") or pipe.dataset or "this model"
    if pipe.vocabulary is None:
        raise ValueError(f"candidates > 1 (best-of-k) picks by RDKit properties: it needs a molecule model; {name} "
                         "generates plain graphs")
    if not condition:
        raise ValueError("candidates > 1 (best-of-k) picks the candidate nearest the targets: it needs a condition, "
                         "e.g. condition={'logp': 1.5}")
    asked = [m for m in condition if m in PROPERTIES]
    if not asked:
        raise ValueError(f"candidates > 1 (best-of-k) scores RDKit properties ({', '.join(PROPERTIES)}); the condition "
                         f"has none: {', '.join(condition)}")
    if predictor is not None:
        from .predictor import as_predictor

        predictor = as_predictor(predictor, device=pipe.device)
    scales: dict[str, float] = {}
    for spec in (getattr(predictor, "spec", None), condition_spec(pipe)):  # the model's std wins
        if spec is not None:
            scales.update({e.name: float(e.std) for e in spec.entries if e.kind != "label"})
    if num_nodes is not None:
        sizes = torch.as_tensor(num_nodes, dtype=torch.long).reshape(-1)
        if sizes.numel() != n:
            raise ValueError(f"num_nodes has {sizes.numel()} entries for n={n}")
        num_nodes = sizes.repeat_interleave(k)
    t0 = time.perf_counter()
    out = sample_guided(pipe, n * k, condition=repeat_for_candidates(condition, n, k), predictor=predictor,
                        num_nodes=num_nodes, **kwargs)
    targets = {m: v for m, v in out.targets.items() if m in out.properties}
    idx, _ = select_nearest(targets, out.properties, scales, candidate_tiers(out), k)
    pick = torch.as_tensor(idx, dtype=torch.long)
    info = {**out.info, "candidates": k, "selection": "nearest RDKit properties to the targets (standardised), "
            "valid without correction first"}
    best = pipe._wrap(out.state[pick], nfe=out.nfe, seconds=time.perf_counter() - t0, info=info,
                      nfe_per_graph=out.nfe_per_graph * k)
    best.targets = {m: np.asarray(v)[idx] for m, v in out.targets.items()}
    best.properties = {m: np.asarray(v)[idx] for m, v in out.properties.items()}
    return best
