"""FCD: our Fréchet distance against closed forms and scipy, our ChemNet encoding and FCD against
the ``fcd`` package, and the reference-statistics cache."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.metrics import fcd as fcd_mod
from graphdiff.metrics.fcd import (
    CHEMNET_PAD_LEN,
    GaussianStats,
    encode_smiles,
    fcd,
    fcd_stats,
    frechet_distance,
)

# a small, varied set: rings, aromatics, charges, halogens, stereo, two fragments
SMILES = [
    "CCO", "CC(=O)O", "c1ccccc1", "c1ccncc1", "C1CCCCC1", "CC(C)C", "C#N", "CC#CC", "O=C=O",
    "[NH3+]CC([O-])=O", "FC(F)(F)Cl", "BrCCBr", "C[Si](C)(C)C", "C1=CC=CN1", "c1ccc2ccccc2c1",
    "CC(=O)Nc1ccc(O)cc1", "C[C@H](N)C(=O)O", "OC1COC(O)C1O", "CN1C=NC2=C1C(=O)N(C)C(=O)N2C",
    "C1CC2CCC1C2", "N#CC1=CC=CC=C1", "CCOC(=O)C", "CCN(CC)CC", "OCCO", "C=CC=C", "CC=O",
    "C1COCCN1", "c1ccsc1", "c1ccoc1", "CS(=O)(=O)C", "C.CC", "OP(=O)(O)O", "CCCCCCCC", "CI",
]  # fmt: skip


def _fcd_package(a: list[str], b: list[str]) -> float:
    """``fcd.get_fcd`` on one torch / BLAS thread (it is much slower on shared cores)."""
    import fcd as fcd_pkg
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore")  # np.row_stack / sqrtm(disp=) deprecations inside fcd
            return float(fcd_pkg.get_fcd(a, b, device="cpu"))
    finally:
        torch.set_num_threads(threads)


def _random_spd(rng: np.random.Generator, d: int, n: int | None = None) -> np.ndarray:
    x = rng.normal(size=(n or 3 * d, d))
    return np.cov(x.T)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 12), st.integers(0, 10_000))
def test_frechet_diagonal_closed_form(d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    a, b = rng.uniform(0.0, 3.0, size=d), rng.uniform(0.0, 3.0, size=d)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_frechet_commuting_closed_form() -> None:
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(16, 16)))
    a, b = rng.uniform(0.1, 2.0, 16), rng.uniform(0.1, 2.0, 16)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T
    mu = rng.normal(size=16)
    want = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu, s1, mu, s2) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("d", [2, 20, 64])
def test_frechet_matches_scipy_sqrtm(d: int) -> None:
    rng = np.random.default_rng(d)
    s1, s2 = _random_spd(rng, d), _random_spd(rng, d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean).real
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want, rel=1e-8)


def test_frechet_singular_covariances_and_self_distance() -> None:
    rng = np.random.default_rng(1)
    s1, s2 = _random_spd(rng, 32, n=8), _random_spd(rng, 32, n=5)  # rank 7 and 4
    mu = rng.normal(size=32)
    assert frechet_distance(mu, s1, mu, s1) == 0.0 or frechet_distance(mu, s1, mu, s1) < 1e-10
    v = frechet_distance(mu, s1, mu + 1, s2)
    assert np.isfinite(v) and v >= 32.0  # at least the squared mean difference
    with pytest.raises(ValueError):
        frechet_distance(mu, s1, mu[:-1], s2)


def test_encoding_matches_fcd_package() -> None:
    from fcd.utils import get_one_hot

    smiles = SMILES + ["ClBr[Si]X%12zA", "C" * 10]
    x, truncated = encode_smiles(smiles)
    assert x.shape == (len(smiles), 35, CHEMNET_PAD_LEN) and truncated == 0
    for i, s in enumerate(smiles):
        ref = get_one_hot(s, pad_len=CHEMNET_PAD_LEN) / 35
        np.testing.assert_array_equal(x[i].numpy(), ref.T.astype(np.float32))


def test_encoding_truncates_long_smiles_like_fcd_torch() -> None:
    s = "C" * 400
    x, truncated = encode_smiles([s, "CC"])
    assert truncated == 1
    assert x[0, 0].sum().item() == pytest.approx(349 / 35)  # 349 carbons
    assert x[0, 34, 349].item() == pytest.approx(1 / 35)  # then the end token


def test_fcd_equals_fcd_package_and_self_distance_is_zero() -> None:
    from graphdiff.metrics.molecules import canonicalize_smiles

    a, b = canonicalize_smiles(SMILES[:20]), canonicalize_smiles(SMILES[14:])  # fcd does not canonicalise
    want = _fcd_package(a, b)
    got = fcd(a, b)
    assert got == pytest.approx(want, rel=1e-4)
    assert fcd(SMILES, SMILES) == pytest.approx(0.0, abs=1e-6)


def test_fcd_stats_canonicalises_and_counts_invalid() -> None:
    st_ = fcd_stats(["OCC", "CCO", "not a smiles", "", None, "C1CC"])  # type: ignore[list-item]
    assert (st_.n_given, st_.n_invalid, st_.stats.n) == (6, 4, 2)
    # both strings are ethanol after canonicalisation, so the covariance is exactly zero
    assert np.abs(st_.stats.sigma).max() == 0.0
    with pytest.raises(ValueError):
        GaussianStats.from_activations(np.zeros((1, 512)))


def test_reference_stats_cache_roundtrip(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path))
    first = fcd_stats(SMILES, cache=True)
    files = list((tmp_path / "fcd_stats").glob("*.npz"))
    assert len(files) == 1

    def boom(*args, **kwargs):
        raise AssertionError("ChemNet was run although the statistics are cached")

    monkeypatch.setattr(fcd_mod, "chemnet_activations", boom)
    # different raw strings, same canonical list -> same cache entry
    second = fcd_stats(["OCC" if s == "CCO" else s for s in SMILES], cache=True)
    np.testing.assert_array_equal(first.stats.mu, second.stats.mu)
    np.testing.assert_array_equal(first.stats.sigma, second.stats.sigma)
    assert second.stats.n == len(SMILES)
    with np.load(files[0], allow_pickle=False) as z:  # plain arrays, no pickles
        assert set(z.files) == {"mu", "sigma", "n", "n_truncated"}


@pytest.mark.data
@pytest.mark.slow
def test_fcd_equals_fcd_package_on_qm9(shared_data) -> None:
    import pandas as pd

    from graphdiff.metrics.molecules import canonicalize_smiles

    df = pd.read_csv(shared_data / "molecules/qm9/qm9.csv.gz", index_col=0)
    a = canonicalize_smiles(df.SMILES1.iloc[:300])
    b = canonicalize_smiles(df.SMILES1.iloc[-300:])
    want = _fcd_package(a, b)
    assert fcd(a, b) == pytest.approx(want, rel=1e-4)


def test_chemnet_moments_stream_equals_batch_fit() -> None:
    from graphdiff.metrics.fcd import chemnet_activations, chemnet_moments

    acts, _ = chemnet_activations(SMILES, batch_size=2)  # float32 ChemNet output depends on the batch size
    whole = GaussianStats.from_activations(acts)
    moments, truncated = chemnet_moments(SMILES, chunk=4, batch_size=2)
    streamed = GaussianStats.from_moments(moments)
    assert truncated == 0 and streamed.n == whole.n == len(SMILES)
    np.testing.assert_allclose(streamed.mu, whole.mu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(streamed.sigma, whole.sigma, rtol=1e-7, atol=1e-12)
