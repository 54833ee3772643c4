"""Kernels and the biased MMD^2 estimator against hand values, scipy, and a GDSS-style loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import wasserstein_distance

from graphdiff.metrics.mmd import emd_1d, kernel_matrix, mmd2, pad_histograms, pairwise_distances

hist = st.lists(st.integers(0, 20), min_size=1, max_size=12).filter(lambda h: sum(h) > 0)


@settings(max_examples=60, deadline=None)
@given(hist, hist, st.sampled_from([1.0, 3.0, 100.0]))
def test_emd_equals_scipy_wasserstein(x, y, scaling):
    x = np.asarray(x, float) / sum(x)
    y = np.asarray(y, float) / sum(y)
    X, Y = pad_histograms([x, y])
    support = np.arange(X.shape[0]) / scaling
    expected = wasserstein_distance(support, support, X, Y)
    assert emd_1d(x, y, distance_scaling=scaling) == pytest.approx(expected, abs=1e-12)
    D = pairwise_distances(np.stack([X, Y]), np.stack([X, Y]), "gaussian_emd", scaling)
    assert D[0, 1] == pytest.approx(expected, abs=1e-12)
    assert D[0, 0] == 0.0


def test_hand_computed_kernel_values():
    # degree pmfs: star K_{1,4} -> [0, .8, 0, 0, .2]; triangle -> [0, 0, 1]
    star, tri = np.array([0, 0.8, 0, 0, 0.2]), np.array([0, 0, 1.0])
    X, Y = pad_histograms([star], 5), pad_histograms([tri], 5)
    # EMD: CDFs [0,.8,.8,.8,1] vs [0,0,1,1,1] -> .8 + .2 + .2 = 1.2 ; TV: (.8 + 1 + .2) / 2 = 1
    assert pairwise_distances(X, Y, "gaussian_emd")[0, 0] == pytest.approx(1.2)
    assert pairwise_distances(X, Y, "gaussian_tv")[0, 0] == pytest.approx(1.0)
    assert pairwise_distances(X, Y, "gaussian")[0, 0] == pytest.approx(math.sqrt(0.64 + 1 + 0.04))
    assert kernel_matrix(X, Y, "gaussian_emd", sigma=1.0)[0, 0] == pytest.approx(math.exp(-1.44 / 2))
    assert kernel_matrix(X, Y, "gaussian_tv", sigma=0.5)[0, 0] == pytest.approx(math.exp(-1.0 / 0.5))
    # one sample each: MMD^2 = k(x,x) + k(y,y) - 2 k(x,y) = 2 - 2 exp(-1.44/2)
    assert mmd2([star], [tri], "gaussian_emd", sigma=1.0) == pytest.approx(2 - 2 * math.exp(-0.72))


def test_unnormalised_histograms_are_normalised_when_is_hist():
    a, b = np.array([0, 4, 0, 0, 1]), np.array([0, 0, 3])
    assert mmd2([a], [b], "gaussian_emd") == pytest.approx(2 - 2 * math.exp(-0.72))
    # orbit-style vectors are used as they are
    u, v = np.array([3.0, 4.0]), np.array([0.0, 0.0])
    assert mmd2([u], [v], "gaussian", sigma=5.0, is_hist=False) == pytest.approx(2 - 2 * math.exp(-25 / 50))


def _gdss_loop_mmd(s1, s2, kernel, sigma, scaling, is_hist):
    """Straight transcription of the reference definition: pairwise padding, scipy EMD, sums."""

    def pad(x, y):
        L = max(len(x), len(y))
        return np.pad(np.asarray(x, float), (0, L - len(x))), np.pad(np.asarray(y, float), (0, L - len(y)))

    def k(x, y):
        x, y = pad(x, y)
        if kernel == "gaussian_emd":
            idx = np.arange(len(x))
            d = wasserstein_distance(idx, idx, x, y) / scaling
        elif kernel == "gaussian_tv":
            d = np.abs(x - y).sum() / 2
        else:
            d = np.linalg.norm(x - y)
        return math.exp(-d * d / (2 * sigma * sigma))

    if is_hist:
        s1 = [np.asarray(s, float) / np.sum(s) for s in s1]
        s2 = [np.asarray(s, float) / np.sum(s) for s in s2]

    def disc(a, b):
        return sum(k(x, y) for x in a for y in b) / (len(a) * len(b))

    return disc(s1, s1) + disc(s2, s2) - 2 * disc(s1, s2)


@pytest.mark.parametrize(
    "kernel,sigma,scaling,is_hist",
    [("gaussian_emd", 1.0, 1.0, True), ("gaussian_emd", 0.1, 100.0, True), ("gaussian_tv", 0.1, 1.0, True),
     ("gaussian", 30.0, 1.0, False), ("gaussian_tv", 30.0, 1.0, False)],
)
def test_matches_reference_loop_with_ragged_lengths(kernel, sigma, scaling, is_hist):
    rng = np.random.default_rng(1)
    s1 = [rng.integers(0, 6, size=rng.integers(1, 9)) + 1 for _ in range(7)]
    s2 = [rng.integers(0, 6, size=rng.integers(1, 12)) + 1 for _ in range(5)]
    if not is_hist:
        s1 = [s * 10.0 for s in s1]
        s2 = [s * 10.0 for s in s2]
    ours = mmd2(s1, s2, kernel, sigma=sigma, distance_scaling=scaling, is_hist=is_hist)
    ref = _gdss_loop_mmd(s1, s2, kernel, sigma, scaling, is_hist)
    assert ours == pytest.approx(ref, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.lists(hist, min_size=1, max_size=6), st.lists(hist, min_size=1, max_size=6),
       st.sampled_from(["gaussian_emd", "gaussian_tv", "gaussian"]))
def test_mmd_properties(a, b, kernel):
    a = [np.asarray(x) for x in a]
    b = [np.asarray(x) for x in b]
    assert mmd2(a, a, kernel) == pytest.approx(0.0, abs=1e-12)
    v = mmd2(a, b, kernel)
    assert v >= -1e-12  # the biased estimator is a squared RKHS norm
    assert v == pytest.approx(mmd2(b, a, kernel), abs=1e-12)


def test_extra_atoms_for_empty_graphs():
    x = np.array([1.0, 1.0])
    # reference {x}; generated {x, empty}: kxx = 1, kyy = (1 + 1) / 4, kxy = 1 / 2
    assert mmd2([x], [x], n_extra2=1) == pytest.approx(1 + 0.5 - 1.0)
    assert mmd2([x], [], n_extra2=2) == pytest.approx(1 + 1 - 0)


def test_chunked_pairwise_matches_unchunked(monkeypatch):
    import graphdiff.metrics.mmd as m

    rng = np.random.default_rng(0)
    X, Y = rng.random((37, 11)), rng.random((23, 11))
    full = m.pairwise_distances(X, Y, "gaussian_emd")
    monkeypatch.setattr(m, "_CHUNK_ELEMS", 50)
    np.testing.assert_allclose(m.pairwise_distances(X, Y, "gaussian_emd"), full, rtol=0, atol=1e-13)
    np.testing.assert_allclose(
        m.pairwise_distances(X, Y, "gaussian"), np.linalg.norm(X[:, None] - Y[None], axis=-1), atol=1e-12
    )


def test_unknown_kernel():
    with pytest.raises(ValueError, match="gaussian_emd"):
        mmd2([np.ones(2)], [np.ones(2)], "laplace")
