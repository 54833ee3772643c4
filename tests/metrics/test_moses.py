"""MOSES and GuacaMol metric sets: hand-checkable values on tiny fixtures (a set against itself,
identical molecules, disjoint counts), the streaming maths against its closed form, filters on
named cases, the reference cache and the suite switch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.metrics import moses as moses_mod
from graphdiff.metrics.guacamol import continuous_kldiv, discrete_kldiv, guacamol_metrics, reference_subset
from graphdiff.metrics.molecules import molecule_metrics
from graphdiff.metrics.moments import RunningMoments
from graphdiff.metrics.moses import (
    MosesReference,
    cosine_similarity_counts,
    moses_metrics,
    moses_reference,
    passes_moses_filters,
    tanimoto_aggregate,
)

Chem = pytest.importorskip("rdkit.Chem")

# drug-like molecules with rings (so scaffolds with >= 2 rings exist) and a few small ones
SET = [
    "CC(=O)Nc1ccc(O)cc1", "c1ccc2ccccc2c1", "O=C(O)c1ccccc1O", "CN1CCC[C@H]1c1cccnc1", "c1ccc(-c2ccccn2)cc1",
    "CC(C)Cc1ccc(C(C)C(=O)O)cc1", "O=C1CCCN1", "Cc1ccc(S(N)(=O)=O)cc1", "COc1ccc2[nH]cc(CCN)c2c1",
    "c1ccc2c(c1)CCN2", "CCOC(=O)c1ccc(N)cc1", "O=c1cc[nH]c(=O)[nH]1", "CC1(C)CCCC1", "Clc1ccc(Cl)cc1",
    "c1ccc(Cc2ccccc2)cc1", "OC1CCN(C2CCCCC2)CC1",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHDIFF_CACHE", str(tmp_path / "cache"))


# ----------------------------------------------------------------------------- maths


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=6), st.integers(0, 2**31 - 1))
def test_running_moments_equal_np_cov(sizes, seed) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(3.0, 2.0, size=(sum(sizes) + 2, 4)) * rng.uniform(0.1, 10, size=4)
    rm = RunningMoments(4)
    start = 0
    for b in [*sizes, 2]:
        rm.update(x[start : start + b])
        start += b
    np.testing.assert_allclose(rm.mean, x.mean(axis=0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(rm.covariance(), np.cov(x.T), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError):
        rm.update(np.zeros((2, 3)))
    with pytest.raises(ValueError):
        RunningMoments(2).covariance()


def _brute_tanimoto(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty((len(a), len(b)))
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            inter, union = np.sum(x & y), np.sum(x | y)
            out[i, j] = 1.0 if union == 0 else inter / union
    return out


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**31 - 1), st.sampled_from([1, 2]))
def test_tanimoto_aggregate_against_brute_force(n_gen, n_ref, seed, p) -> None:
    rng = np.random.default_rng(seed)
    g = (rng.random((n_gen, 16)) < 0.3).astype(np.uint8)
    r = (rng.random((n_ref, 16)) < 0.3).astype(np.uint8)
    g[0] = 0  # an empty fingerprint: 0/0 against another empty one counts as 1 (MOSES)
    t = _brute_tanimoto(g, r)
    gp, rp = np.packbits(g, axis=1), np.packbits(r, axis=1)
    np.testing.assert_allclose(tanimoto_aggregate(gp, rp, agg="max", block=3), t.max(axis=1), rtol=1e-6)
    want = (t**p).mean(axis=1) ** (1 / p)
    np.testing.assert_allclose(tanimoto_aggregate(gp, rp, agg="mean", p=p, block=4), want, rtol=1e-6)
    self_t = _brute_tanimoto(g, g)
    np.fill_diagonal(self_t, 0.0)
    np.testing.assert_allclose(tanimoto_aggregate(gp, gp, agg="max", exclude_self=True, block=2), self_t.max(axis=1), rtol=1e-6)


def test_cosine_similarity_counts() -> None:
    a = {"x": 2, "y": 1}
    assert cosine_similarity_counts(a, a) == pytest.approx(1.0)
    assert cosine_similarity_counts(a, {"x": 20, "y": 10}) == pytest.approx(1.0)  # scale-free
    assert cosine_similarity_counts(a, {"z": 5}) == 0.0
    assert cosine_similarity_counts({"x": 1}, {"x": 1, "y": 1}) == pytest.approx(1 / math.sqrt(2))
    assert math.isnan(cosine_similarity_counts({}, a))


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("smiles", "ok"),
    [
        ("c1ccccc1", True),
        ("CC(=O)Nc1ccc(O)cc1", True),
        ("C[N+](C)(C)C", False),  # charged
        ("CCP(C)C", False),  # P is not an allowed atom
        ("C1CCCCCCC1", False),  # ring of 8
        ("ClCc1ccccc1", False),  # MCF4: CH2-halide
        ("CC=O", False),  # MCF7: aldehyde
        ("c1ccc(cc1)N=Nc1ccccc1", False),  # azo (MCF11 and PAINS azo_A)
        ("Oc1ccccc1O", False),  # PAINS catechol_A
    ],
)
def test_filters_named_cases(smiles, ok) -> None:
    assert passes_moses_filters(Chem.MolFromSmiles(smiles)) is ok
    assert passes_moses_filters(None) is False


def test_filter_lists_are_the_moses_sources() -> None:
    pats = moses_mod._filter_patterns()
    assert len(pats) == 22 + 480  # MOSES mcf.csv + RDKit's wehi_pains.csv


# ----------------------------------------------------------------------------- the metric set


def test_set_against_itself_hand_values() -> None:
    res = moses_metrics(SET + ["xx", None], SET, test_scaffolds=SET, train=SET[:4], ks=(5, 100))
    v = res.values
    assert v["valid"] == pytest.approx(len(SET) / (len(SET) + 2))
    assert v["unique@5"] == 1.0 and v["unique@100"] == 1.0
    assert v["novelty"] == pytest.approx((len(SET) - 4) / len(SET))
    for name in ("snn", "frag", "scaf", "snn_testsf", "frag_testsf", "scaf_testsf"):
        assert v[name] == pytest.approx(1.0), name
    for name in ("logp", "sa", "qed", "weight"):
        assert v[name] == pytest.approx(0.0, abs=1e-12), name
    assert v["fcd"] == pytest.approx(0.0, abs=1e-4) and v["fcd_testsf"] == pytest.approx(v["fcd"], abs=1e-9)
    assert 0.5 < v["intdiv1"] < 1.0 and v["intdiv2"] < v["intdiv1"]  # power mean p=2 >= p=1
    expected_pass = sum(passes_moses_filters(Chem.MolFromSmiles(s)) for s in SET) / len(SET)
    assert v["filters"] == pytest.approx(expected_pass)
    assert res.counts["n_invalid"] == 2 and res.counts["n_test"] == len(SET)
    cards = {c.name: c for c in res.cards}
    assert "fewer than k = 100" in cards["unique@100"].notes
    assert "MOSES scores 30,000 samples" in cards["fcd"].notes
    assert all(c.protocol == "moses" for c in res.cards)
    assert [c.name for c in res.cards][:3] == ["valid", "unique@5", "unique@100"]


def test_identical_molecules_and_duplicates() -> None:
    res = moses_metrics(["CCO", "OCC", "CCO", "c1ccccc1"], SET, metrics=["unique@3", "unique@10", "intdiv1", "intdiv2"])
    assert res["unique@3"] == pytest.approx(1 / 3)
    assert res["unique@10"] == pytest.approx(2 / 4)
    same = moses_metrics(["CCO"] * 5, SET, metrics=["intdiv1", "intdiv2"])
    assert same["intdiv1"] == pytest.approx(0.0, abs=1e-12) and same["intdiv2"] == pytest.approx(0.0, abs=1e-12)


def test_no_scaffolds_gives_nan_and_errors() -> None:
    res = moses_metrics(["CCO", "CCN"], SET, metrics=["scaf"])
    assert math.isnan(res["scaf"])  # no generated scaffold with >= 2 rings
    with pytest.raises(ValueError, match="valid choices"):
        moses_metrics(["CCO"], SET, metrics=["snnn"])
    with pytest.raises(ValueError, match="train"):
        moses_metrics(["CCO"], SET, metrics=["novelty"])
    with pytest.raises(ValueError, match="test_scaffolds"):
        moses_metrics(["CCO"], SET, metrics=["snn_testsf"])
    none_valid = moses_metrics([None, "xx"], SET, metrics=["valid", "snn", "fcd", "filters", "logp"])
    assert none_valid["valid"] == 0.0 and all(math.isnan(none_valid[m]) for m in ("snn", "fcd", "filters", "logp"))


def test_reference_cache_and_roundtrip(tmp_path, monkeypatch) -> None:
    calls: list[int] = []
    real = moses_mod._featurize_ref

    def counting(chunk):
        calls.append(len(chunk))
        return real(chunk)

    monkeypatch.setattr(moses_mod, "_featurize_ref", counting)
    ref = moses_reference(SET + ["bad("])
    assert sum(calls) == len(SET) + 1 and ref.n_invalid == 1 and ref.fps.shape == (len(SET), 128)
    again = moses_reference(SET + ["bad("])
    assert sum(calls) == len(SET) + 1  # read from the cache
    np.testing.assert_array_equal(again.fps, ref.fps)
    assert again.frags == ref.frags and again.scafs == ref.scafs
    path = tmp_path / "ref.npz"
    ref.save(path)
    loaded = MosesReference.load(path)
    a = moses_metrics(SET[:6], loaded, metrics=["fcd", "snn", "frag", "scaf", "qed"])
    b = moses_metrics(SET[:6], SET + ["bad("], metrics=["fcd", "snn", "frag", "scaf", "qed"], cache=False)
    for k in a.values:
        assert a[k] == pytest.approx(b[k], rel=1e-9, abs=1e-12), k


@pytest.mark.slow  # spawns processes (graph-tool / RDKit workers)
def test_worker_processes_match_one_process(monkeypatch) -> None:
    monkeypatch.setattr(moses_mod, "_CHUNK", 5)
    kw = dict(metrics=["valid", "snn", "frag", "filters", "logp"], cache=False)
    one = moses_metrics(SET + [None], SET[:8], **kw)
    two = moses_metrics(SET + [None], SET[:8], n_jobs=2, **kw)
    assert one.values == pytest.approx(two.values)


# ----------------------------------------------------------------------------- suite switch


def test_suite_switch() -> None:
    gdss = molecule_metrics(SET[:5], train_smiles=SET, metrics=("validity", "novelty"))
    assert set(gdss.values) == {"validity", "novelty"}
    res = molecule_metrics(SET, train_smiles=SET[:3], test_smiles=SET, suite="moses",
                           metrics=["valid", "novelty", "snn", "intdiv1", "intdiv2", "filters"])  # fmt: skip
    assert set(res.values) == {"valid", "novelty", "snn", "intdiv1", "intdiv2", "filters"}
    assert res["snn"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="valid choices: gdss, guacamol, moses"):
        molecule_metrics(SET, suite="mosess")
    with pytest.raises(ValueError, match="test_smiles"):
        molecule_metrics(SET, suite="moses")
    with pytest.raises(ValueError, match="train_smiles"):
        molecule_metrics(SET, suite="guacamol")
    with pytest.raises(ValueError, match="suite='moses'"):
        molecule_metrics(SET, test_scaffolds_smiles=SET)


# ----------------------------------------------------------------------------- GuacaMol


def test_guacamol_reference_subset_is_numpy_legacy_choice() -> None:
    ref = [f"C{'C' * i}O" for i in range(50)]
    state = np.random.get_state()
    np.random.seed(42)
    want = list(np.random.choice(ref, 10, replace=False))
    np.random.set_state(state)
    assert reference_subset(ref, 10, 42) == want
    assert reference_subset(ref, 100) == ref


def test_guacamol_kl_parts() -> None:
    x = np.random.default_rng(0).normal(size=500)
    assert continuous_kldiv(x, x) == pytest.approx(0.0, abs=1e-9)
    assert discrete_kldiv(x, x) == pytest.approx(0.0, abs=1e-9)
    assert continuous_kldiv(x, x + 3) > 1.0


def test_guacamol_set_against_itself() -> None:
    res = guacamol_metrics(SET + [None], SET)
    assert res["kl_score"] == pytest.approx(1.0, abs=1e-6)  # every KL is 0
    assert res["fcd_score"] == pytest.approx(1.0, abs=1e-4)  # exp(-0.2 * 0)
    kl = {c.name: c for c in res.cards}["kl_score"].extra["kl"]
    assert len(kl) == 10 and "internal_similarity" in kl
    other = guacamol_metrics(["CCO", "CCN", "CCC", "CCCl"], SET)
    assert other["kl_score"] < 0.7 and other["fcd_score"] < res["fcd_score"]
    via_switch = molecule_metrics(SET, train_smiles=SET, suite="guacamol", metrics=["kl_score"])
    assert via_switch["kl_score"] == pytest.approx(res["kl_score"])


def test_guacamol_constant_sample() -> None:
    assert continuous_kldiv(np.ones(5), np.ones(7)) == 0.0
    assert continuous_kldiv(np.ones(5), np.arange(7.0)) == math.inf
