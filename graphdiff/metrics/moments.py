"""Streaming mean and covariance (Chan, Golub and LeVeque's pairwise update).

Used to fit the ChemNet Gaussians of FCD batch by batch, so memory no longer grows with the number
of molecules: only the mean ``(D,)`` and the centred sum of squares ``(D, D)`` are kept.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RunningMoments"]


class RunningMoments:
    """Running mean and covariance of rows ``(b, D)`` fed in batches.

    ``update`` merges a batch's own mean and centred sum of squares into the running ones
    (Chan et al. 1979, eq. 2.1b), which is exact in exact arithmetic and avoids the cancellation of
    ``E[x x^T] - mu mu^T``. ``covariance()`` divides by ``n - 1`` as ``np.cov`` does."""

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.dim = int(dim)
        self.n = 0
        self.mean = np.zeros(self.dim, dtype=np.float64)
        self.m2 = np.zeros((self.dim, self.dim), dtype=np.float64)

    def update(self, rows: np.ndarray) -> None:
        """Add the rows of ``rows`` ``(b, D)`` (any float dtype; accumulated in float64)."""
        x = np.asarray(rows, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"expected rows of shape (b, {self.dim}), got {x.shape}")
        b = x.shape[0]
        if b == 0:
            return
        mb = x.mean(axis=0)
        xc = x - mb
        m2b = xc.T @ xc
        n = self.n + b
        delta = mb - self.mean
        self.m2 += m2b + np.outer(delta, delta) * (self.n * b / n)
        self.mean += delta * (b / n)
        self.n = n

    def covariance(self) -> np.ndarray:
        """Unbiased covariance ``(D, D)`` (``ddof=1``); needs ``n >= 2``."""
        if self.n < 2:
            raise ValueError(f"need at least 2 rows for a covariance, got {self.n}")
        return self.m2 / (self.n - 1)
