"""Kernels and the biased MMD^2 estimator of GraphRNN / GDSS / SPECTRE, vectorised.

Definitions (You et al. 2018, GraphRNN, Sec. 4.3; GDSS ``evaluation/mmd.py``; SPECTRE / DiGress
``analysis/dist_helper.py``): for samples ``x_1..x_m`` and ``y_1..y_n``

    MMD^2 = mean_{i,i'} k(x_i, x_i') + mean_{j,j'} k(y_j, y_j') - 2 mean_{i,j} k(x_i, y_j)

with *all* pairs including the diagonal (the biased V-statistic; it is >= 0 for a positive
definite kernel and 0 for identical sets). Kernels ``k(x, y) = exp(-d(x, y)^2 / (2 sigma^2))``:

- ``gaussian_emd``: ``d`` = earth mover's distance between two 1-D histograms with ground cost
  ``|i - j| / distance_scaling``. For equal-mass histograms on a line this equals the L1 distance
  between the cumulative sums (``sum_k |C_x[k] - C_y[k]| / distance_scaling``), which is what we
  compute; it equals ``pyemd.emd`` and ``scipy.stats.wasserstein_distance`` on the bin indices.
- ``gaussian_tv``: ``d`` = total variation ``sum_k |x_k - y_k| / 2``.
- ``gaussian``: ``d`` = Euclidean distance ``||x - y||_2``.

Histograms of different lengths are padded with trailing zeros to the longest one (GDSS pads each
pair to the longer of the two; padding all to the global maximum gives the same distances). With
``is_hist=True`` every histogram is first divided by its sum (a pmf), as the references do.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import unknown_name

__all__ = [
    "KERNELS",
    "pad_histograms",
    "normalise_histograms",
    "pairwise_distances",
    "kernel_matrix",
    "mmd2",
    "emd_1d",
]

KERNELS = ("gaussian_emd", "gaussian_tv", "gaussian")

# Pairwise blocks are computed in chunks of about this many float64 entries (memory ~ 8x bytes).
_CHUNK_ELEMS = 4_000_000


def pad_histograms(samples: Sequence[np.ndarray] | np.ndarray, length: int | None = None) -> np.ndarray:
    """Stack 1-D arrays of possibly different lengths into ``(n, L)`` float64, zero-padded on the
    right to ``L = max(length, longest)``."""
    arrs = [np.asarray(s, dtype=np.float64).reshape(-1) for s in samples]
    L = max([a.shape[0] for a in arrs] + [length or 0, 1])
    out = np.zeros((len(arrs), L), dtype=np.float64)
    for i, a in enumerate(arrs):
        out[i, : a.shape[0]] = a
    return out


def normalise_histograms(H: np.ndarray) -> np.ndarray:
    """Divide each row of ``(n, L)`` by its sum (rows summing to 0 become ``nan``, as in the
    reference code, where ``0 / 0`` is ``nan``)."""
    s = H.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return H / s


def _pairwise_l1(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``D[i, j] = sum_k |X[i, k] - Y[j, k]|`` for ``X (m, L)``, ``Y (n, L)`` in float64.

    Uses ``torch.cdist(p=1)`` (a core dependency; ~7x faster than numpy broadcasting), in row
    chunks; agrees with the numpy sum to ~1e-14 relative (summation order only)."""
    import torch

    m, L = X.shape
    n = Y.shape[0]
    D = np.empty((m, n), dtype=np.float64)
    rows = max(1, _CHUNK_ELEMS // max(1, n))
    Yt = torch.from_numpy(np.ascontiguousarray(Y, dtype=np.float64))
    for s in range(0, m, rows):
        Xt = torch.from_numpy(np.ascontiguousarray(X[s : s + rows], dtype=np.float64))
        D[s : s + rows] = torch.cdist(Xt, Yt, p=1.0).numpy()
    return D


def _pairwise_sqeuclid(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``D[i, j] = ||X[i] - Y[j]||^2`` by explicit differences (no cancellation error)."""
    m, L = X.shape
    n = Y.shape[0]
    D = np.empty((m, n), dtype=np.float64)
    rows = max(1, _CHUNK_ELEMS // max(1, n * L))
    for s in range(0, m, rows):
        diff = X[s : s + rows, None, :] - Y[None, :, :]
        D[s : s + rows] = np.einsum("ijk,ijk->ij", diff, diff)
    return D


def pairwise_distances(
    X: np.ndarray, Y: np.ndarray, kernel: str, distance_scaling: float = 1.0
) -> np.ndarray:
    """Distance matrix ``(m, n)`` entering ``kernel`` (EMD, TV, or Euclidean; see module doc).

    ``X (m, L)`` and ``Y (n, L)`` must already be padded to the same ``L``."""
    if kernel == "gaussian_emd":
        return _pairwise_l1(np.cumsum(X, axis=1), np.cumsum(Y, axis=1)) / distance_scaling
    if kernel == "gaussian_tv":
        return _pairwise_l1(X, Y) / 2.0
    if kernel == "gaussian":
        return np.sqrt(_pairwise_sqeuclid(X, Y))
    raise unknown_name("kernel", kernel, KERNELS)


def kernel_matrix(
    X: np.ndarray, Y: np.ndarray, kernel: str, sigma: float, distance_scaling: float = 1.0
) -> np.ndarray:
    """``K[i, j] = exp(-d(X[i], Y[j])^2 / (2 sigma^2))`` with ``d`` from :func:`pairwise_distances`."""
    if kernel == "gaussian":
        d2 = _pairwise_sqeuclid(X, Y)
    else:
        d = pairwise_distances(X, Y, kernel, distance_scaling)
        d2 = d * d
    return np.exp(-d2 / (2.0 * sigma * sigma))


def emd_1d(x: np.ndarray, y: np.ndarray, distance_scaling: float = 1.0) -> float:
    """EMD between two equal-mass 1-D histograms (ground cost ``|i - j| / distance_scaling``),
    zero-padding the shorter one."""
    H = pad_histograms([x, y])
    return float(np.abs(np.cumsum(H[0]) - np.cumsum(H[1])).sum() / distance_scaling)


def mmd2(
    samples1: Sequence[np.ndarray] | np.ndarray,
    samples2: Sequence[np.ndarray] | np.ndarray,
    kernel: str = "gaussian_emd",
    sigma: float = 1.0,
    distance_scaling: float = 1.0,
    is_hist: bool = True,
    n_extra1: int = 0,
    n_extra2: int = 0,
) -> float:
    """Biased MMD^2 between two samples of 1-D statistics (see module doc).

    Args:
        samples1, samples2: sequences of 1-D arrays (histograms or vectors), lengths may differ.
        kernel: ``"gaussian_emd"``, ``"gaussian_tv"`` or ``"gaussian"``.
        sigma: kernel bandwidth.
        distance_scaling: EMD ground-cost divisor (GDSS clustering: number of bins, 100).
        is_hist: normalise every histogram to sum 1 first (the references' ``is_hist``).
        n_extra1, n_extra2: number of additional "atoms" in each sample that have kernel value 1
            with each other and 0 with every real statistic (used for the ``empty="include"``
            policy: an empty graph is a point far from every non-empty graph).

    Returns:
        The MMD^2 value (float; ``nan`` if a sample is empty).
    """
    if kernel not in KERNELS:
        raise unknown_name("kernel", kernel, KERNELS)
    m_real, n_real = len(samples1), len(samples2)
    m, n = m_real + n_extra1, n_real + n_extra2
    if m == 0 or n == 0:
        return float("nan")
    L = max([len(np.asarray(s).reshape(-1)) for s in list(samples1) + list(samples2)] + [1])
    X = pad_histograms(samples1, L) if m_real else np.zeros((0, L))
    Y = pad_histograms(samples2, L) if n_real else np.zeros((0, L))
    if is_hist:
        X, Y = normalise_histograms(X), normalise_histograms(Y)

    def k_sum(A: np.ndarray, B: np.ndarray) -> float:
        if A.shape[0] == 0 or B.shape[0] == 0:
            return 0.0
        return float(kernel_matrix(A, B, kernel, sigma, distance_scaling).sum())

    kxx = (k_sum(X, X) + n_extra1 * n_extra1) / (m * m)
    kyy = (k_sum(Y, Y) + n_extra2 * n_extra2) / (n * n)
    kxy = (k_sum(X, Y) + n_extra1 * n_extra2) / (m * n)
    return kxx + kyy - 2.0 * kxy


