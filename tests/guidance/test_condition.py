"""Conditions: the spec (standardisation, ranges, errors), condition dropout, p(N | y), RDKit
properties and conditional training from an unconditional model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from graphdiff.guidance import ConditionalNodeCounts, ConditionSpec, drop_conditions


def _spec() -> ConditionSpec:
    rng = np.random.default_rng(0)
    vals = np.stack([rng.normal(1.0, 2.0, 500), rng.uniform(0, 1, 500), rng.integers(0, 3, 500)], 1)
    return ConditionSpec.from_data(["logp", "qed", "c"], vals, kinds=["property", "column", "label"])


def test_spec_statistics_round_trip_and_kwargs():
    spec = _spec()
    assert spec.names == ["logp", "qed", "c"] and spec.cond_dims() == {"logp": 1, "qed": 1} and spec.cond_classes() == {"c": 3}
    assert abs(spec["logp"].mean - 1.0) < 0.3 and abs(spec["logp"].std - 2.0) < 0.3
    assert ConditionSpec.from_dict(spec.to_dict()) == spec
    raw = np.array([[1.0, 0.5, 2.0], [np.nan, 0.1, np.nan]])
    y = spec.standardise(raw)
    assert torch.isnan(y[1, 0]) and torch.isnan(y[1, 2]) and y[0, 2] == 2.0
    np.testing.assert_allclose(spec.unstandardise(y).numpy(), raw, rtol=1e-6)
    kw = spec.network_kwargs(y)
    assert set(kw) == {"logp", "qed", "c"} and kw["qed"].shape == (2,)


def test_spec_targets_check_the_input():
    spec = _spec()
    t = spec.targets({"logp": 1.5, "c": [0, 1, 2, 1]}, 4)
    assert t.shape == (4, 3) and np.isnan(t[:, 1]).all() and (t[:, 0] == 1.5).all()
    with pytest.raises(ValueError, match=r"unknown condition 'mw'; this model is conditioned on: logp \(training range"):
        spec.targets({"mw": 100.0}, 2)
    with pytest.raises(ValueError, match="empty condition"):
        spec.targets({}, 2)
    with pytest.raises(ValueError, match="3 values for 2 samples"):
        spec.targets({"logp": [1, 2, 3]}, 2)
    with pytest.raises(ValueError, match=r"integer in \[0, 3\)"):
        spec.targets({"c": 3}, 2)
    with pytest.warns(UserWarning, match="far outside the training range"):
        spec.targets({"logp": 100.0}, 2)
    with pytest.raises(ValueError, match="kinds"):
        ConditionSpec.from_data(["a"], np.ones((3, 1)), kinds=["colour"])
    with pytest.raises(ValueError, match=r"dropout must lie in \[0, 1\)"):
        ConditionSpec.from_data(["a"], np.arange(3.0)[:, None], dropout=1.0)


@settings(max_examples=10, deadline=None)
@given(p=st.floats(0.0, 0.9), q=st.floats(0.0, 0.9))
def test_condition_dropout_rates(p, q):
    g = torch.Generator().manual_seed(1)
    y = torch.zeros(20000, 3)
    out = drop_conditions(y, p, q, generator=g)
    null = torch.isnan(out).all(1).float().mean().item()
    entry = torch.isnan(out).float().mean().item()
    # the whole row with p; each other entry with q: P(all) = p + (1-p) q^3, P(entry) = p + (1-p) q
    assert abs(null - (p + (1 - p) * q ** 3)) < 0.02
    assert abs(entry - (p + (1 - p) * q)) < 0.02
    assert not torch.isnan(y).any()  # the input is untouched


def test_node_counts_follow_the_condition():
    rng = np.random.default_rng(0)
    n = rng.integers(1, 10, 4000)
    mw = 14.0 * n + rng.normal(0, 2, 4000)  # weight fixes the size
    other = rng.normal(size=4000)  # unrelated
    c = ConditionalNodeCounts.fit(np.stack([mw, other], 1), n)
    p = c.probs(np.array([[14.0 * 3, 0.0], [14.0 * 9, np.nan], [np.nan, np.nan]]))
    assert p.shape == (3, 10) and torch.allclose(p.sum(1), torch.ones(3, dtype=p.dtype))
    assert p[0, 2:5].sum() > 0.9 and p[1, 8:].sum() > 0.9
    # all entries absent: the marginal p(N)
    emp = np.bincount(n, minlength=10) / len(n)
    np.testing.assert_allclose(p[2].numpy(), emp, atol=0.01)
    s = c.sample(np.array([[14.0 * 9, 0.0]] * 200), generator=torch.Generator().manual_seed(0))
    assert s.float().mean() > 8
    d = ConditionalNodeCounts.from_dict(c.to_dict())
    torch.testing.assert_close(d.probs([[50.0, 1.0]]), c.probs([[50.0, 1.0]]))
    # labels are their own bins
    lab = ConditionalNodeCounts.fit(np.stack([n % 2], 1).astype(float), n, labels=[2])
    assert lab.probs([[0.0]])[0, 1::2].sum() < 0.05


def test_rdkit_properties_and_columns(tmp_path):
    pytest.importorskip("rdkit")
    from rdkit import Chem
    from rdkit.Chem import QED, Crippen, Descriptors

    from graphdiff.data.properties import PROPERTIES, compute_properties, read_property_columns

    smi = ["CCO", "c1ccncc1", "not a smiles", None]
    v = compute_properties(smi, ["logp", "qed", "mw", "sa"])
    m = Chem.MolFromSmiles("c1ccncc1")
    assert v[1, 0] == pytest.approx(Crippen.MolLogP(m)) and v[1, 1] == pytest.approx(QED.qed(m))
    assert v[1, 2] == pytest.approx(Descriptors.MolWt(m)) and v[0, 2] == pytest.approx(46.069, abs=1e-2)
    assert 1.0 <= v[0, 3] <= 10.0 and np.isnan(v[2:]).all()
    assert set(PROPERTIES) == {"logp", "qed", "mw", "sa", "alerts", "hbd", "rotb"}
    with pytest.raises(ValueError, match="unknown property .tpsa.; valid choices: alerts, hbd, logp, mw, qed, rotb, sa"):
        compute_properties(smi, ["tpsa"])
    f = tmp_path / "p.csv"
    f.write_text("SMILES,gap,name\nCCO,1.5,a\nCC,,b\n")
    s, vals = read_property_columns(f, ["gap"])
    assert s == ["CCO", "CC"] and vals[0, 0] == 1.5 and math.isnan(vals[1, 0])
    with pytest.raises(ValueError, match="no property column 'homo'; columns are: SMILES, gap, name"):
        read_property_columns(f, ["homo"])
    with pytest.raises(ValueError, match="line 2: column 'name' holds 'a', not a number"):
        read_property_columns(f, ["name"])
