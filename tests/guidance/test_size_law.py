"""p(N | y) as a small classifier (NeuralNodeCounts): sharper than joint bins with several continuous
entries, marginal over absent entries, zero on unseen sizes, exact card round trip, and the
refit of a conditional model's card."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from graphdiff.guidance import ConditionalNodeCounts, NeuralNodeCounts, refit_size_law
from graphdiff.guidance.node_counts import fit_node_counts, node_counts_from_dict
from graphdiff.guidance.training import condition_spec, training_condition_values

FIT = {"steps": 1500, "batch_size": 512}


def _data(n: int, seed: int):
    """Three continuous entries; the size is a smooth function of the first two plus a little noise
    (as a molecule's heavy-atom count follows its weight and logP), never 5."""
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(n, 3))
    size = np.clip(np.round(7 + 2.0 * y[:, 0] + 1.0 * y[:, 1]), 2, 12).astype(int)
    size[size == 5] = 6
    return y, size


@pytest.fixture(scope="module")
def fitted():
    y, size = _data(4000, 0)
    return NeuralNodeCounts.fit(y, size, **FIT), ConditionalNodeCounts.fit(y, size), size


def test_sharper_than_joint_bins_on_held_out(fitted):
    mlp, bins, _ = fitted
    y, size = _data(1000, 1)
    p_mlp = mlp.probs(y)[torch.arange(1000), torch.as_tensor(size)].mean().item()
    p_bins = bins.probs(y)[torch.arange(1000), torch.as_tensor(size)].mean().item()
    assert p_mlp > 0.8 and p_mlp > p_bins + 0.2, (p_mlp, p_bins)
    assert torch.allclose(mlp.probs(y).sum(-1), torch.ones(1000, dtype=torch.float64), atol=1e-5)


def test_absent_entries_marginalise(fitted):
    mlp, _, size = fitted
    marginal = torch.bincount(torch.as_tensor(size), minlength=mlp.max_nodes + 1).double() / len(size)
    none = mlp.probs(np.full((1, 3), np.nan))[0]
    assert (none - marginal).abs().max() < 0.05
    # the third entry does not matter: dropping it keeps the law; dropping the first blurs it
    y, s = _data(500, 2)
    idx = torch.arange(500), torch.as_tensor(s)
    full = mlp.probs(y)[idx].mean()
    no3 = mlp.probs(np.c_[y[:, :2], np.full(500, np.nan)])[idx].mean()
    no1 = mlp.probs(np.c_[np.full(500, np.nan), y[:, 1:]])[idx].mean()
    assert abs(full - no3) < 0.05 and no1 < full - 0.15


def test_unseen_sizes_have_zero_probability(fitted):
    mlp, _, size = fitted
    p = mlp.probs(np.random.default_rng(3).normal(size=(200, 3)))
    assert (p[:, 5] == 0).all() and (p[:, :2] == 0).all()
    assert set(mlp.sample(np.zeros((300, 3)), generator=torch.Generator().manual_seed(0)).tolist()) <= set(size.tolist())


def test_probs_ignore_the_callers_autocast(fitted):
    mlp, _, _ = fitted
    y, _ = _data(64, 7)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        under = mlp.probs(y)
    assert torch.equal(under, mlp.probs(y))


def test_card_round_trip_is_exact(fitted):
    mlp, bins, _ = fitted
    y, _ = _data(50, 4)
    back = node_counts_from_dict(json.loads(json.dumps(mlp.to_dict())))
    assert isinstance(back, NeuralNodeCounts) and torch.equal(back.probs(y), mlp.probs(y))
    old = node_counts_from_dict(json.loads(json.dumps(bins.to_dict())))  # cards written before: no kind
    assert isinstance(old, ConditionalNodeCounts) and torch.equal(old.probs(y), bins.probs(y))
    with pytest.raises(ValueError, match="unknown p\\(N \\| y\\) kind"):
        node_counts_from_dict({"kind": "knn"})


def test_fit_is_seeded_and_reads_labels():
    rng = np.random.default_rng(5)
    label = rng.integers(0, 3, 3000).astype(float)
    size = (3 + 3 * label).astype(int)  # the class fixes the size
    label[:100] = np.nan  # absent entries in training rows are inputs with mask 0
    a = NeuralNodeCounts.fit(label[:, None], size, labels=[3], **FIT)
    b = NeuralNodeCounts.fit(label[:, None], size, labels=[3], **FIT)
    assert torch.equal(a.probs([[0.0], [2.0]]), b.probs([[0.0], [2.0]]))
    p = a.probs([[0.0], [1.0], [2.0]])
    assert p[0, 3] > 0.9 and p[1, 6] > 0.9 and p[2, 9] > 0.9


def test_fit_node_counts_auto_and_errors():
    y, size = _data(2500, 6)
    assert isinstance(fit_node_counts(y, size, **FIT), NeuralNodeCounts)  # continuous entries, >= 2,000 graphs
    assert isinstance(fit_node_counts(y[:500], size[:500]), ConditionalNodeCounts)
    assert isinstance(fit_node_counts(np.zeros((2500, 1)), size, labels=[2]), ConditionalNodeCounts)
    assert isinstance(fit_node_counts(y[:500], size[:500], size_law="mlp", **FIT), NeuralNodeCounts)
    with pytest.raises(ValueError, match="unknown size_law 'knn'"):
        fit_node_counts(y, size, size_law="knn")
    with pytest.raises(ValueError, match="entry_dropout"):
        NeuralNodeCounts.fit(y, size, entry_dropout=1.0)
    with pytest.raises(ValueError, match="500 condition rows for 400 sizes"):
        NeuralNodeCounts.fit(y[:500], size[:400])
    with pytest.raises(ValueError, match="size_law 'exact'"):
        training_condition_values({"properties": ["logp"], "size_law": "exact"}, ["CCO"])


def test_refit_size_law_of_a_conditional_model(toy_conditional):
    from graphdiff.pipelines import load_pretrained

    pipe, vals, n = toy_conditional()
    assert condition_spec(pipe).extra["node_counts"].get("kind", "bins") == "bins"
    before = {k: v for k, v in pipe.network.state_dict().items()}
    refit_size_law(pipe, vals, n, size_law="mlp")
    assert condition_spec(pipe).extra["node_counts"]["kind"] == "mlp"
    assert all(torch.equal(v, pipe.network.state_dict()[k]) for k, v in before.items())
    out = pipe.sample(16, condition={"mw": 14.0 * 4}, steps=2, sampler="ancestral", seed=0)
    assert (out.state.node_mask.sum(-1) == 4).float().mean() > 0.8  # the weight fixes the size
    with pytest.raises(ValueError, match="values must be \\(n, 2\\)"):
        refit_size_law(pipe, vals[:, :1], n)
    with pytest.raises(ValueError, match="needs a conditional model"):
        refit_size_law(load_pretrained("qm9_ctmc"), vals, n)
